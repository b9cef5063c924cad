"""After-school care use cases, one function each: what the chat, and the staff's command
line, ask of the school records.

Each function opens its own unit of work (`bot.infra.db.unit_of_work`), applies the rules of
`bot.school` and returns plain data that stays valid after the session is closed; a
failed database leaves as `bot.infra.db.DatabaseUnavailable`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy.orm import Session

from bot.infra.db import unit_of_work
from bot.models import LeaveRequest, Student
from bot.reading import normalize_chinese
from bot.school.binding import StudentBindResult, bind_guardian, children_of
from bot.school.leave import (
    CancelOutcome,
    LeaveAssessment,
    assess_leave,
    cancel_leave,
    leave_cutoff_time,
    leaves_of,
    leaves_on,
    list_schools,
    load_student,
    request_leave,
    school_care_on,
)
from bot.staff import teacher_of


@dataclass(frozen=True)
class Child:
    """A child the sender is a verified guardian of; the 学号 tells the elder of siblings
    (the earlier year of entry comes first)."""

    id: int
    name: str
    student_no: str = ""


@dataclass(frozen=True)
class TeacherContact:
    """Whom a parent calls about a leave: the head teacher (or the school office) and the
    care teacher; the fields are the leave responses' slots."""

    head_teacher: str
    head_teacher_phone: str
    care_teacher: str


@dataclass(frozen=True)
class LeaveCheck:
    """What the rules say about each day of a leave for one child."""

    student_name: str
    assessments: tuple[LeaveAssessment, ...]
    contact: TeacherContact
    student_id: int = 0


@dataclass(frozen=True)
class LeaveCancellation:
    """The outcome of cancelling one child's leave on one day."""

    student_name: str
    day: date
    outcome: CancelOutcome
    contact: TeacherContact


@dataclass(frozen=True)
class LeaveEntry:
    """A leave on record, as the parent, the teacher and the staff list it."""

    day: date
    student_name: str
    class_name: str
    reason: str
    requested_at: datetime
    channel: str


@dataclass(frozen=True)
class CareTimes:
    """When a school's care starts and ends, and the time a same-day leave must beat."""

    school_name: str
    care_start: time
    care_end: time
    leave_cutoff: time
    # Asked about a day: whether care is held then, and what the school calls the day.
    day: date | None = None
    has_care: bool = True
    occasion: str = ""


def children(*, sender_id: str | None) -> list[Child]:
    """The children this sender is a verified guardian of, by name."""
    with unit_of_work() as session:
        bound = children_of(session=session, sender_id=sender_id)
        return [Child(c.id, c.name, c.student_no) for c in bound]


def bind_guardian_by_phone(
    *, sender_id: str, student_no: str, phone: str, now: datetime
) -> StudentBindResult:
    """Bind the sender to the student whose guardian has this phone (`bind_guardian`)."""
    with unit_of_work() as session:
        return bind_guardian(
            session=session, sender_id=sender_id, student_no=student_no, phone=phone, now=now
        )


def check_leave_days(
    *, sender_id: str, chosen: str | None, days: list[date], now: datetime
) -> list[LeaveCheck] | None:
    """What the rules of each child's own school say about a leave on `days`, for each
    chosen child (`chosen`: one id, or several joined by ",") or the only one; None while
    which child is not known."""
    with unit_of_work() as session:
        students = _chosen_students(session, sender_id, chosen)
        if not students:
            return None
        return [
            LeaveCheck(
                student.name,
                tuple(
                    assess_leave(
                        school=student.school_class.school, student=student, day=day, now=now
                    )
                    for day in days
                ),
                _teacher_contact(student),
                student.id,
            )
            for student in students
        ]


def chosen_child_name(*, sender_id: str, chosen: str | None) -> str:
    """The names of the chosen children (or of the only one), joined by "、"; "" while not
    known."""
    with unit_of_work() as session:
        return "、".join(s.name for s in _chosen_students(session, sender_id, chosen))


def submit_leave(
    *,
    sender_id: str,
    chosen: str | None,
    days: list[date],
    reason: str,
    channel: str,
    now: datetime,
) -> list[LeaveCheck] | None:
    """Record a leave for each chosen child on every day its school's rules accept
    (`request_leave`), all in one unit of work; None when a child is not one of the
    sender's."""
    with unit_of_work() as session:
        students = _chosen_students(session, sender_id, chosen)
        if not students:
            return None
        return [
            LeaveCheck(
                student.name,
                tuple(
                    request_leave(
                        session=session,
                        student=student,
                        days=days,
                        reason=reason,
                        sender_id=sender_id,
                        channel=channel,
                        now=now,
                    )
                ),
                _teacher_contact(student),
                student.id,
            )
            for student in students
        ]


