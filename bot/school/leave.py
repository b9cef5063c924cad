"""After-school care leave, by the rule of 课后服务安全管理制度 item 12: a student who will
miss that day's care is excused **in advance** to the head teacher or the care teacher.

A leave for day D is accepted only before the school's cutoff on D (care start minus the
school's `leave_cutoff_minutes`, in the service's time zone). Past days are refused. Days
without care (weekends, holidays, days the student is not enrolled) need no leave.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.infra.clock import local_zone
from bot.models import (
    LeaveRequest,
    LeaveState,
    School,
    SchoolCalendarDay,
    SchoolClass,
    Student,
)


class LeaveDecision(str, enum.Enum):
    ACCEPTED = "accepted"
    ALREADY = "already"  # the same leave is already on record
    TOO_LATE = "too_late"
    PAST = "past"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    NOT_ENROLLED = "not_enrolled"


@dataclass(frozen=True)
class LeaveAssessment:
    day: date
    decision: LeaveDecision
    cutoff: datetime | None = None
    holiday: str = ""


def leave_cutoff(school: School, day: date) -> datetime:
    """The last moment a leave for `day` is accepted, in the service's time zone."""
    start = datetime.combine(day, school.care_start, tzinfo=local_zone())
    return start - timedelta(minutes=school.leave_cutoff_minutes)


def leave_cutoff_time(school: School) -> time:
    """The time of day after which a leave for that day is refused."""
    start = datetime.combine(date(2000, 1, 3), school.care_start)
    return (start - timedelta(minutes=school.leave_cutoff_minutes)).time()


def list_schools(*, session: Session) -> list[School]:
    return list(session.scalars(select(School).order_by(School.code)))


def _calendar_entry(school: School, day: date) -> SchoolCalendarDay | None:
    return next((entry for entry in school.calendar if entry.day == day), None)


def _enrolled(student: Student, day: date) -> bool:
    return any(
        e.starts_on <= day and (e.ends_on is None or day <= e.ends_on) for e in student.enrollments
    )


def school_care_on(school: School, day: date) -> tuple[bool, str]:
    """Whether `school` holds care on `day` (its calendar, else its weekdays), and the
    calendar's name for the day ("校运动会"), if any."""
    entry = _calendar_entry(school, day)
    if entry is not None:
        return bool(entry.has_care), str(entry.name or "")
    return str(day.isoweekday()) in school.care_weekdays, ""


def care_status(school: School, student: Student, day: date) -> LeaveDecision | None:
    """Why there is no care for `student` on `day`, or None if there is."""
    entry = _calendar_entry(school, day)
    if entry is not None and not entry.has_care:
        return LeaveDecision.HOLIDAY
    if entry is None and str(day.isoweekday()) not in school.care_weekdays:
        return LeaveDecision.WEEKEND
    if not _enrolled(student, day):
        return LeaveDecision.NOT_ENROLLED
    return None


def assess_leave(*, school: School, student: Student, day: date, now: datetime) -> LeaveAssessment:
    """Whether a leave for `day` may be recorded at `now`, and if not, why."""
    local_now = now.astimezone(local_zone())
    if day < local_now.date():
        return LeaveAssessment(day, LeaveDecision.PAST)
    no_care = care_status(school, student, day)
    if no_care is not None:
        entry = _calendar_entry(school, day)
        return LeaveAssessment(day, no_care, holiday=entry.name if entry else "")
    cutoff = leave_cutoff(school, day)
    if local_now >= cutoff:
        return LeaveAssessment(day, LeaveDecision.TOO_LATE, cutoff=cutoff)
    return LeaveAssessment(day, LeaveDecision.ACCEPTED, cutoff=cutoff)


def load_student(*, session: Session, student_id: int) -> Student | None:
    """A student with what the leave rules need: enrollments, class, teachers, school."""
    return session.scalars(
        select(Student)
        .where(Student.id == student_id)
        .options(
            selectinload(Student.enrollments),
            selectinload(Student.school_class)
            .selectinload(SchoolClass.school)
            .selectinload(School.calendar),
            selectinload(Student.school_class).selectinload(SchoolClass.head_teacher),
            selectinload(Student.school_class).selectinload(SchoolClass.care_teacher),
        )
    ).first()


