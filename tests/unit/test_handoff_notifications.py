"""Staff notifications (bot/handoff/notifications.py) on the demo database: a bound
teacher hears of a leave for their class once, and of its cancellation; supervisors of a
complaint filed; anyone can switch them off; the words that hand a chat to a person or
back to the assistant."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from actions.handoff import asks_for_person
from bot.complaints.catalog import get_catalog
from bot.complaints.filing import ComplaintDraft, file_complaint
from bot.handoff.notifications import send_due_notifications, set_notifications
from bot.infra.db import get_engine, session_scope
from bot.models import LeaveRequest, LeaveState, StaffMember, StaffRole, Student, Teacher
from bot.notify import Delivery, DeliveryStatus
from bot.runtime.handoff_relay import wants_assistant

NOW = datetime(2026, 11, 25, 7, 45, tzinfo=timezone.utc)


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, sender_id: str, text: str) -> Delivery:
        self.sent.append((sender_id, text))
        return Delivery(DeliveryStatus.SENT)


@pytest.fixture()
def staff(service_database) -> dict[str, str]:
    """A bound head teacher of 三年级(1)班 (李雪梅) and a bound supervisor."""
    with session_scope(get_engine()) as session:
        teacher_member = StaffMember(sender_id="tg:9001", name="李雪梅", role=StaffRole.TEACHER)
        supervisor = StaffMember(sender_id="tg:9002", name="周主管", role=StaffRole.SUPERVISOR)
        session.add_all([teacher_member, supervisor])
        session.flush()
        teacher = session.scalar(select(Teacher).where(Teacher.name == "李雪梅"))
        assert teacher is not None
        teacher.staff_member_id = teacher_member.id
    return {"teacher": "tg:9001", "supervisor": "tg:9002"}


def _leave(state: LeaveState = LeaveState.REQUESTED) -> int:
    with session_scope(get_engine()) as session:
        student = session.scalar(select(Student).where(Student.student_no == "2024010101"))
        assert student is not None
        leave = LeaveRequest(
            student_id=student.id,
            care_date=date(2026, 11, 26),
            reason="发烧",
            state=state,
            requested_by="tg:parent",
            requested_at=NOW,
        )
        session.add(leave)
        session.flush()
        return int(leave.id)


def test_a_teacher_hears_of_a_leave_for_their_class_once(staff):
    _leave()
    outbox = Outbox()
    send_due_notifications(now=NOW, deliver=outbox)
    send_due_notifications(now=NOW + timedelta(minutes=1), deliver=outbox)
    told = [text for sender, text in outbox.sent if sender == staff["teacher"]]
    assert len(told) == 1 and "张子涵" in told[0] and "发烧" in told[0]


def test_supervisors_hear_of_a_complaint_and_staff_can_switch_off(staff):
    with session_scope(get_engine()) as session:
        file_complaint(
            session=session,
            draft=ComplaintDraft("gas", "attitude", "抄表员态度很差,还对我大声嚷嚷"),
            sender_id="tg:1",
            channel="telegram",
            now=NOW,
            catalog=get_catalog(),
        )
    assert set_notifications(sender_id=staff["teacher"], enabled=False, now=NOW) == "请假"
    assert set_notifications(sender_id="tg:someone", enabled=False, now=NOW) is None
    _leave()
    outbox = Outbox()
    send_due_notifications(now=NOW, deliver=outbox)
    assert [sender for sender, _ in outbox.sent] == [staff["supervisor"]]
    assert "投诉通知" in outbox.sent[0][1]


@pytest.mark.parametrize("text", ["转人工", "我要找人工", "找客服", "我要跟人说", "有没有真人"])
def test_asking_for_a_person(text):
    assert asks_for_person(text)


@pytest.mark.parametrize("text", ["有没有人工客服电话", "客服电话多少", "人工服务热线"])
def test_asking_for_a_number_is_not_asking_for_a_person(text):
    assert not asks_for_person(text)


@pytest.mark.parametrize("text", ["返回助手", "返回智能助手。", "不等了", "/restart"])
def test_going_back_to_the_assistant(text):
    assert wants_assistant(text)


@pytest.mark.parametrize("text", ["返回助手是什么意思", "我的燃气表不走了", ""])
def test_other_messages_go_to_the_person(text):
    assert not wants_assistant(text)


def test_the_operators_figures_count_a_conversation_a_person_took_over():
    from zoneinfo import ZoneInfo

    from bot.analytics.figures import EventRow, day_figures

    stamp = NOW.timestamp()
    rows = [
        EventRow(1, "tg:1", "user", stamp, "ask_contact", None, {"input_channel": "rest"}),
        EventRow(2, "tg:1", "action", stamp + 1, None, "action_contact", {}),
        EventRow(3, "tg:1", "pause", stamp + 1, None, None, {}),
        EventRow(4, "tg:2", "user", stamp, "greet", None, {"input_channel": "rest"}),
    ]
    (figures,) = day_figures(rows, zone=ZoneInfo("Asia/Shanghai")).values()
    assert (figures.conversations, figures.handoffs) == (2, 1)
