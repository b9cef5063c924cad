"""The home-visit use cases (bot.visits.service) on the demo database: the covering
community, a booking made, seen only by its family and its nurse, moved and cancelled;
an elderly-care registration; the nurse's and the staff's lists showing the same visit."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.infra.db import session_scope
from bot.models import BookingState, HalfDay, Nurse, StaffRole
from bot.staff import create_invite, redeem_invite
from bot.visits import service
from bot.visits.booking import BookingOutcome, ChangeOutcome, PatientDetails
from bot.visits.drugs import default_catalogue
from bot.visits.eligibility import (
    DrugSource,
    Health,
    InfusionRequest,
    PatientCondition,
    check_infusion_eligibility,
)

NOW = datetime(2026, 11, 25, 15, 45, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday
TOMORROW = date(2026, 11, 26)
FAMILY = "web:family"
ADDRESS = "幸福小区3栋201"
ORDINARY = InfusionRequest(
    condition=PatientCondition.BEDRIDDEN,
    has_doctor_order=True,
    drug_text="葡萄糖氯化钠",
    drug_source=DrugSource.PRESCRIBED_HERE,
    health=Health.NONE,
)


def book(request: InfusionRequest = ORDINARY) -> service.InfusionSubmission:
    check = service.check_address(address=ADDRESS)
    assert check.community_id is not None
    decision = check_infusion_eligibility(request, default_catalogue())
    submitted = service.submit_infusion(
        sender_id=FAMILY,
        channel="rest",
        patient=PatientDetails("李大爷", "19912345678", ADDRESS),
        community_id=str(check.community_id),
        request=request,
        decision=decision,
        day=TOMORROW,
        half_day=HalfDay.MORNING,
        now=NOW,
        family_notes="",
    )
    assert submitted is not None
    return submitted


def test_an_address_outside_every_community_lists_those_served(service_database):
    assert service.check_address(address=ADDRESS).community_id is not None
    outside = service.check_address(address="火星路1号")
    assert outside.community_id is None and outside.served


def test_a_booking_is_made_with_a_nurse_of_the_covering_team(service_database):
    submitted = book()
    assert submitted.outcome is BookingOutcome.AWAITING_CONSENT
    assert submitted.booking_no and submitted.nurse and submitted.team_phone
    assert submitted.patient_name == "李大爷"


def test_a_refused_request_without_an_address_gives_the_health_centre(service_database):
    request = InfusionRequest(condition=PatientCondition.NONE)
    decision = check_infusion_eligibility(request, default_catalogue())
    submitted = service.submit_infusion(
        sender_id=FAMILY,
        channel="rest",
        patient=None,
        community_id=None,
        request=request,
        decision=decision,
        day=None,
        half_day=None,
        now=NOW,
        family_notes="",
    )
    assert submitted is not None
    assert submitted.outcome is BookingOutcome.REFUSED
    assert submitted.team and submitted.nurse == ""


def test_a_booking_is_seen_only_by_its_family(service_database):
    booking_no = book().booking_no
    seen = service.booking_for_sender(sender_id=FAMILY, booking_no=booking_no)
    assert seen is not None
    assert (seen.patient_name, seen.visit_date, seen.half_day) == (
        "李大爷",
        TOMORROW,
        HalfDay.MORNING,
    )
    assert service.booking_for_sender(sender_id="web:other", booking_no=booking_no) is None
    assert [b.booking_no for b in service.sender_bookings(sender_id=FAMILY, now=NOW).bookings] == [
        booking_no
    ]


def test_the_only_open_booking_is_moved_then_cancelled(service_database):
    booking_no = book().booking_no
    asked = service.reschedule_for_sender(
        sender_id=FAMILY, booking_no=None, day=None, half_day=None, now=NOW
    )
    assert asked == service.BookingChange(booking_no, None)
    moved = service.reschedule_for_sender(
        sender_id=FAMILY, booking_no=None, day=TOMORROW, half_day=HalfDay.AFTERNOON, now=NOW
    )
    assert moved is not None and moved.outcome is ChangeOutcome.DONE
    cancelled = service.cancel_for_sender(sender_id=FAMILY, booking_no=booking_no, now=NOW)
    assert cancelled == service.BookingChange(booking_no, ChangeOutcome.DONE)
    assert service.cancel_for_sender(sender_id=FAMILY, booking_no=None, now=NOW) is None
    assert service.cancel_for_sender(sender_id="web:other", booking_no=booking_no, now=NOW) is None


def test_the_nurse_and_the_staff_list_the_same_visit(service_database):
    submitted = book()
    assert service.nurse_visits(sender_id="tg:nurse", days=[TOMORROW]) is None
    with session_scope() as session:
        nurse = session.scalars(select(Nurse).where(Nurse.name == submitted.nurse)).one()
        invite, code = create_invite(session=session, name=nurse.name, role=StaffRole.NURSE)
        nurse.invite_id = invite.id
        session.flush()
        redeem_invite(session=session, sender_id="tg:nurse", code=code)
    [visit] = service.nurse_visits(sender_id="tg:nurse", days=[TOMORROW]) or []
    assert (visit.booking_no, visit.patient_name, visit.state) == (
        submitted.booking_no,
        "李大爷",
        BookingState.AWAITING_CONSENT,
    )
    [day] = service.day_lists(days=[TOMORROW], now=NOW)
    assert visit in day.infusions


def test_an_elderly_care_registration_books_the_first_visit(service_database):
    check = service.check_address(address=ADDRESS)
    registered = service.register_care(
        sender_id=FAMILY,
        name="王奶奶",
        phone="19912345679",
        address=ADDRESS,
        community_id=str(check.community_id),
        items=["助浴"],
        day=TOMORROW,
        half_day=HalfDay.MORNING,
        now=NOW,
    )
    assert registered is not None
    assert registered.client_no and registered.name == "王奶奶" and registered.team
    assert (
        service.register_care(
            sender_id=FAMILY,
            name="王奶奶",
            phone="19912345679",
            address=ADDRESS,
            community_id=None,
            items=["助浴"],
            day=TOMORROW,
            half_day=HalfDay.MORNING,
            now=NOW,
        )
        is None
    )
    care = service.sender_bookings(sender_id=FAMILY, now=NOW).care_visits
    assert care and care[0].client_name == "王奶奶"


def test_a_half_day_with_a_free_nurse_needs_no_other_offer(service_database):
    check = service.check_address(address=ADDRESS)
    community_id = str(check.community_id)
    assert (
        service.offers_instead(
            community_id=community_id, day=TOMORROW, half_day=HalfDay.MORNING, now=NOW
        )
        is None
    )
    assert (
        service.offers_instead(community_id=None, day=TOMORROW, half_day=HalfDay.MORNING, now=NOW)
        is None
    )
