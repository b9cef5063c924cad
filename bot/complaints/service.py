"""Complaint use cases, one function each: filing from the chat, a complainant's or a
supervisor's view of a complaint, the list of complaints (the desk's and a supervisor's
in the chat), the desk's steps of the workflow, praise and the satisfaction survey.

Each function opens its own unit of work (`bot.infra.db.unit_of_work`), applies the rules of
`bot.complaints` and returns plain data that stays valid after the session is closed; a
failed database leaves as `bot.infra.db.DatabaseUnavailable`. The desk passes its own engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.complaints import workflow
from bot.complaints.catalog import Catalog
from bot.complaints.filing import (
    ComplaintDraft,
    complaint_for_sender,
    complaints_of,
    file_complaint,
    find_complaint,
    record_praise,
)
from bot.complaints.queries import ComplaintFilter, list_complaints
from bot.infra.db import unit_of_work
from bot.models import Complaint, ComplaintFinding, ComplaintState, StaffRole
from bot.staff import staff_member


@dataclass(frozen=True)
class ComplaintView:
    """A complaint as the complainant, a supervisor and the desk's list see it (the
    attribute names are the model's, so that templates read either)."""

    ticket_no: str
    department: str
    category: str
    state: ComplaintState
    description: str
    assignee: str
    resolution: str
    created_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class ComplaintRow:
    """A complaint in a list, and whether it is past its due time."""

    complaint: ComplaintView
    overdue: bool


@dataclass(frozen=True)
class FiledComplaint:
    ticket_no: str
    due_at: datetime


@dataclass(frozen=True)
class StatusAnswer:
    """A complaint shown to the sender who filed it, or (`for_supervisor`) in full to a
    bound supervisor."""

    complaint: ComplaintView
    for_supervisor: bool


@dataclass(frozen=True)
class DeskStep:
    """A step of the workflow taken on the desk, with what the form gave for it."""

    action: str  # assign, start, finding, resolve, close
    assignee: str = ""
    finding: str = ""
    responsible_staff: str = ""
    resolution: str = ""


def file_from_chat(
    *,
    draft: ComplaintDraft,
    sender_id: str,
    channel: str,
    now: datetime,
    catalog: Catalog,
) -> FiledComplaint:
    """Log a confirmed complaint once, however often the confirmation comes
    (`file_complaint`; ComplaintError for a draft that lacks something)."""
    with unit_of_work() as session:
        complaint = file_complaint(
            session=session,
            draft=draft,
            sender_id=sender_id,
            channel=channel,
            now=now,
            catalog=catalog,
        )
        return FiledComplaint(complaint.ticket_no, complaint.due_at)


def sender_complaints(*, sender_id: str) -> list[ComplaintView]:
    """The complaints this sender filed, newest first."""
    with unit_of_work() as session:
        return [_view(c) for c in complaints_of(session=session, sender_id=sender_id)]


def complaint_status(*, sender_id: str, ticket_no: str) -> StatusAnswer | None:
    """The complaint numbered `ticket_no`, for the sender who filed it or a bound
    supervisor; None when it is not there or is someone else's (the same answer)."""
    with unit_of_work() as session:
        complaint = complaint_for_sender(session=session, ticket_no=ticket_no, sender_id=sender_id)
        if complaint is None:
            return None
        return StatusAnswer(_view(complaint), _is_supervisor(session, sender_id))


def is_supervisor(*, sender_id: str) -> bool:
    """Whether the sender is a bound supervisor."""
    with unit_of_work() as session:
        return _is_supervisor(session, sender_id)


def find_complaints(
    *, filters: ComplaintFilter, now: datetime, engine: Engine | None = None
) -> list[ComplaintRow]:
    """Complaints matching the filters, the most urgent first: the desk's list and a
    supervisor's list in the chat."""
    with unit_of_work(engine) as session:
        return [
            ComplaintRow(_view(c), workflow.is_overdue(c, now))
            for c in list_complaints(session=session, filters=filters, now=now)
        ]


def take_desk_step(
    *,
    ticket_no: str,
    step: DeskStep,
    actor: str,
    expected_version: int,
    now: datetime,
    catalog: Catalog,
    deliver: workflow.Deliver,
    engine: Engine | None = None,
) -> str | None:
    """Take a step of the workflow on a complaint; the key of the message that says how
    it went, or None when there is no such complaint. Raises workflow.ComplaintChanged
    when someone changed the complaint since `expected_version`, and
    workflow.TransitionError for a step that is not allowed or lacks something."""
    with unit_of_work(engine) as session:
        complaint = find_complaint(session=session, ticket_no=ticket_no)
        if complaint is None:
            return None
        common = {
            "session": session,
            "complaint": complaint,
            "actor": actor,
            "expected_version": expected_version,
            "now": now,
        }
        if step.action == "assign":
            workflow.assign(assignee=step.assignee, **common)
        elif step.action == "start":
            workflow.start(**common)
        elif step.action == "finding":
            if step.finding not in {f.value for f in ComplaintFinding}:
                raise workflow.TransitionError("finding")
            workflow.record_finding(
                finding=ComplaintFinding(step.finding),
                responsible_staff=step.responsible_staff,
                **common,
            )
        elif step.action == "resolve":
            workflow.resolve(resolution=step.resolution, **common)
        elif step.action == "close":
            result = workflow.close(catalog=catalog, deliver=deliver, **common)
            return f"closed_{result.notification.status}"
    return f"done_{step.action}"


def praise_from_chat(
    *, sender_id: str, channel: str, text: str, now: datetime, catalog: Catalog
) -> tuple[int, str]:
    """Log praise for the incentive scheme (`record_praise`); its id and department."""
    with unit_of_work() as session:
        praise = record_praise(
            session=session,
            sender_id=sender_id,
            channel=channel,
            text=text,
            now=now,
            catalog=catalog,
        )
        return praise.id, praise.department


def survey_answer(*, sender_id: str, score: int, now: datetime) -> str | None:
    """Store the 1-5 answer for the sender's closed complaint awaiting one; its ticket
    number, or None when none awaits an answer."""
    with unit_of_work() as session:
        answer = workflow.answer_survey(session=session, sender_id=sender_id, score=score, now=now)
        return answer.complaint.ticket_no if answer else None


def _is_supervisor(session: Session, sender_id: str) -> bool:
    member = staff_member(session=session, sender_id=sender_id)
    return member is not None and member.role is StaffRole.SUPERVISOR


def _view(complaint: Complaint) -> ComplaintView:
    return ComplaintView(
        ticket_no=complaint.ticket_no,
        department=complaint.department,
        category=complaint.category,
        state=complaint.state,
        description=complaint.description,
        assignee=complaint.assignee or "",
        resolution=complaint.resolution or "",
        created_at=complaint.created_at,
        due_at=complaint.due_at,
    )
