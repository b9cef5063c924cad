"""Home elderly care on SQLite and PostgreSQL: the quarterly re-check of 服务管理制度8 第1条
recurs for as long as a person is served (and stops when they are not), the follow-up days
are the centre's setting, and the migration that added both goes down and up again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from actions.visits import name_in
from bot.infra import clock
from bot.infra.db import session_scope
from bot.infra.migrate import downgrade, upgrade
from bot.infra.settings import PROJECT_ROOT
from bot.models import CareVisitKind, CareVisitState, Community, ElderlyCareVisit, HalfDay
from bot.ops.seed import DEMO_DIR
from bot.organisation import load_organisation
from bot.visits import elderly
from bot.visits.demo import seed_visits_demo
from bot.visits.elderly import (
    RECHECK_MONTHS,
    CareVisitError,
    care_visits_of,
    complete_care_visit,
    end_care,
    ensure_care_schedules,
    ensure_next_recheck,
    find_client,
    register_care,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
REGISTERED = datetime(2026, 11, 25, 15, 45, tzinfo=SHANGHAI)
SENDER = "wx:daughter"


@pytest.fixture()
def care(engine):
    with session_scope(engine) as session:
        seed_visits_demo(session=session, path=DEMO_DIR / "visits.yml")
    return engine


def register(session: Session, now: datetime = REGISTERED, name: str = "周奶奶"):
    place = session.scalars(select(Community).where(Community.code == "heyuan")).one()
    return register_care(
        session=session,
        name=name,
        phone="19912340000",
        address="书香苑1幢",
        community=place,
        items=["助餐"],
        day=now.date() + timedelta(days=1),
        half_day=HalfDay.MORNING,
        sender_id=SENDER,
        now=now,
    )


def rechecks(session: Session, client_id: int) -> list[ElderlyCareVisit]:
    return list(
        session.scalars(
            select(ElderlyCareVisit)
            .where(
                ElderlyCareVisit.client_id == client_id,
                ElderlyCareVisit.kind == CareVisitKind.RECHECK,
            )
            .order_by(ElderlyCareVisit.visit_date)
        )
    )


def ahead(session: Session, client_id: int, today: date) -> list[ElderlyCareVisit]:
    return [
        v
        for v in rechecks(session, client_id)
        if v.state is CareVisitState.SCHEDULED and v.visit_date >= today
    ]


def days_from(first: date, count: int) -> Iterator[date]:
    return (first + timedelta(days=n) for n in range(count))


def frozen(monkeypatch: pytest.MonkeyPatch, day: date) -> datetime:
    """Freeze bot.infra.clock at 9:00 on `day` and return clock.now()."""
    monkeypatch.setenv("FROZEN_NOW", datetime.combine(day, time(9), SHANGHAI).isoformat())
    return clock.now()


def test_the_recheck_period_is_a_quarter_as_the_regulation_says():
    # 服务管理制度8 第1条: 每季度核实一次. Not an organisation setting.
    assert RECHECK_MONTHS == 3
    assert "每季度核实一次" in (PROJECT_ROOT / "data/policies/服务管理制度.txt").read_text(
        encoding="utf-8"
    )


def test_registering_schedules_the_first_recheck_a_quarter_later(care):
    with session_scope(care) as session:
        registration = register(session)
        assert registration.recheck is not None
        assert registration.recheck.visit_date == date(2027, 2, 25)
        assert registration.recheck.kind is CareVisitKind.RECHECK
        assert len(rechecks(session, registration.client.id)) == 1


def test_a_person_served_always_has_exactly_one_recheck_ahead_for_two_years(care, monkeypatch):
    with session_scope(care) as session:
        client_id = register(session).client.id
    done = missed = 0
    for today in days_from(REGISTERED.date(), 2 * 366 + 1):
        now = frozen(monkeypatch, today)
        with session_scope(care) as session:
            # The family's list of visits tops the schedule up, whatever staff did.
            listed = care_visits_of(session=session, sender_id=SENDER, now=clock.now())
            upcoming = ahead(session, client_id, today)
            assert len(upcoming) == 1, today
            assert upcoming[0] in listed
            if upcoming[0].visit_date == today:
                # Staff record every other re-check; the others are missed.
                if (done + missed) % 2 == 0:
                    complete_care_visit(
                        session=session, visit_id=upcoming[0].id, actor="cli:陈静", now=now
                    )
                    done += 1
                    assert len(ahead(session, client_id, today)) == 1
                else:
                    missed += 1
    with session_scope(care) as session:
        dates = [v.visit_date for v in rechecks(session, client_id)]
    assert done + missed == 8  # two years, four quarters each
    assert dates[:3] == [date(2027, 2, 25), date(2027, 5, 25), date(2027, 8, 25)]
    assert dates == sorted(set(dates))
    assert dates[-1] == date(2029, 2, 25)  # the one ahead when the two years end


def test_nothing_is_scheduled_after_the_person_stops_being_served(care, monkeypatch):
    with session_scope(care) as session:
        client_id = register(session).client.id
    last_day = REGISTERED.date() + timedelta(days=100)
    now = frozen(monkeypatch, last_day)
    with session_scope(care) as session:
        client = session.get(elderly.ElderlyCareClient, client_id)
        assert client is not None
        assert len(care_visits_of(session=session, sender_id=SENDER, now=now)) == 1
        assert end_care(session=session, client=client, last_day=last_day, reason="搬去子女家") >= 1
        assert ensure_next_recheck(session=session, client=client, now=now) is None
    for today in days_from(last_day, 2 * 366):
        if today.day != 1:
            continue
        now = frozen(monkeypatch, today)
        with session_scope(care) as session:
            report = ensure_care_schedules(session=session, now=now)
            assert client_id not in {visit.client_id for visit in report.overdue}
            assert care_visits_of(session=session, sender_id=SENDER, now=now) == []
    with session_scope(care) as session:
        later = session.scalars(
            select(ElderlyCareVisit).where(
                ElderlyCareVisit.client_id == client_id,
                ElderlyCareVisit.state == CareVisitState.SCHEDULED,
                ElderlyCareVisit.visit_date > last_day,
            )
        ).all()
        assert later == []
        # Registered again: served again, with a re-check ahead.
        again = register(session, now=now)
        assert again.client.id == client_id and again.client.ended_on is None
        assert again.recheck is not None and again.recheck.visit_date >= now.date()


def test_topping_up_every_schedule_is_idempotent(care):
    with session_scope(care) as session:
        first = ensure_care_schedules(session=session, now=REGISTERED)
        second = ensure_care_schedules(session=session, now=REGISTERED)
        clients = session.scalars(select(elderly.ElderlyCareClient)).all()
        assert first.served == second.served == len(clients) == 10
        assert first.scheduled == 10 and second.scheduled == 0
        for client in clients:
            assert len(ahead(session, client.id, REGISTERED.date())) == 1


def test_a_recheck_done_early_schedules_the_next_quarter(care):
    with session_scope(care) as session:
        registration = register(session)
        assert registration.recheck is not None
        complete_care_visit(
            session=session,
            visit_id=registration.recheck.id,
            actor="cli:陈静",
            now=REGISTERED + timedelta(days=80),
            note="情况稳定",
        )
        upcoming = ahead(session, registration.client.id, REGISTERED.date())
        assert [v.visit_date for v in upcoming] == [date(2027, 5, 25)]
        assert "情况稳定" in registration.recheck.notes
        with pytest.raises(CareVisitError):
            complete_care_visit(
                session=session, visit_id=registration.recheck.id, actor="x", now=REGISTERED
            )
        assert find_client(session=session, client_no=registration.client.client_no) is not None


def test_the_follow_up_days_are_the_centres_setting(care, monkeypatch, tmp_path: Path):
    source = (PROJECT_ROOT / "data" / "organisation.yml").read_text(encoding="utf-8")
    custom = tmp_path / "organisation.yml"
    custom.write_text(source.replace("follow_up_days: [7, 30]", "follow_up_days: [10]"), "utf-8")
    settings = load_organisation(custom)
    monkeypatch.setattr(elderly, "get_organisation", lambda: settings)
    with session_scope(care) as session:
        registration = register(session)
    assert [v.visit_date for v in registration.follow_ups] == [date(2026, 12, 6)]


def test_the_recheck_migration_goes_down_and_up_again(care, database_url):
    with session_scope(care) as session:
        register(session)
    downgrade(database_url, "0008")
    columns = {c["name"] for c in inspect(care).get_columns("elderly_care_client")}
    assert "ended_on" not in columns
    with care.connect() as connection:
        kinds = connection.execute(text("select distinct kind from elderly_care_visit")).scalars()
        assert set(kinds) == {"service", "follow_up"}
    upgrade(database_url)
    with session_scope(care) as session:
        assert register(session, name="李爷爷").recheck is not None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("俺爸韩德山 八十了", "韩德山"),
        ("我奶奶甘秀珍一个人住在滨江路20号", "甘秀珍"),
        ("想给我爸骆建国申请助餐 住幸福小区3栋201", "骆建国"),  # the request runs on
        ("我爸张三申请助浴", "张三"),
        ("她叫费秀云 住书香苑9幢101 电话13812345796", "费秀云"),  # asked, answered
        ("她的名字是王桂兰", "王桂兰"),
        ("他叫什么来着", None),
        ("我妈高血压 想申请助餐", None),
        ("想给我爸申请助餐", None),
    ],
)
def test_the_name_given_with_the_request_is_read(text, name):
    assert name_in(text) == name
