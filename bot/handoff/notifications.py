"""Staff notifications: a bound teacher hears of a leave for their class, a nurse of a
booking for their team (new or changed), supervisors of a complaint filed or overdue.

`send_due_notifications` looks at what arrived or changed recently and sends each staff
member each thing once: the row in `staff_notification` (unique per kind, subject and
staff member) is written before sending, so two processes sweeping at once (two desks,
a desk and cron) never send one twice. Each staff member can switch them off in chat
("关闭员工通知"; `set_notifications`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.complaints import workflow
from bot.complaints.catalog import get_catalog
from bot.infra.clock import as_utc, local_zone
from bot.infra.db import unit_of_work
from bot.models import (
    Complaint,
    ComplaintState,
    HomeVisitBooking,
    LeaveRequest,
    Nurse,
    SchoolClass,
    StaffMember,
    StaffNotification,
    StaffNotificationSetting,
    StaffRole,
    Student,
    Teacher,
)
from bot.notify import Delivery

logger = logging.getLogger(__name__)

Deliver = Callable[[str, str], Delivery]
LOOKBACK = timedelta(days=2)  # what arrived this long ago is still told once

ROLE_KINDS = {
    StaffRole.TEACHER: "请假",
    StaffRole.NURSE: "上门服务预约",
    StaffRole.SUPERVISOR: "投诉",
}


def set_notifications(*, sender_id: str, enabled: bool, now: datetime) -> str | None:
    """Switch a bound staff member's notifications; what they are about ("请假"), or None
    when the sender is no teacher, nurse or supervisor."""
    with unit_of_work() as session:
        member = session.scalar(select(StaffMember).where(StaffMember.sender_id == sender_id))
        if member is None or member.role not in ROLE_KINDS:
            return None
        setting = session.scalar(
            select(StaffNotificationSetting).where(StaffNotificationSetting.sender_id == sender_id)
        )
        if setting is None:
            session.add(
                StaffNotificationSetting(sender_id=sender_id, enabled=enabled, updated_at=now)
            )
        else:
            setting.enabled, setting.updated_at = enabled, now
        return ROLE_KINDS[member.role]


@dataclass(frozen=True)
class Notice:
    kind: str  # leave, booking, complaint, overdue
    subject: str  # what it is about, unique per kind (a leave id and state, a ticket)
    sender_id: str  # the staff member told
    text: str


def _silenced(session: Session) -> set[str]:
    return set(
        session.scalars(
            select(StaffNotificationSetting.sender_id).where(
                StaffNotificationSetting.enabled.is_(False)
            )
        )
    )


def _local(moment: datetime) -> str:
    return f"{as_utc(moment).astimezone(local_zone()):%m-%d %H:%M}"


def _leave_notices(session: Session, since: datetime) -> Iterator[Notice]:
    rows = session.execute(
        select(LeaveRequest, Student, SchoolClass)
        .join(Student, LeaveRequest.student_id == Student.id)
        .join(SchoolClass, Student.class_id == SchoolClass.id)
        .where(or_(LeaveRequest.requested_at >= since, LeaveRequest.cancelled_at >= since))
    )
    for leave, student, school_class in rows:
        for teacher_id in {school_class.head_teacher_id, school_class.care_teacher_id} - {None}:
            teacher = session.get(Teacher, teacher_id)
            if teacher is None or teacher.staff_member_id is None:
                continue  # not bound in chat
            member = session.get(StaffMember, teacher.staff_member_id)
            if member is None:
                continue
            state = getattr(leave.state, "value", leave.state)
            yield Notice(
                "leave",
                f"{leave.id}:{state}",
                member.sender_id,
                f"【请假通知】{school_class.name} {student.name} {leave.care_date:%m-%d} "
                f"课后看护请假（{'已取消' if state == 'cancelled' else '已登记'}）。"
                f"原因：{leave.reason or '未说明'}",
            )


def _booking_notices(session: Session, since: datetime) -> Iterator[Notice]:
    """The nurses of the team a booking is for (its nurse's team), bound in chat."""
    bookings = session.scalars(
        select(HomeVisitBooking).where(
            HomeVisitBooking.updated_at >= since, HomeVisitBooking.nurse_id.is_not(None)
        )
    )
    for booking in bookings:
        nurse = session.get(Nurse, booking.nurse_id)
        if nurse is None:
            continue
        members = session.scalars(
            select(StaffMember)
            .join(Nurse, Nurse.invite_id == StaffMember.invite_id)
            .where(Nurse.team_id == nurse.team_id, Nurse.invite_id.is_not(None))
        )
        state = getattr(booking.state, "value", booking.state)
        half_day = getattr(booking.half_day, "value", booking.half_day) or ""
        when = f"{booking.visit_date:%m-%d} {half_day}" if booking.visit_date else ""
        for member in members:
            yield Notice(
                "booking",
                f"{booking.booking_no}:{state}:{when}",
                member.sender_id,
                f"【预约通知】上门服务 {booking.booking_no}：{when}，状态 {state}"
                f"（{nurse.name}）。",
            )


def _complaint_notices(session: Session, since: datetime, now: datetime) -> Iterator[Notice]:
    supervisors = list(
        session.scalars(
            select(StaffMember.sender_id).where(StaffMember.role == StaffRole.SUPERVISOR)
        )
    )
    if not supervisors:
        return
    catalog = get_catalog()
    open_states = [s for s in ComplaintState if s is not ComplaintState.CLOSED]
    for complaint in session.scalars(select(Complaint).where(Complaint.state.in_(open_states))):
        facts = (
            f"{complaint.ticket_no}（{catalog.department_name(complaint.department)}，"
            f"{catalog.category_name(complaint.category)}，期限 {_local(complaint.due_at)}）"
        )
        for sender_id in supervisors:
            if as_utc(complaint.created_at) >= as_utc(since):
                yield Notice(
                    "complaint", complaint.ticket_no, sender_id, f"【投诉通知】新投诉 {facts}"
                )
            if workflow.is_overdue(complaint, now):
                yield Notice(
                    "overdue", complaint.ticket_no, sender_id, f"【投诉超期】{facts} 已超期"
                )


def send_due_notifications(
    *, now: datetime, deliver: Deliver, engine: Engine | None = None
) -> list[Notice]:
    """Send every notification not sent yet; the ones sent (or tried) this time."""
    since = now - LOOKBACK
    with unit_of_work(engine) as session:
        silenced = _silenced(session)
        notices = [
            notice
            for notice in (
                *_leave_notices(session, since),
                *_booking_notices(session, since),
                *_complaint_notices(session, since, now),
            )
            if notice.sender_id not in silenced
        ]
        told = {
            (kind, subject, sender)
            for kind, subject, sender in session.execute(
                select(
                    StaffNotification.kind, StaffNotification.subject, StaffNotification.sender_id
                )
            )
        }
    sent = []
    for notice in notices:
        if (notice.kind, notice.subject, notice.sender_id) in told:
            continue
        try:
            with unit_of_work(engine) as session:
                row = StaffNotification(
                    kind=notice.kind,
                    subject=notice.subject,
                    sender_id=notice.sender_id,
                    created_at=now,
                )
                session.add(row)
                session.flush()
                row_id = row.id
        except Exception as error:  # another process claimed it first (unique row)
            if isinstance(error.__cause__, IntegrityError) or isinstance(error, IntegrityError):
                continue
            raise
        delivery = deliver(notice.sender_id, notice.text)
        with unit_of_work(engine) as session:
            stored = session.get(StaffNotification, row_id)
            if stored is not None:
                stored.delivery = delivery.status.value
        logger.info("staff notification %s: %s", notice.kind, delivery.status.value)
        sent.append(notice)
    return sent
