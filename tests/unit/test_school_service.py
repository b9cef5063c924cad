"""The after-school care use cases (bot.school.service) on the demo database: binding,
checking, recording, cancelling and listing leaves, care hours.

实验小学 (shiyan): care 16:30, cutoff 15:30; Wednesday 2026-11-25 is "today". 张伟
(19900001001) is the guardian of 张子涵 (2024010101, 三年级(1)班, head teacher 李雪梅,
care teacher 王建国) and of 张子轩 (2023010301, 四年级(1)班).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.infra.db import session_scope
from bot.models import StaffRole, Teacher
from bot.school import service
from bot.school.binding import StudentBindOutcome
from bot.school.leave import CancelOutcome, LeaveDecision
from bot.staff import create_invite, redeem_invite

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
THURSDAY = date(2026, 11, 26)
PARENT = "tg:parent"


def bind_both_children() -> dict[str, int]:
    for student_no in ("2024010101", "2023010301"):
        result = service.bind_guardian_by_phone(
            sender_id=PARENT, student_no=student_no, phone="19900001001", now=NOW
        )
        assert result.outcome is StudentBindOutcome.BOUND
    return {child.name: child.id for child in service.children(sender_id=PARENT)}


def test_a_guardian_bound_by_phone_sees_both_children_by_name(service_database):
    assert service.children(sender_id=PARENT) == []
    assert bind_both_children().keys() == {"张子涵", "张子轩"}


def test_a_wrong_phone_binds_nothing(service_database):
    result = service.bind_guardian_by_phone(
        sender_id=PARENT, student_no="2024010101", phone="19900009999", now=NOW
    )
    assert result.outcome is StudentBindOutcome.NO_MATCH
    assert service.children(sender_id=PARENT) == []


def test_leave_days_are_checked_only_once_the_child_is_known(service_database):
    ids = bind_both_children()
    days = [THURSDAY, date(2026, 11, 28)]  # Thursday and Saturday
    assert service.check_leave_days(sender_id=PARENT, chosen=None, days=days, now=NOW) is None
    [check] = (
        service.check_leave_days(sender_id=PARENT, chosen=str(ids["张子涵"]), days=days, now=NOW)
        or []
    )
    assert check.student_name == "张子涵"
    assert [a.decision for a in check.assessments] == [
        LeaveDecision.ACCEPTED,
        LeaveDecision.WEEKEND,
    ]
    assert check.contact == service.TeacherContact("李雪梅", "19900010001", "王建国")
    assert service.chosen_child_name(sender_id=PARENT, chosen=str(ids["张子涵"])) == "张子涵"


def test_a_leave_for_both_children_is_checked_and_recorded_for_each(service_database):
    ids = bind_both_children()
    both = f"{ids['张子涵']},{ids['张子轩']}"
    checks = service.check_leave_days(sender_id=PARENT, chosen=both, days=[THURSDAY], now=NOW)
    assert [(c.student_name, c.student_id) for c in checks or []] == [
        ("张子涵", ids["张子涵"]),
        ("张子轩", ids["张子轩"]),
    ]
    assert service.chosen_child_name(sender_id=PARENT, chosen=both) == "张子涵、张子轩"
    recorded = service.submit_leave(
        sender_id=PARENT, chosen=both, days=[THURSDAY], reason="", channel="t", now=NOW
    )
    assert [r.assessments[0].decision for r in recorded or []] == [LeaveDecision.ACCEPTED] * 2
    # One of the two not the sender's: nothing is checked or recorded.
    assert (
        service.check_leave_days(
            sender_id=PARENT, chosen=f"{ids['张子涵']},999999", days=[THURSDAY], now=NOW
        )
        is None
    )


def test_another_senders_child_is_never_chosen(service_database):
    ids = bind_both_children()
    chosen = str(ids["张子涵"])
    assert (
        service.check_leave_days(sender_id="tg:x", chosen=chosen, days=[THURSDAY], now=NOW) is None
    )
    assert service.chosen_child_name(sender_id="tg:x", chosen=chosen) == ""
    assert (
        service.submit_leave(
            sender_id="tg:x", chosen=chosen, days=[THURSDAY], reason="", channel="", now=NOW
        )
        is None
    )


def test_a_leave_is_recorded_once_listed_and_cancelled(service_database):
    ids = bind_both_children()
    chosen = str(ids["张子涵"])

    def submit() -> LeaveDecision:
        result = service.submit_leave(
            sender_id=PARENT, chosen=chosen, days=[THURSDAY], reason="发烧", channel="t", now=NOW
        )
        [child] = result or []
        [assessment] = child.assessments
        return assessment.decision

    assert submit() is LeaveDecision.ACCEPTED
    assert submit() is LeaveDecision.ALREADY
    [leave] = service.upcoming_leaves(sender_id=PARENT, from_day=NOW.date()) or []
    assert (leave.student_name, leave.day, leave.reason, leave.class_name) == (
        "张子涵",
        THURSDAY,
        "发烧",
        "三年级(1)班",
    )
    # Two children: the one without a leave that day is not reported.
    [cancelled] = service.cancel_leaves(sender_id=PARENT, days=[THURSDAY], now=NOW) or []
    assert (cancelled.student_name, cancelled.outcome) == ("张子涵", CancelOutcome.CANCELLED)
    assert service.upcoming_leaves(sender_id=PARENT, from_day=NOW.date()) == []


def test_a_sender_without_children_gets_none_not_an_empty_list(service_database):
    assert service.upcoming_leaves(sender_id=PARENT, from_day=NOW.date()) is None
    assert service.cancel_leaves(sender_id=PARENT, days=[THURSDAY], now=NOW) is None


def test_teacher_and_staff_lists_show_the_same_leave(service_database):
    ids = bind_both_children()
    service.submit_leave(
        sender_id=PARENT,
        chosen=str(ids["张子涵"]),
        days=[THURSDAY],
        reason="",
        channel="t",
        now=NOW,
    )
    assert service.teacher_leaves(sender_id="tg:teacher", days=[THURSDAY]) is None
    with session_scope() as session:
        teacher = session.scalars(select(Teacher).where(Teacher.name == "李雪梅")).one()
        _, code = create_invite(
            session=session, name="李雪梅", role=StaffRole.TEACHER, teacher_id=teacher.id, now=NOW
        )
        redeem_invite(session=session, sender_id="tg:teacher", code=code, now=NOW)
    [seen] = service.teacher_leaves(sender_id="tg:teacher", days=[THURSDAY]) or []
    assert [seen] == service.school_leaves(days=[THURSDAY], school_code="shiyan")
    assert (seen.student_name, seen.channel) == ("张子涵", "t")
    assert service.school_leaves(days=[THURSDAY], school_code="xinghe") == []


def test_care_times_cover_every_school_until_a_child_is_bound(service_database):
    every = service.care_times(sender_id=PARENT)
    assert len(every) >= 2
    bind_both_children()
    [own] = service.care_times(sender_id=PARENT)
    assert own.school_name == "实验小学(演示)"
    assert (f"{own.care_start:%H:%M}", f"{own.leave_cutoff:%H:%M}") == ("16:30", "15:30")
