"""A complaint's review: assign, record the finding, resolve, close; the survey after.

States move new → assigned → in_progress → resolved → closed (a supervisor may close
an open complaint directly once its finding and resolution are recorded). Every change
is written to the audit trail with who made it and the fields before and after.

Every change names the version of the complaint the supervisor was looking at; if it
has changed since (another supervisor was quicker), `ComplaintChanged` is raised and
nothing is written. The version column also catches two updates racing in the database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.complaints.catalog import Catalog
from bot.complaints.filing import to_utc
from bot.infra.clock import as_utc
from bot.models import (
    Complaint,
    ComplaintEvent,
    ComplaintFinding,
    ComplaintNotification,
    ComplaintState,
    SurveyAnswer,
)
from bot.notify import Delivery

logger = logging.getLogger(__name__)

Deliver = Callable[[str, str], Delivery]
OPEN_STATES = (
    ComplaintState.NEW,
    ComplaintState.ASSIGNED,
    ComplaintState.IN_PROGRESS,
    ComplaintState.RESOLVED,
)
# What each action may start from.
_ALLOWED_FROM: dict[str, tuple[ComplaintState, ...]] = {
    "assign": (ComplaintState.NEW, ComplaintState.ASSIGNED, ComplaintState.IN_PROGRESS),
    "start": (ComplaintState.ASSIGNED,),
    "finding": (
        ComplaintState.NEW,
        ComplaintState.ASSIGNED,
        ComplaintState.IN_PROGRESS,
        ComplaintState.RESOLVED,
    ),
    "resolve": (ComplaintState.ASSIGNED, ComplaintState.IN_PROGRESS),
    "close": OPEN_STATES,
}
MAX_TEXT = 2000


class ComplaintChanged(Exception):
    """Someone else changed the complaint since this supervisor looked at it."""


class TransitionError(ValueError):
    """The change does not fit the complaint's state (e.g. closing without a finding)."""


