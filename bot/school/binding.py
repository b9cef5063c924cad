"""Binding a parent's chat identity to their child: 学号 + the guardian phone on file.

Nothing about a student is revealed before both match: an unknown 学号 and a wrong phone
get the same answer. Attempts count towards the shared lock-outs (`bot.identity`): per
sender, and per 学号 across all senders; when a 学号 gets locked, the parents already bound
to the child are told (`alert_senders`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.identity import (
    TARGET_MAX_FAILURES,
    is_locked_out,
    is_target_locked,
    record_attempt,
    target_failures,
)
from bot.models import GuardianBinding, Student, StudentGuardian

ATTEMPT_KIND = "student"
_DIGITS = re.compile(r"\D")


class StudentBindOutcome(str, enum.Enum):
    BOUND = "bound"
    ALREADY = "already"
    NO_MATCH = "no_match"
    LOCKED = "locked"
    # Too many failures on this 学号 from anyone: online binding paused (see the teacher).
    TARGET_LOCKED = "target_locked"


@dataclass(frozen=True)
class StudentBindResult:
    outcome: StudentBindOutcome
    student_id: int | None = None
    student_name: str = ""
    # Parents bound to the child, to be told that binding was just locked.
    alert_senders: tuple[str, ...] = ()


def _phone_matches(on_file: str, given: str) -> bool:
    on_file, given = _DIGITS.sub("", on_file), _DIGITS.sub("", given)
    if len(given) == 4:
        return on_file.endswith(given)
    # A full number, with or without the +86 country code.
    return len(given) >= 11 and given[-11:] == on_file[-11:]


def bind_guardian(
    *, session: Session, sender_id: str, student_no: str, phone: str, now: datetime
) -> StudentBindResult:
    """Bind `sender_id` to the student if `phone` (full, or its last 4 digits) is a guardian's."""
    if is_locked_out(session=session, sender_id=sender_id, kind=ATTEMPT_KIND, now=now):
        return StudentBindResult(StudentBindOutcome.LOCKED)
    target = _DIGITS.sub("", student_no)[:32]
    if is_target_locked(
        session=session, sender_id=sender_id, kind=ATTEMPT_KIND, target=target, now=now
    ):
        return StudentBindResult(StudentBindOutcome.TARGET_LOCKED)
    student = session.scalars(
        select(Student)
        .where(Student.student_no == target)
        .options(selectinload(Student.guardians).selectinload(StudentGuardian.guardian))
    ).first()
    link = None
    if student is not None:
        link = next((g for g in student.guardians if _phone_matches(g.guardian.phone, phone)), None)
    record_attempt(
        session=session,
        sender_id=sender_id,
        kind=ATTEMPT_KIND,
        succeeded=link is not None,
        reason="bound" if link else "no_match",
        now=now,
        target=target,
    )
    if student is None or link is None:
        failures = target_failures(session=session, kind=ATTEMPT_KIND, target=target, now=now)
        if failures >= TARGET_MAX_FAILURES:
            parents: tuple[str, ...] = ()
            if student is not None:
                parents = tuple(
                    session.scalars(
                        select(GuardianBinding.sender_id).where(
                            GuardianBinding.student_id == student.id
                        )
                    )
                )
            return StudentBindResult(StudentBindOutcome.TARGET_LOCKED, alert_senders=parents)
        return StudentBindResult(StudentBindOutcome.NO_MATCH)
    existing = session.scalars(
        select(GuardianBinding).where(
            GuardianBinding.sender_id == sender_id, GuardianBinding.student_id == student.id
        )
    ).first()
    if existing is not None:
        return StudentBindResult(StudentBindOutcome.ALREADY, student.id, student.name)
    session.add(
        GuardianBinding(
            sender_id=sender_id, student_id=student.id, guardian_id=link.guardian_id, bound_at=now
        )
    )
    session.flush()
    return StudentBindResult(StudentBindOutcome.BOUND, student.id, student.name)


def children_of(*, session: Session, sender_id: str | None) -> list[Student]:
    """The students this sender is a verified guardian of, by name."""
    if not sender_id:
        return []
    return list(
        session.scalars(
            select(Student)
            .join(GuardianBinding, GuardianBinding.student_id == Student.id)
            .where(GuardianBinding.sender_id == sender_id)
            .order_by(Student.name)
        )
    )


def unbind_guardian(*, session: Session, sender_id: str, student_id: int | None = None) -> int:
    """Remove this sender's bindings (to one student, or all); returns how many."""
    query = select(GuardianBinding).where(GuardianBinding.sender_id == sender_id)
    if student_id is not None:
        query = query.where(GuardianBinding.student_id == student_id)
    bindings = list(session.scalars(query))
    for binding in bindings:
        session.delete(binding)
    session.flush()
    return len(bindings)
