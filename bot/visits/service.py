"""Home-visit use cases, one function each: where a family lives, whether a nurse is
free, booking a home infusion, registering elderly care, and seeing, cancelling and
moving bookings (the family's, the nurse's and the staff's lists).

Each function opens its own unit of work (`bot.infra.db.unit_of_work`), applies the rules of
`bot.visits` and returns plain data that stays valid after the session is closed; a
failed database leaves as `bot.infra.db.DatabaseUnavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.directory import find_department
from bot.infra.db import DatabaseUnavailable, session_scope, unit_of_work
from bot.infra.idempotency import retry_on_conflict
from bot.models import (
    BookingState,
    CareVisitKind,
    Community,
    ElderlyCareVisit,
    HalfDay,
    HomeVisitBooking,
)
from bot.visits.booking import (
    HOLDS_SLOT,
    BookingOutcome,
    ChangeOutcome,
    PatientDetails,
    SlotOffer,
    bookings_of,
    cancel_booking,
    find_booking,
    find_community,
    has_free_place,
    is_open,
    list_communities,
    may_see,
    next_free_slots,
    nurse_of,
    request_infusion,
    reschedule_booking,
    visits_on,
)
from bot.visits.elderly import care_visits_between, care_visits_of, ensure_care_schedules
from bot.visits.elderly import register_care as register_care_client
from bot.visits.eligibility import InfusionDecision, InfusionRequest, Outcome
from bot.visits.wording import patient_name, visit_flags

HEALTH_DEPARTMENT = "health"


@dataclass(frozen=True)
class AddressCheck:
    """The community that covers an address, or (none does) the communities served."""

    community_id: int | None
    served: tuple[str, ...] = ()


@dataclass(frozen=True)
class InfusionSubmission:
    """What became of a home-infusion request, and whom the family can call."""

    outcome: BookingOutcome
    offers: tuple[SlotOffer, ...]
    booking_no: str
    patient_name: str
    team: str
    team_phone: str
    nurse: str


@dataclass(frozen=True)
class CareRegistered:
    """An elderly-care client registered, their first visit booked and follow-ups set."""

    client_no: str
    name: str
    team: str
    team_phone: str
    follow_ups: tuple[date, ...]
    recheck: date | None


@dataclass(frozen=True)
class BookingSummary:
    """A home-infusion booking as the family sees it."""

    booking_no: str
    patient_name: str
    visit_date: date | None
    half_day: HalfDay | None
    state: BookingState


@dataclass(frozen=True)
class CareVisitSummary:
    """An elderly-care visit, as the family and the staff list it."""

    id: int
    client_no: str
    client_name: str
    client_phone: str
    client_address: str
    visit_date: date
    half_day: HalfDay
    kind: CareVisitKind
    service_items: str


@dataclass(frozen=True)
class SenderBookings:
    """The sender's recent bookings and coming care visits."""

    bookings: tuple[BookingSummary, ...]
    care_visits: tuple[CareVisitSummary, ...]


@dataclass(frozen=True)
class BookingChange:
    """A cancellation or a move of a booking; `outcome` None when no new time was given.
    `offers` are the next free half-days when the one asked was full."""

    booking_no: str
    outcome: ChangeOutcome | None
    offers: tuple[SlotOffer, ...] = ()


@dataclass(frozen=True)
class RescheduleTarget:
    """A booking its booker may move: where it stands now, and what a new half-day needs
    (a free nurse of the community's team, when it holds a nurse's place already)."""

    booking_no: str
    patient_name: str
    visit_date: date | None
    half_day: HalfDay | None
    community_id: str | None
    holds_place: bool


@dataclass(frozen=True)
class NurseVisit:
    """A home-infusion visit on a nurse's list."""

    day: date
    half_day: HalfDay
    booking_no: str
    nurse: str
    patient_name: str
    patient_phone: str
    patient_address: str
    drugs: str
    condition: str  # a PatientCondition value
    state: BookingState
    flags: str


@dataclass(frozen=True)
class DayVisits:
    """A day's home visits, for the staff's list."""

    day: date
    infusions: tuple[NurseVisit, ...]
    care_visits: tuple[CareVisitSummary, ...]


def check_address(*, address: str) -> AddressCheck:
    """Which community's team covers `address`."""
    with unit_of_work() as session:
        community = find_community(session=session, address=address)
        if community is None:
            return AddressCheck(None, tuple(c.name for c in list_communities(session=session)))
        return AddressCheck(community.id)


def offers_instead(
    *, community_id: str | None, day: date, half_day: HalfDay, now: datetime
) -> tuple[SlotOffer, ...] | None:
    """None when a nurse of the community's team is free that half-day (or the community
    is not known yet); else the next free half-days, maybe none."""
    with unit_of_work() as session:
        community = _community(session, community_id)
        if community is None:
            return None
        team = community.team
        if has_free_place(session=session, team=team, day=day, half_day=half_day):
            return None
        return next_free_slots(session=session, team=team, now=now, after=SlotOffer(day, half_day))