def _value(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _change(
    *,
    session: Session,
    complaint: Complaint,
    actor: str,
    action: str,
    expected_version: int,
    changes: Mapping[str, Any],
    now: datetime,
) -> ComplaintEvent:
    """Apply `changes` if the complaint is still at `expected_version`; audit them."""
    ticket_no = complaint.ticket_no
    if complaint.version != expected_version:
        raise ComplaintChanged(ticket_no)
    if complaint.state not in _ALLOWED_FROM[action]:
        raise TransitionError(f"cannot {action} a complaint that is {complaint.state.value}")
    before = {name: _value(getattr(complaint, name)) for name in changes}
    after = {name: _value(value) for name, value in changes.items()}
    for name, value in changes.items():
        setattr(complaint, name, value)
    complaint.updated_at = to_utc(now)
    try:
        session.flush()
    except StaleDataError as error:  # another transaction updated it first
        raise ComplaintChanged(ticket_no) from error
    event = ComplaintEvent(
        complaint_id=complaint.id,
        actor=actor,
        action=action,
        before=json.dumps(before, ensure_ascii=False, default=str),
        after=json.dumps(after, ensure_ascii=False, default=str),
        created_at=to_utc(now),
    )
    session.add(event)
    session.flush()
    return event


def assign(
    *,
    session: Session,
    complaint: Complaint,
    assignee: str,
    actor: str,
    expected_version: int,
    now: datetime,
) -> ComplaintEvent:
    assignee = assignee.strip()[:64]
    if not assignee:
        raise TransitionError("name who handles the complaint")
    changes: dict[str, Any] = {"assignee": assignee}
    if complaint.state is ComplaintState.NEW:
        changes["state"] = ComplaintState.ASSIGNED
    return _change(
        session=session,
        complaint=complaint,
        actor=actor,
        action="assign",
        expected_version=expected_version,
        changes=changes,
        now=now,
    )


def start(
    *, session: Session, complaint: Complaint, actor: str, expected_version: int, now: datetime
) -> ComplaintEvent:
    return _change(
        session=session,
        complaint=complaint,
        actor=actor,
        action="start",
        expected_version=expected_version,
        changes={"state": ComplaintState.IN_PROGRESS},
        now=now,
    )


def record_finding(
    *,
    session: Session,
    complaint: Complaint,
    finding: ComplaintFinding,
    responsible_staff: str,
    actor: str,
    expected_version: int,
    now: datetime,
) -> ComplaintEvent:
    """属实 or 不属实, and for a substantiated complaint the staff member responsible."""
    responsible_staff = responsible_staff.strip()[:100]
    if finding is ComplaintFinding.SUBSTANTIATED and not responsible_staff:
        raise TransitionError("a substantiated complaint names the responsible staff member")
    changes: dict[str, Any] = {"finding": finding, "responsible_staff": responsible_staff}
    if complaint.state in (ComplaintState.NEW, ComplaintState.ASSIGNED):
        changes["state"] = ComplaintState.IN_PROGRESS
    return _change(
        session=session,
        complaint=complaint,
        actor=actor,
        action="finding",
        expected_version=expected_version,
        changes=changes,
        now=now,
    )


def resolve(
    *,
    session: Session,
    complaint: Complaint,
    resolution: str,
    actor: str,
    expected_version: int,
    now: datetime,
) -> ComplaintEvent:
    resolution = resolution.strip()[:MAX_TEXT]
    if not resolution:
        raise TransitionError("describe the resolution")
    if complaint.finding is None:
        raise TransitionError("record the finding first")
    return _change(
        session=session,
        complaint=complaint,
        actor=actor,
        action="resolve",
        expected_version=expected_version,
        changes={"resolution": resolution, "state": ComplaintState.RESOLVED},
        now=now,
    )


@dataclass(frozen=True)
class CloseResult:
    complaint: Complaint
    notification: ComplaintNotification


def close(
    *,
    session: Session,
    complaint: Complaint,
    actor: str,
    expected_version: int,
    now: datetime,
    catalog: Catalog,
    deliver: Deliver,
) -> CloseResult:
    """Close the complaint and tell the complainant the outcome on their channel.

    The close is written (and the row locked) before the message goes out, so a
    supervisor who lost a race never sends one. A channel that cannot be reached is
    recorded as such in the notification, not retried here.
    """
    if complaint.finding is None or not complaint.resolution.strip():
        raise TransitionError("record the finding and the resolution before closing")
    _change(
        session=session,
        complaint=complaint,
        actor=actor,
        action="close",
        expected_version=expected_version,
        changes={"state": ComplaintState.CLOSED, "closed_at": to_utc(now)},
        now=now,
    )
    text = catalog.messages["closed"].format(
        ticket_no=complaint.ticket_no, resolution=complaint.resolution
    )
    delivery = deliver(complaint.sender_id, text)
    if delivery.status.value != "sent":
        logger.warning(
            "complaint %s: the complainant was not notified (%s: %s)",
            complaint.ticket_no,
            delivery.status.value,
            delivery.detail,
        )
    notification = ComplaintNotification(
        complaint_id=complaint.id,
        sender_id=complaint.sender_id,
        kind="closed",
        text=text,
        status=delivery.status.value,
        detail=delivery.detail[:200],
        created_at=to_utc(now),
    )
    session.add(notification)
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            actor="system",
            action="notified",
            before="{}",
            after=json.dumps({"status": delivery.status.value}),
            created_at=to_utc(now),
        )
    )
    session.flush()
    return CloseResult(complaint, notification)


def pending_survey(*, session: Session, sender_id: str) -> Complaint | None:
    """The sender's most recently closed complaint not yet rated."""
    return session.scalars(
        select(Complaint)
        .outerjoin(SurveyAnswer, SurveyAnswer.complaint_id == Complaint.id)
        .where(
            Complaint.sender_id == sender_id,
            Complaint.state == ComplaintState.CLOSED,
            SurveyAnswer.id.is_(None),
        )
        .order_by(Complaint.closed_at.desc(), Complaint.id.desc())
    ).first()


def answer_survey(
    *, session: Session, sender_id: str, score: int, now: datetime
) -> SurveyAnswer | None:
    """Store the sender's 1-5 rating for their closed complaint awaiting one; None if
    there is none to rate."""
    if not 1 <= score <= 5:
        raise ValueError("a satisfaction score is 1 to 5")
    complaint = pending_survey(session=session, sender_id=sender_id)
    if complaint is None:
        return None
    answer = SurveyAnswer(
        complaint_id=complaint.id, sender_id=sender_id, score=score, created_at=to_utc(now)
    )
    session.add(answer)
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            actor=sender_id,
            action="survey",
            before="{}",
            after=json.dumps({"score": score}),
            created_at=to_utc(now),
        )
    )
    session.flush()
    return answer


def is_overdue(complaint: Complaint, now: datetime) -> bool:
    """Not closed and past the time frame of its category."""
    return complaint.state is not ComplaintState.CLOSED and as_utc(complaint.due_at) < as_utc(now)
