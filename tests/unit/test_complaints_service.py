"""The complaint use cases (bot.complaints.service) on the demo database: filing once,
the complainant's and a supervisor's view, the list the desk and a supervisor share, the
desk's steps up to closing, and the survey that follows."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.complaints import service, workflow
from bot.complaints.catalog import get_catalog
from bot.complaints.filing import ComplaintDraft, ComplaintError, find_complaint
from bot.complaints.queries import OPEN, ComplaintFilter
from bot.infra.db import session_scope
from bot.models import ComplaintState, StaffRole
from bot.notify import Delivery, DeliveryStatus
from bot.staff import create_invite, redeem_invite

NOW = datetime(2026, 11, 25, 15, 45, tzinfo=ZoneInfo("Asia/Shanghai"))
CUSTOMER = "tg:customer"
SUPERVISOR = "tg:supervisor"
DRAFT = ComplaintDraft("gas", "attitude", "抄表员态度很差,还骂人", contact="13900001111")


def file(draft: ComplaintDraft = DRAFT) -> str:
    filed = service.file_from_chat(
        draft=draft, sender_id=CUSTOMER, channel="telegram", now=NOW, catalog=get_catalog()
    )
    return filed.ticket_no


def bind_supervisor() -> None:
    with session_scope() as session:
        _, code = create_invite(session=session, name="王主管", role=StaffRole.SUPERVISOR, now=NOW)
        redeem_invite(session=session, sender_id=SUPERVISOR, code=code, now=NOW)


def version_of(ticket_no: str) -> int:
    with session_scope() as session:
        complaint = find_complaint(session=session, ticket_no=ticket_no)
        assert complaint is not None
        return int(complaint.version)


def step(ticket_no: str, desk_step: service.DeskStep) -> str | None:
    return service.take_desk_step(
        ticket_no=ticket_no,
        step=desk_step,
        actor="admin:wang",
        expected_version=version_of(ticket_no),
        now=NOW,
        catalog=get_catalog(),
        deliver=lambda sender, text: Delivery(DeliveryStatus.SENT),
    )


def test_a_complaint_confirmed_twice_is_filed_once(service_database):
    first, again = file(), file()
    assert first == again
    [mine] = service.sender_complaints(sender_id=CUSTOMER)
    assert (mine.ticket_no, mine.state, mine.department) == (first, ComplaintState.NEW, "gas")


def test_a_draft_without_a_description_is_refused(service_database):
    with pytest.raises(ComplaintError):
        file(ComplaintDraft("gas", "attitude", ""))
    assert service.sender_complaints(sender_id=CUSTOMER) == []


def test_a_complaint_is_shown_to_its_complainant_and_in_full_to_a_supervisor(service_database):
    ticket = file()
    own = service.complaint_status(sender_id=CUSTOMER, ticket_no=ticket)
    assert own is not None and not own.for_supervisor
    assert service.complaint_status(sender_id="tg:stranger", ticket_no=ticket) is None
    assert not service.is_supervisor(sender_id=SUPERVISOR)
    bind_supervisor()
    assert service.is_supervisor(sender_id=SUPERVISOR)
    full = service.complaint_status(sender_id=SUPERVISOR, ticket_no=ticket)
    assert full is not None and full.for_supervisor
    assert full.complaint.description == DRAFT.description


def test_the_open_list_holds_the_new_complaint_and_not_the_closed_one(service_database):
    ticket = file()
    [row] = service.find_complaints(filters=ComplaintFilter(state=OPEN), now=NOW)
    assert row.complaint.ticket_no == ticket and not row.overdue
    assert step(ticket, service.DeskStep("assign", assignee="李四")) == "done_assign"
    assert step(ticket, service.DeskStep("start")) == "done_start"
    finding = service.DeskStep("finding", finding="unsubstantiated")
    assert step(ticket, finding) == "done_finding"
    assert step(ticket, service.DeskStep("resolve", resolution="已回访解释")) == "done_resolve"
    assert step(ticket, service.DeskStep("close")) == "closed_sent"
    assert service.find_complaints(filters=ComplaintFilter(state=OPEN), now=NOW) == []
    [closed] = service.find_complaints(filters=ComplaintFilter(), now=NOW)
    assert closed.complaint.state is ComplaintState.CLOSED
    assert service.survey_answer(sender_id=CUSTOMER, score=5, now=NOW) == ticket
    assert service.survey_answer(sender_id=CUSTOMER, score=5, now=NOW) is None


def test_a_desk_step_refused_or_stale_raises_and_an_unknown_ticket_is_none(service_database):
    ticket = file()
    with pytest.raises(workflow.TransitionError):
        step(ticket, service.DeskStep("finding", finding="maybe"))
    with pytest.raises(workflow.ComplaintChanged):
        service.take_desk_step(
            ticket_no=ticket,
            step=service.DeskStep("start"),
            actor="admin:wang",
            expected_version=version_of(ticket) + 1,
            now=NOW,
            catalog=get_catalog(),
            deliver=lambda sender, text: Delivery(DeliveryStatus.SENT),
        )
    with pytest.raises(workflow.TransitionError):  # nobody is assigned yet
        step(ticket, service.DeskStep("start"))
    assert step(ticket, service.DeskStep("assign", assignee="李四")) == "done_assign"
    assert (
        service.take_desk_step(
            ticket_no="TS-NONE",
            step=service.DeskStep("start"),
            actor="admin:wang",
            expected_version=1,
            now=NOW,
            catalog=get_catalog(),
            deliver=lambda sender, text: Delivery(DeliveryStatus.SENT),
        )
        is None
    )


def test_praise_is_logged_with_the_service_it_names(service_database):
    praise_id, department = service.praise_from_chat(
        sender_id=CUSTOMER,
        channel="telegram",
        text="燃气抄表员很负责",
        now=NOW,
        catalog=get_catalog(),
    )
    assert praise_id > 0 and department == "gas"