def submit_infusion(
    *,
    sender_id: str,
    channel: str,
    patient: PatientDetails | None,
    community_id: str | None,
    request: InfusionRequest,
    decision: InfusionDecision,
    day: date | None,
    half_day: HalfDay | None,
    now: datetime,
    family_notes: str,
) -> InfusionSubmission | None:
    """Record a home-infusion request as decided (`request_infusion`); None when the
    community of a request that was not refused is not known."""

    def record() -> InfusionSubmission | None:
        with session_scope() as session:
            community = _community(session, community_id)
            if community is None and decision.outcome is not Outcome.REFUSED:
                return None
            result = request_infusion(
                session=session,
                sender_id=sender_id,
                channel=channel,
                patient=patient,
                community=community,
                request=request,
                decision=decision,
                day=day,
                half_day=half_day,
                now=now,
                family_notes=family_notes,
            )
            booking = result.booking
            team, team_phone = _team_contact(session, community)
            return InfusionSubmission(
                outcome=result.outcome,
                offers=result.offers,
                booking_no=booking.booking_no if booking else "",
                patient_name=booking.patient.name if booking and booking.patient else "",
                team=team,
                team_phone=team_phone,
                nurse=booking.nurse.name if booking and booking.nurse else "",
            )

    try:
        # A repeated confirmation that races the first loses on the request key; the
        # second try finds the first one's booking (bot.visits.booking).
        return retry_on_conflict(record)
    except SQLAlchemyError as error:
        raise DatabaseUnavailable(type(error).__name__) from error


def register_care(
    *,
    sender_id: str,
    name: str,
    phone: str,
    address: str,
    community_id: str | None,
    items: list[str],
    day: date,
    half_day: HalfDay,
    now: datetime,
) -> CareRegistered | None:
    """Register an elderly person, book the first visit and schedule the follow-ups
    (`bot.visits.elderly.register_care`); None when the community is not known."""
    with unit_of_work() as session:
        community = _community(session, community_id)
        if community is None:
            return None
        registration = register_care_client(
            session=session,
            name=name,
            phone=phone,
            address=address,
            community=community,
            items=items,
            day=day,
            half_day=half_day,
            sender_id=sender_id,
            now=now,
        )
        recheck = registration.recheck
        return CareRegistered(
            client_no=registration.client.client_no,
            name=registration.client.name,
            team=community.team.name,
            team_phone=community.team.phone,
            follow_ups=tuple(v.visit_date for v in registration.follow_ups),
            recheck=recheck.visit_date if recheck else None,
        )


def sender_bookings(*, sender_id: str, now: datetime) -> SenderBookings:
    """The sender's recent home-infusion bookings and coming elderly-care visits."""
    with unit_of_work() as session:
        return SenderBookings(
            tuple(_summary(b) for b in bookings_of(session=session, sender_id=sender_id)),
            tuple(
                _care_summary(v)
                for v in care_visits_of(session=session, sender_id=sender_id, now=now)
            ),
        )


def booking_for_sender(*, sender_id: str, booking_no: str) -> BookingSummary | None:
    """The booking numbered `booking_no` if the sender may see it (the booker, or staff)."""
    with unit_of_work() as session:
        booking = _visible_booking(session, sender_id, booking_no)
        return _summary(booking) if booking else None


def cancel_for_sender(
    *, sender_id: str, booking_no: str | None, now: datetime
) -> BookingChange | None:
    """Cancel the booking named (if the sender may see it) or the sender's only open
    booking; None when there is no such booking."""
    with unit_of_work() as session:
        booking = _sender_booking(session, sender_id, booking_no)
        if booking is None:
            return None
        outcome = cancel_booking(session=session, booking=booking, actor=sender_id, now=now)
        return BookingChange(booking.booking_no, outcome)


def own_open_bookings(*, sender_id: str) -> list[RescheduleTarget]:
    """The sender's own bookings still to happen, which they may move."""
    with unit_of_work() as session:
        return [
            _target(booking)
            for booking in bookings_of(session=session, sender_id=sender_id)
            if is_open(booking) and booking.sender_id == sender_id
        ]


def own_open_booking(*, sender_id: str, booking_no: str) -> RescheduleTarget | None:
    """The booking numbered `booking_no` if the sender booked it and it is still to
    happen; staff see bookings (`may_see`) but only the booker moves one in chat."""
    with unit_of_work() as session:
        booking = find_booking(session=session, booking_no=booking_no)
        if booking is None or booking.sender_id != sender_id or not is_open(booking):
            return None
        return _target(booking)