def live_leave(*, session: Session, student_id: int, day: date) -> LeaveRequest | None:
    return session.scalars(
        select(LeaveRequest).where(
            LeaveRequest.student_id == student_id,
            LeaveRequest.care_date == day,
            LeaveRequest.state == LeaveState.REQUESTED,
        )
    ).first()


def request_leave(
    *,
    session: Session,
    student: Student,
    days: list[date],
    reason: str,
    sender_id: str,
    channel: str,
    now: datetime,
) -> list[LeaveAssessment]:
    """Record a leave for every day the rules accept; repeat requests change nothing."""
    school = student.school_class.school
    results = []
    for day in days:
        assessment = assess_leave(school=school, student=student, day=day, now=now)
        if assessment.decision is LeaveDecision.ACCEPTED:
            if live_leave(session=session, student_id=student.id, day=day) is not None:
                assessment = LeaveAssessment(day, LeaveDecision.ALREADY, assessment.cutoff)
            else:
                try:
                    with session.begin_nested():
                        session.add(
                            LeaveRequest(
                                student_id=student.id,
                                care_date=day,
                                reason=reason.strip()[:200],
                                state=LeaveState.REQUESTED,
                                requested_by=sender_id,
                                channel=channel,
                                requested_at=now,
                            )
                        )
                except IntegrityError:
                    # Another request for the same day won the race: same outcome.
                    assessment = LeaveAssessment(day, LeaveDecision.ALREADY, assessment.cutoff)
        results.append(assessment)
    session.flush()
    return results


class CancelOutcome(str, enum.Enum):
    CANCELLED = "cancelled"
    NOT_FOUND = "not_found"
    TOO_LATE = "too_late"


def cancel_leave(
    *, session: Session, student: Student, day: date, sender_id: str, now: datetime
) -> CancelOutcome:
    """Cancel the leave for `day`, allowed until the same cutoff as requesting it."""
    leave = live_leave(session=session, student_id=student.id, day=day)
    if leave is None:
        return CancelOutcome.NOT_FOUND
    if now.astimezone(local_zone()) >= leave_cutoff(student.school_class.school, day):
        return CancelOutcome.TOO_LATE
    leave.state = LeaveState.CANCELLED
    leave.cancelled_at = now
    leave.cancelled_by = sender_id
    session.flush()
    return CancelOutcome.CANCELLED


def leaves_of(*, session: Session, student_ids: list[int], from_day: date) -> list[LeaveRequest]:
    """Live leaves of these students from `from_day` on, by date."""
    if not student_ids:
        return []
    return list(
        session.scalars(
            select(LeaveRequest)
            .where(
                LeaveRequest.student_id.in_(student_ids),
                LeaveRequest.care_date >= from_day,
                LeaveRequest.state == LeaveState.REQUESTED,
            )
            .options(selectinload(LeaveRequest.student))
            .order_by(LeaveRequest.care_date, LeaveRequest.student_id)
        )
    )


def leaves_on(
    *, session: Session, day: date, school_code: str | None = None, teacher_id: int | None = None
) -> list[LeaveRequest]:
    """Live leaves on `day`, for one school or for the classes one teacher heads or minds."""
    query = (
        select(LeaveRequest)
        .join(Student, LeaveRequest.student_id == Student.id)
        .join(SchoolClass, Student.class_id == SchoolClass.id)
        .join(School, SchoolClass.school_id == School.id)
        .where(LeaveRequest.care_date == day, LeaveRequest.state == LeaveState.REQUESTED)
        .options(selectinload(LeaveRequest.student).selectinload(Student.school_class))
        .order_by(SchoolClass.name, Student.name)
    )
    if school_code:
        query = query.where(School.code == school_code)
    if teacher_id is not None:
        query = query.where(
            (SchoolClass.head_teacher_id == teacher_id)
            | (SchoolClass.care_teacher_id == teacher_id)
        )
    return list(session.scalars(query))
