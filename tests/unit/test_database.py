"""The data layer on SQLite and PostgreSQL: migrations, corpus storage, demo data."""

from __future__ import annotations

import dataclasses
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import exc, func, inspect, select

import bot.models
from bot.infra.db import session_scope
from bot.infra.migrate import downgrade, upgrade
from bot.models import Audience, Base, Department, PolicyClause, PolicyDocument
from bot.ops.seed import seed_demo, seed_policies
from bot.policies.corpus import load_corpus
from bot.policies.store import find_document, list_documents, sync_corpus

TABLES = {"policy_document", "policy_clause", "department", "alembic_version"}


def counts(engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        return (
            session.scalar(select(func.count(PolicyDocument.id))),
            session.scalar(select(func.count(PolicyClause.id))),
        )


def test_upgrade_creates_the_schema_and_downgrade_removes_it(engine, database_url):
    assert set(inspect(engine).get_table_names()) >= TABLES
    downgrade(database_url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(database_url)
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_upgrade_twice_is_harmless(engine, database_url):
    upgrade(database_url)
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_the_models_describe_exactly_the_migrated_schema(engine):
    """What `alembic revision --autogenerate` would find: nothing, on either backend. The
    models live in one module per area (bot/models/); each must reach Base.metadata."""
    with engine.connect() as connection, warnings.catch_warnings():
        # staff_invite -> teacher -> staff_member -> staff_invite is a cycle of foreign
        # keys on purpose (nullable, SET NULL); SQLAlchemy says it cannot sort them.
        warnings.filterwarnings("ignore", "Cannot correctly sort tables", exc.SAWarning)
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_every_model_is_imported_from_bot_models():
    mapped = {mapper.class_.__name__ for mapper in Base.registry.mappers}
    assert len(mapped) == len(Base.metadata.tables)
    assert mapped <= set(bot.models.__all__)
    assert all(getattr(bot.models, name) is not None for name in bot.models.__all__)


def test_seeding_twice_gives_the_same_rows(engine):
    with session_scope(engine) as session:
        first = seed_policies(session=session)
    assert (first.created, first.updated, first.unchanged) == (20, 0, 0)
    with session_scope(engine) as session:
        ids_before = session.scalars(select(PolicyClause.id).order_by(PolicyClause.id)).all()
    with session_scope(engine) as session:
        second = seed_policies(session=session)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 20)
    with session_scope(engine) as session:
        ids_after = session.scalars(select(PolicyClause.id).order_by(PolicyClause.id)).all()
    assert ids_after == ids_before
    assert counts(engine) == (20, 230)


def test_a_changed_clause_is_updated_and_a_dropped_document_removed(engine):
    documents = load_corpus()
    with session_scope(engine) as session:
        sync_corpus(session=session, documents=documents)

    changed = documents[2]
    clauses = list(changed.clauses)
    clauses[3] = dataclasses.replace(clauses[3], text="蓄水池的消毒,每7天消毒一次。")
    edited = [dataclasses.replace(changed, clauses=tuple(clauses)), *documents[3:]]
    with session_scope(engine) as session:
        report = sync_corpus(session=session, documents=edited)
    assert (report.updated, report.unchanged, report.removed) == (1, 17, 2)
    with session_scope(engine) as session:
        document = find_document(session=session, key="饮用水消毒制度")
        assert document is not None
        assert document.clauses[3].text == "蓄水池的消毒,每7天消毒一次。"
        assert find_document(session=session, key="1") is None
    assert counts(engine) == (18, 230 - 6 - 4)


def test_a_failed_unit_of_work_leaves_nothing_behind(engine):
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        seed_policies(session=session)
        raise RuntimeError("interrupted")
    assert counts(engine) == (0, 0)


def found(session, key: str) -> PolicyDocument:
    document = find_document(session=session, key=key)
    assert document is not None, key
    return document


def test_find_document_by_code_title_or_source(engine):
    with session_scope(engine) as session:
        seed_policies(session=session)
    with session_scope(engine) as session:
        assert found(session, "7.1").title == "抄表管理制度"
        assert found(session, "《抄表管理制度》").code == "7.1"
        assert found(session, "服务管理制度7").code == "7"
        assert find_document(session=session, key="不存在的制度") is None
        assert find_document(session=session, key="  ") is None
        clause = found(session, "3").clauses[3]
        assert clause.citation == "《饮用水消毒制度》(服务管理制度3) 第二条第2款"


def test_public_listing_leaves_staff_documents_out(engine):
    with session_scope(engine) as session:
        seed_policies(session=session)
    with session_scope(engine) as session:
        public = list_documents(session=session, audiences=(Audience.PUBLIC,))
        everything = list_documents(session=session)
    assert len(public) == 14
    assert len(everything) == 20
    assert "机房管理制度" not in {d.title for d in public}


def test_demo_data_is_marked_and_idempotent(engine):
    with session_scope(engine) as session:
        session.add(Department(code="hr", name="人事部", is_demo=False))
    for _ in range(2):
        with session_scope(engine) as session:
            seed_demo(session=session)
    with session_scope(engine) as session:
        departments = session.scalars(select(Department).order_by(Department.code)).all()
        demo = [d for d in departments if d.is_demo]
        assert {d.code for d in demo} == {"gas", "school", "health", "property", "service"}
        assert all("演示" in d.name for d in demo)
        assert [d.name for d in departments if not d.is_demo] == ["人事部"]