def reschedule_for_sender(
    *,
    sender_id: str,
    booking_no: str | None,
    day: date | None,
    half_day: HalfDay | None,
    now: datetime,
) -> BookingChange | None:
    """Move the sender's own booking named (or their only open one) to `day` and
    `half_day` with a free nurse of the same team; None when there is no such booking."""
    with unit_of_work() as session:
        booking = _sender_booking(session, sender_id, booking_no)
        if booking is None or booking.sender_id != sender_id:
            return None
        if day is None or half_day is None:
            return BookingChange(booking.booking_no, None)
        outcome = reschedule_booking(
            session=session, booking=booking, day=day, half_day=half_day, actor=sender_id, now=now
        )
        offers = (
            next_free_slots(
                session=session,
                team=booking.community.team,
                now=now,
                after=SlotOffer(day, half_day),
            )
            if outcome is ChangeOutcome.FULL
            else ()
        )
        return BookingChange(booking.booking_no, outcome, offers)


def nurse_visits(*, sender_id: str, days: list[date]) -> list[NurseVisit] | None:
    """The bound nurse's home-infusion visits on `days`; None when the sender is not a
    bound nurse."""
    with unit_of_work() as session:
        nurse = nurse_of(session=session, sender_id=sender_id)
        if nurse is None:
            return None
        return [
            _nurse_visit(day, b)
            for day in days
            for b in visits_on(session=session, day=day, nurse_id=nurse.id)
        ]


def day_lists(*, days: list[date], now: datetime) -> list[DayVisits]:
    """Every home visit on `days`, infusions and elderly care, for the staff; the
    quarterly re-checks are scheduled first, so that each person's next one shows."""
    with unit_of_work() as session:
        ensure_care_schedules(session=session, now=now)
        return [
            DayVisits(
                day,
                tuple(_nurse_visit(day, b) for b in visits_on(session=session, day=day)),
                tuple(
                    _care_summary(v)
                    for v in care_visits_between(session=session, first=day, last=day)
                ),
            )
            for day in days
        ]


def _community(session: Session, community_id: str | None) -> Community | None:
    return session.get(Community, int(community_id)) if community_id else None


def _team_contact(session: Session, community: Community | None) -> tuple[str, str]:
    """Who the family can call: the covering team, or the health centre when the request
    was refused before the address was asked."""
    if community is not None:
        return community.team.name, community.team.phone
    centre = find_department(session=session, code=HEALTH_DEPARTMENT)
    return (centre.name, centre.phone) if centre else ("社区卫生服务中心", "")


def _visible_booking(session: Session, sender_id: str, booking_no: str) -> HomeVisitBooking | None:
    booking = find_booking(session=session, booking_no=booking_no)
    if booking is None or not may_see(session=session, booking=booking, sender_id=sender_id):
        return None
    return booking


def _sender_booking(
    session: Session, sender_id: str, booking_no: str | None
) -> HomeVisitBooking | None:
    """The booking named (if the sender may see it), or the sender's only open booking."""
    if booking_no is None:
        open_ones = [b for b in bookings_of(session=session, sender_id=sender_id) if is_open(b)]
        return open_ones[0] if len(open_ones) == 1 else None
    return _visible_booking(session, sender_id, booking_no)


def _target(booking: HomeVisitBooking) -> RescheduleTarget:
    return RescheduleTarget(
        booking.booking_no,
        patient_name(booking),
        booking.visit_date,
        booking.half_day,
        str(booking.community_id) if booking.community_id is not None else None,
        booking.state in HOLDS_SLOT,
    )


def _summary(booking: HomeVisitBooking) -> BookingSummary:
    return BookingSummary(
        booking.booking_no,
        patient_name(booking),
        booking.visit_date,
        booking.half_day,
        booking.state,
    )


def _care_summary(visit: ElderlyCareVisit) -> CareVisitSummary:
    client = visit.client
    return CareVisitSummary(
        id=visit.id,
        client_no=client.client_no,
        client_name=client.name,
        client_phone=client.phone,
        client_address=client.address,
        visit_date=visit.visit_date,
        half_day=visit.half_day,
        kind=visit.kind,
        service_items=visit.service_items,
    )


def _nurse_visit(day: date, booking: HomeVisitBooking) -> NurseVisit:
    assert booking.half_day is not None  # a visit on a list has its half-day
    patient = booking.patient
    return NurseVisit(
        day=day,
        half_day=booking.half_day,
        booking_no=booking.booking_no,
        nurse=booking.nurse.name if booking.nurse else "",
        patient_name=patient.name,
        patient_phone=patient.phone,
        patient_address=patient.address,
        drugs=booking.drug_names or booking.drug_text,
        condition=booking.condition,
        state=booking.state,
        flags=visit_flags(booking),
    )
