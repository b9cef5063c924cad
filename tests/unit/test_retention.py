"""Retention: old conversations and free chat text go, complaints and their audit trail
stay; counts, dry runs and a second run, on SQLite and PostgreSQL with rows of many ages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from bot.complaints.catalog import get_catalog
from bot.complaints.filing import ComplaintDraft, file_complaint
from bot.infra.db import create_engine, session_scope
from bot.infra.migrate import upgrade
from bot.infra.settings import PROJECT_ROOT
from bot.models import (
    BindingAttempt,
    Complaint,
    ComplaintEvent,
    ComplaintState,
    ConversationSession,
    DashboardLoginAttempt,
    FaultState,
    GasAccount,
    LeaveRequest,
    MeterFaultKind,
    MeterFaultReport,
    Praise,
    Student,
)
from bot.ops.retention import ANONYMOUS_SENDER, run_retention
from bot.ops.seed import seed_demo

NOW = datetime(2026, 11, 25, 7, 45, tzinfo=timezone.utc)
OLD = NOW - timedelta(days=200)
RECENT = NOW - timedelta(days=10)
EVENTS = SQLTrackerStore.SQLEvent.__table__
DRAFT = ComplaintDraft(
    department="gas",
    category="attitude",
    description="抄表员态度很差",
    occurred="幸福小区",
    staff_involved="",
    contact="13900001111",
)


def add_conversation(engine: Engine, sender: str, start: datetime, *, session: bool = True):
    """A session as Rasa stores it: session start, what the user said, the answer."""
    rows: list[tuple[str, str | None, str | None, dict[str, str]]] = []
    moment = start.timestamp()
    if session:
        rows.append(("action", "action_session_start", None, {}))
        rows.append(("session_started", None, None, {}))
    rows.append(("user", None, "greet", {"text": "我是张三,电话13812345678"}))
    rows.append(("bot", None, None, {"text": "您好"}))
    with engine.begin() as connection:
        for n, (type_name, action, intent, data) in enumerate(rows):
            connection.execute(
                insert(EVENTS).values(
                    sender_id=sender,
                    type_name=type_name,
                    timestamp=moment + n,
                    intent_name=intent,
                    action_name=action,
                    data=json.dumps({"event": type_name, **data}, ensure_ascii=False),
                )
            )


def events_of(engine: Engine, sender: str) -> list[float]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(EVENTS.c.timestamp).where(EVENTS.c.sender_id == sender)
            ).scalars()
        )


def populate(engine: Engine) -> None:
    EVENTS.create(engine)
    with session_scope(engine) as session:
        seed_demo(session=session)
        student = session.scalars(select(Student).order_by(Student.id)).first()
        account = session.scalars(select(GasAccount).order_by(GasAccount.id)).first()
        for moment in (OLD, RECENT):
            session.add(
                BindingAttempt(sender_id="web:x", kind="gas", succeeded=False, created_at=moment)
            )
            session.add(DashboardLoginAttempt(username="wang", succeeded=False, created_at=moment))
            session.add(
                ConversationSession(
                    sender_id="web:x",
                    first_event_id=int(moment.timestamp()),
                    last_event_id=int(moment.timestamp()),
                    started_at=moment,
                    last_at=moment,
                    outcome="answered",
                )
            )
            session.add(
                Praise(
                    sender_id="web:fan",
                    department="visits",
                    staff_named="李护士",
                    text="李护士很耐心",
                    created_at=moment,
                )
            )
            session.add(
                LeaveRequest(
                    student_id=student.id,
                    care_date=moment.date(),
                    reason="发烧了",
                    requested_by="web:parent",
                    requested_at=moment,
                )
            )
        for n, (state, moment) in enumerate(
            [(FaultState.RESOLVED, OLD), (FaultState.OPEN, OLD), (FaultState.RESOLVED, RECENT)]
        ):
            session.add(
                MeterFaultReport(
                    ticket_no=f"BX-{n}",
                    account_id=account.id,
                    sender_id="web:gas",
                    kind=MeterFaultKind.FAST,
                    description="表走得特别快",
                    state=state,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        catalog = get_catalog()
        closed = file_complaint(
            session=session,
            draft=DRAFT,
            sender_id="web:closed",
            channel="rest",
            now=OLD,
            catalog=catalog,
        )
        closed.state = ComplaintState.CLOSED
        file_complaint(
            session=session,
            draft=DRAFT,
            sender_id="web:open",
            channel="rest",
            now=OLD,
            catalog=catalog,
        )
    add_conversation(engine, "web:old", OLD)
    add_conversation(engine, "web:closed", OLD)
    add_conversation(engine, "web:open", OLD)
    add_conversation(engine, "web:mixed", OLD)
    add_conversation(engine, "web:mixed", RECENT)
    add_conversation(engine, "web:long", OLD)  # the current session began long ago...
    add_conversation(engine, "web:long", RECENT, session=False)  # ...and still goes on
    add_conversation(engine, "web:nosession", OLD, session=False)


def counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:

        def count(model, *where) -> int:
            return session.scalar(select(func.count()).select_from(model).where(*where))

        return {
            "binding": count(BindingAttempt),
            "login": count(DashboardLoginAttempt),
            "conversation_index": count(ConversationSession),
            "praise_text": count(Praise, Praise.text != ""),
            "praise": count(Praise),
            "leave_reason": count(LeaveRequest, LeaveRequest.reason != ""),
            "leave": count(LeaveRequest),
            "fault_text": count(MeterFaultReport, MeterFaultReport.description != ""),
            "complaint": count(Complaint, Complaint.description != ""),
            "complaint_event": count(ComplaintEvent),
        }


def test_old_records_are_purged_or_anonymised_and_complaints_kept(engine):
    populate(engine)
    before = counts(engine)
    events_before = {s: events_of(engine, s) for s in ("web:old", "web:mixed", "web:long")}

    dry = run_retention(
        service_engine=engine, tracker_engine=engine, days=180, now=NOW, dry_run=True
    )
    assert counts(engine) == before
    assert events_of(engine, "web:old") == events_before["web:old"]

    outcomes = run_retention(service_engine=engine, tracker_engine=engine, days=180, now=NOW)
    by_table = {o.table: (o.action, o.rows) for o in outcomes}
    assert {o.table: o.rows for o in dry} == {o.table: o.rows for o in outcomes}
    assert by_table == {
        "binding_attempt": ("deleted", 1),
        "dashboard_login_attempt": ("deleted", 1),
        "conversation_session": ("deleted", 1),
        "praise": ("anonymised", 1),
        "leave_request": ("anonymised", 1),
        "meter_fault_report": ("anonymised", 1),
        # web:old 4, web:closed 4, web:mixed's first session 4, web:nosession 2, and
        # web:long's action_session_start before its current session_started.
        "events": ("deleted", 15),
    }
    after = counts(engine)
    assert after == {
        **before,
        "binding": 1,
        "login": 1,
        "conversation_index": 1,
        "praise_text": 1,
        "leave_reason": 1,
        "fault_text": before["fault_text"] - 1,
    }
    assert after["complaint"] == 2 and after["complaint_event"] == before["complaint_event"]
    assert events_of(engine, "web:old") == []
    assert events_of(engine, "web:closed") == []
    assert events_of(engine, "web:nosession") == []
    assert len(events_of(engine, "web:open")) == 4  # complaint not closed: transcript stays
    assert events_of(engine, "web:mixed") == events_before["web:mixed"][4:]
    assert events_of(engine, "web:long") == events_before["web:long"][1:]
    with session_scope(engine) as session:
        old_praise = session.scalars(
            select(Praise).where(Praise.created_at < NOW - timedelta(days=100))
        ).one()
        assert (old_praise.text, old_praise.sender_id) == ("", ANONYMOUS_SENDER)
        assert old_praise.staff_named == "李护士"  # the incentive scheme keeps the record
        open_fault = session.scalars(
            select(MeterFaultReport).where(MeterFaultReport.state == FaultState.OPEN)
        ).one()
        assert open_fault.description == "表走得特别快"
        old_leave = session.scalars(
            select(LeaveRequest).where(LeaveRequest.care_date < date(2026, 6, 1))
        ).one()
        assert old_leave.reason == "" and old_leave.requested_by == "web:parent"

    again = run_retention(service_engine=engine, tracker_engine=engine, days=180, now=NOW)
    assert all(o.rows == 0 for o in again)
    assert counts(engine) == after


def test_a_shorter_period_reaches_more_records(engine):
    populate(engine)
    outcomes = run_retention(service_engine=engine, tracker_engine=engine, days=5, now=NOW)
    by_table = {o.table: o.rows for o in outcomes}
    assert by_table["binding_attempt"] == 2
    assert by_table["praise"] == 2
    # Ten days ago is old now: whole conversations go, except the open complaint's.
    assert events_of(engine, "web:mixed") == events_of(engine, "web:long") == []
    assert len(events_of(engine, "web:open")) == 4


def test_without_a_tracker_store_the_service_data_is_still_purged(engine):
    populate(engine)
    outcomes = run_retention(service_engine=engine, tracker_engine=None, days=180, now=NOW)
    assert outcomes[-1].action == "skipped"
    assert {o.table: o.rows for o in outcomes}["binding_attempt"] == 1


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_command_prints_counts_and_a_dry_run_changes_nothing(tmp_path):
    service_url = f"sqlite:///{tmp_path / 'service.db'}"
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    upgrade(service_url)
    service, tracker = create_engine(service_url), create_engine(tracker_url)
    try:
        with session_scope(service) as session:
            session.add(
                BindingAttempt(sender_id="web:x", kind="gas", succeeded=False, created_at=OLD)
            )
        EVENTS.create(tracker)
        add_conversation(tracker, "web:old", OLD)
        env = {
            "DATABASE_URL": service_url,
            "TRACKER_DATABASE_URL": tracker_url,
            "FROZEN_NOW": NOW.isoformat(),
        }
        dry = run_cli("retention", "run", "--dry-run", env=env)
        assert dry.returncode == 0, dry.stderr
        assert "binding_attempt" in dry.stdout and "1 row(s) would be deleted" in dry.stdout
        assert "4 row(s) would be deleted" in dry.stdout
        assert len(events_of(tracker, "web:old")) == 4

        done = run_cli("retention", "run", "--days", "180", env=env)
        assert done.returncode == 0, done.stderr
        assert "4 row(s) were deleted" in done.stdout
        assert events_of(tracker, "web:old") == []
        # The tracker store held what the user said; none of it reaches the output.
        assert "13812345678" not in done.stdout + done.stderr
        again = run_cli("retention", "run", env=env)
        assert "0 row(s) were deleted" in again.stdout and "1 row(s)" not in again.stdout
    finally:
        service.dispose()
        tracker.dispose()


def test_an_unreachable_tracker_store_is_a_clear_failure(tmp_path):
    service_url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(service_url)
    env = {
        "DATABASE_URL": service_url,
        "TRACKER_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    failed = run_cli("retention", "run", env=env)
    assert failed.returncode == 1
    assert "retention failed (OperationalError)" in failed.stderr
    assert "Traceback" not in failed.stderr
    missing = run_cli(
        "retention", "run", env={**env, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    )
    assert missing.returncode == 0, missing.stderr
    assert "events" in missing.stdout and "skipped" in missing.stdout
    assert not (tmp_path / "x.db").exists()
