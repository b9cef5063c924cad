"""The advance-notice rule for after-school leave, at its edges, on SQLite and PostgreSQL.

Demo schools: 实验小学 (shiyan) care 16:30, cutoff 60 min -> 15:30 Asia/Shanghai;
星河小学 (xinghe) care 15:50, cutoff 90 min -> 14:20. Wednesday 2026-11-25 is "today".
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.infra.db import session_scope
from bot.models import LeaveRequest, Student
from bot.ops.seed import DEMO_DIR, seed_school_demo
from bot.organisation import get_organisation
from bot.school.binding import StudentBindOutcome, bind_guardian, children_of
from bot.school.leave import (
    CancelOutcome,
    LeaveDecision,
    cancel_leave,
    leave_cutoff,
    leaves_on,
    load_student,
    request_leave,
)
from bot.school.schools import new_school

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZHANG = "2024010101"  # 实验小学, guardians 19900001001 and 19900001002
NOT_IN_CARE = "2024010105"  # 刘欣怡, not enrolled
CARE_ENDED = "2024010203"  # 郑可欣, care until 2026-11-20
XINGHE = "2025020101"  # 杨若曦, 星河小学


def at(day: str, clock: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SHANGHAI)


@pytest.fixture()
def school_engine(engine):
    with session_scope(engine) as session:
        seed_school_demo(session=session, path=DEMO_DIR / "school.yml")
    return engine


def student(session, number: str) -> Student:
    found = session.scalars(select(Student).where(Student.student_no == number)).one()
    loaded = load_student(session=session, student_id=found.id)
    assert loaded is not None
    return loaded


def ask(engine, number: str, day: str, now: datetime, reason: str = "发烧") -> LeaveDecision:
    with session_scope(engine) as session:
        [result] = request_leave(
            session=session,
            student=student(session, number),
            days=[date.fromisoformat(day)],
            reason=reason,
            sender_id="tg:1",
            channel="test",
            now=now,
        )
    return result.decision


def test_cutoff_is_care_start_minus_the_schools_minutes(school_engine):
    with session_scope(school_engine) as session:
        shiyan = student(session, ZHANG).school_class.school
        xinghe = student(session, XINGHE).school_class.school
        assert leave_cutoff(shiyan, date(2026, 11, 26)) == at("2026-11-26", "15:30")
        assert leave_cutoff(xinghe, date(2026, 11, 26)) == at("2026-11-26", "14:20")


@pytest.mark.parametrize(
    ("now", "decision"),
    [
        (at("2026-11-25", "23:59"), LeaveDecision.ACCEPTED),  # the evening before
        (at("2026-11-26", "00:01"), LeaveDecision.ACCEPTED),  # just after midnight
        (at("2026-11-26", "15:29"), LeaveDecision.ACCEPTED),  # one minute before the cutoff
        (at("2026-11-26", "15:30"), LeaveDecision.TOO_LATE),  # at the cutoff
        (at("2026-11-26", "15:31"), LeaveDecision.TOO_LATE),  # one minute after
        (at("2026-11-27", "08:00"), LeaveDecision.PAST),  # the day after
    ],
)
def test_leave_must_be_requested_before_the_cutoff(school_engine, now, decision):
    assert ask(school_engine, ZHANG, "2026-11-26", now) is decision


def test_the_cutoff_is_in_shanghai_time_whatever_the_clock_zone(school_engine):
    before = datetime(2026, 11, 26, 7, 29, tzinfo=timezone.utc)  # 15:29 in Shanghai
    assert ask(school_engine, ZHANG, "2026-11-26", before) is LeaveDecision.ACCEPTED
    after = datetime(2026, 11, 26, 7, 30, tzinfo=timezone.utc)
    assert ask(school_engine, XINGHE, "2026-11-26", after) is LeaveDecision.TOO_LATE


def test_days_without_care_need_no_leave(school_engine):
    now = at("2026-11-25", "09:00")
    assert ask(school_engine, ZHANG, "2026-11-28", now) is LeaveDecision.WEEKEND
    assert ask(school_engine, ZHANG, "2026-12-18", now) is LeaveDecision.HOLIDAY
    assert ask(school_engine, ZHANG, "2027-01-01", now) is LeaveDecision.HOLIDAY
    assert ask(school_engine, NOT_IN_CARE, "2026-11-26", now) is LeaveDecision.NOT_ENROLLED
    assert ask(school_engine, CARE_ENDED, "2026-11-26", now) is LeaveDecision.NOT_ENROLLED
    # 星河小学 has care on Sunday 2026-12-27 (a make-up day), 实验小学 does not.
    assert ask(school_engine, XINGHE, "2026-12-27", now) is LeaveDecision.ACCEPTED
    assert ask(school_engine, ZHANG, "2026-12-27", now) is LeaveDecision.WEEKEND
    with session_scope(school_engine) as session:
        assert session.scalar(select(func.count(LeaveRequest.id))) == 1


def test_a_repeated_request_is_the_same_leave(school_engine):
    now = at("2026-11-25", "09:00")
    assert ask(school_engine, ZHANG, "2026-11-26", now) is LeaveDecision.ACCEPTED
    assert ask(school_engine, ZHANG, "2026-11-26", now + timedelta(minutes=5)) is (
        LeaveDecision.ALREADY
    )
    with session_scope(school_engine) as session:
        assert session.scalar(select(func.count(LeaveRequest.id))) == 1


def test_cancel_before_the_cutoff_only(school_engine):
    now = at("2026-11-25", "09:00")
    for day in ("2026-11-26", "2026-11-27"):
        ask(school_engine, ZHANG, day, now)
    with session_scope(school_engine) as session:
        pupil = student(session, ZHANG)
        early = cancel_leave(
            session=session, student=pupil, day=date(2026, 11, 26), sender_id="tg:1", now=now
        )
        late = cancel_leave(
            session=session,
            student=pupil,
            day=date(2026, 11, 27),
            sender_id="tg:1",
            now=at("2026-11-27", "15:45"),
        )
        missing = cancel_leave(
            session=session, student=pupil, day=date(2026, 12, 1), sender_id="tg:1", now=now
        )
    assert (early, late, missing) == (
        CancelOutcome.CANCELLED,
        CancelOutcome.TOO_LATE,
        CancelOutcome.NOT_FOUND,
    )
    # A cancelled day can be requested again.
    assert ask(school_engine, ZHANG, "2026-11-26", now) is LeaveDecision.ACCEPTED


def test_teachers_see_their_classes_leaves(school_engine):
    now = at("2026-11-25", "09:00")
    ask(school_engine, ZHANG, "2026-11-26", now)
    ask(school_engine, XINGHE, "2026-11-26", now)
    with session_scope(school_engine) as session:
        day = date(2026, 11, 26)
        assert len(leaves_on(session=session, day=day)) == 2
        assert len(leaves_on(session=session, day=day, school_code="shiyan")) == 1
        head = student(session, ZHANG).school_class.head_teacher
        mine = leaves_on(session=session, day=day, teacher_id=head.id)
        assert [leave.student.student_no for leave in mine] == [ZHANG]


@pytest.mark.parametrize("phone", ["1001", "19900001001", "+86 199-0000-1001", "1002"])
def test_guardian_binds_with_the_phone_on_file(school_engine, phone):
    with session_scope(school_engine) as session:
        result = bind_guardian(
            session=session,
            sender_id="wx:p",
            student_no=ZHANG,
            phone=phone,
            now=at("2026-11-25", "09:00"),
        )
        assert result.outcome is StudentBindOutcome.BOUND
        assert [s.student_no for s in children_of(session=session, sender_id="wx:p")] == [ZHANG]


def test_unknown_student_and_wrong_phone_look_the_same(school_engine):
    now = at("2026-11-25", "09:00")
    with session_scope(school_engine) as session:
        wrong_phone = bind_guardian(
            session=session, sender_id="wx:x", student_no=ZHANG, phone="9999", now=now
        )
        unknown = bind_guardian(
            session=session, sender_id="wx:x", student_no="2099999999", phone="1001", now=now
        )
        assert wrong_phone == unknown
        assert unknown.outcome is StudentBindOutcome.NO_MATCH
        assert unknown.student_name == ""
        assert children_of(session=session, sender_id="wx:x") == []


def test_five_wrong_tries_lock_student_binding(school_engine):
    now = at("2026-11-25", "09:00")
    with session_scope(school_engine) as session:
        for minute in range(5):
            bind_guardian(
                session=session,
                sender_id="wx:y",
                student_no=ZHANG,
                phone="0000",
                now=now + timedelta(minutes=minute),
            )
        locked = bind_guardian(
            session=session,
            sender_id="wx:y",
            student_no=ZHANG,
            phone="1001",
            now=now + timedelta(minutes=6),
        )
    assert locked.outcome is StudentBindOutcome.LOCKED


def test_a_parent_of_two_children_binds_both(school_engine):
    now = at("2026-11-25", "09:00")
    with session_scope(school_engine) as session:
        sibling = session.scalars(select(Student).where(Student.name == "张子轩")).one()
        for number in (ZHANG, sibling.student_no):
            result = bind_guardian(
                session=session, sender_id="wx:z", student_no=number, phone="1001", now=now
            )
            assert result.outcome is StudentBindOutcome.BOUND
        again = bind_guardian(
            session=session, sender_id="wx:z", student_no=ZHANG, phone="1001", now=now
        )
        assert again.outcome is StudentBindOutcome.ALREADY
        assert len(children_of(session=session, sender_id="wx:z")) == 2


def test_a_school_without_its_own_cutoff_takes_the_organisation_default(engine):
    with session_scope(engine) as session:
        school = new_school(
            code="s2",
            name="默认小学",
            care_start=time(16, 0),
            care_end=time(17, 30),
        )
        session.add(school)
        session.flush()
        default = get_organisation().school.default_leave_cutoff_minutes
        assert school.leave_cutoff_minutes == default == 60


def test_cutoff_time_of_day(school_engine):
    from bot.school.leave import leave_cutoff_time, list_schools

    with session_scope(school_engine) as session:
        times = {s.code: leave_cutoff_time(s) for s in list_schools(session=session)}
    assert times == {"shiyan": time(15, 30), "xinghe": time(14, 20)}