def cancel_leaves(
    *, sender_id: str, days: list[date], now: datetime
) -> list[LeaveCancellation] | None:
    """Cancel the leaves on `days` of every child of the sender; None when no child is
    bound. With several children, a day without a leave for one of them is left out: the
    leave was for another child."""
    with unit_of_work() as session:
        bound = children_of(session=session, sender_id=sender_id)
        if not bound:
            return None
        cancellations = []
        for child in bound:
            student = load_student(session=session, student_id=child.id)
            if student is None:
                continue
            for day in days:
                outcome = cancel_leave(
                    session=session, student=student, day=day, sender_id=sender_id, now=now
                )
                if outcome is CancelOutcome.NOT_FOUND and len(bound) > 1:
                    continue
                cancellations.append(
                    LeaveCancellation(student.name, day, outcome, _teacher_contact(student))
                )
        return cancellations


def upcoming_leaves(*, sender_id: str, from_day: date) -> list[LeaveEntry] | None:
    """The leaves on record for the sender's children from `from_day` on; None when no
    child is bound."""
    with unit_of_work() as session:
        bound = children_of(session=session, sender_id=sender_id)
        if not bound:
            return None
        leaves = leaves_of(
            session=session, student_ids=[child.id for child in bound], from_day=from_day
        )
        return [_entry(leave) for leave in leaves]


def teacher_leaves(*, sender_id: str, days: list[date]) -> list[LeaveEntry] | None:
    """The leaves on `days` in the classes the sender heads or minds; None when the sender
    is not a bound teacher."""
    with unit_of_work() as session:
        teacher = teacher_of(session=session, sender_id=sender_id)
        if teacher is None:
            return None
        return _leaves_on_days(session, days, teacher_id=teacher.id)


def school_leaves(*, days: list[date], school_code: str | None = None) -> list[LeaveEntry]:
    """The leaves on `days`, in one school or in all, for the staff's list."""
    with unit_of_work() as session:
        return _leaves_on_days(session, days, school_code=school_code)


def care_times(*, sender_id: str, day: date | None = None, text: str = "") -> list[CareTimes]:
    """Care hours and the leave cutoff of the schools `text` names ("那星河小学呢"), else of
    the schools of the sender's children, or of every school when the sender has bound no
    child; with `day`, whether each holds care then (校运动会, a weekend). The hours are
    the schools' public arrangements: naming a school shows nothing of anyone."""
    with unit_of_work() as session:
        every = list_schools(session=session)
        named = [school for school in every if names_school(text, school.name)]
        bound = children_of(session=session, sender_id=sender_id) if not named else []
        schools = (
            {school.id: school for school in named}
            if named
            else {child.school_class.school.id: child.school_class.school for child in bound}
            if bound
            else {school.id: school for school in every}
        )
        times = []
        for school in schools.values():
            has_care, occasion = school_care_on(school, day) if day else (True, "")
            times.append(
                CareTimes(
                    school.name,
                    school.care_start,
                    school.care_end,
                    leave_cutoff_time(school),
                    day=day,
                    has_care=has_care,
                    occasion=occasion,
                )
            )
        return times


def names_school(text: str, name: str) -> bool:
    """Whether `text` names the school called `name`: in full without a note in brackets
    ("星河小学" for "星河小学(演示)"), or by its own part before 小学/中学/学校 ("星河")."""
    words = normalize_chinese(text or "")
    full = re.sub(r"[(（][^)）]*[)）]", "", normalize_chinese(name)).strip()
    if not full or not words:
        return False
    stem = re.sub(r"(?:小学|中学|学校)$", "", full)
    return full in words or (len(stem) >= 2 and stem in words)


def _chosen_students(session: Session, sender_id: str, chosen: str | None) -> list[Student]:
    """The children a leave is for: the chosen ones (ids joined by ","), or the only bound
    one; none at all when one chosen is not the sender's."""
    bound = {str(child.id): child for child in children_of(session=session, sender_id=sender_id)}
    if chosen:
        ids = list(dict.fromkeys(part.strip() for part in str(chosen).split(",") if part.strip()))
    else:
        ids = list(bound) if len(bound) == 1 else []
    if not ids or any(key not in bound for key in ids):
        return []
    students = [load_student(session=session, student_id=bound[key].id) for key in ids]
    return [student for student in students if student is not None]


def _teacher_contact(student: Student) -> TeacherContact:
    school_class = student.school_class
    head = school_class.head_teacher
    care = school_class.care_teacher
    return TeacherContact(
        head_teacher=head.name if head else "班主任",
        head_teacher_phone=(head.phone if head else "") or school_class.school.office_phone,
        care_teacher=care.name if care else "看护老师",
    )


def _leaves_on_days(
    session: Session,
    days: list[date],
    *,
    school_code: str | None = None,
    teacher_id: int | None = None,
) -> list[LeaveEntry]:
    return [
        _entry(leave)
        for day in days
        for leave in leaves_on(
            session=session, day=day, school_code=school_code, teacher_id=teacher_id
        )
    ]


def _entry(leave: LeaveRequest) -> LeaveEntry:
    student = leave.student
    return LeaveEntry(
        day=leave.care_date,
        student_name=student.name,
        class_name=student.school_class.name,
        reason=leave.reason,
        requested_at=leave.requested_at,
        channel=leave.channel,
    )
