"""Home-infusion bookings (服务管理制度6): the covering team, a nurse's half-day slot, the
booking number, and the booking's state machine with every change logged.

A slot is claimed with one conditional UPDATE (`booked = booked + 1 WHERE booked <
capacity`) on the nurse's half-day row. On PostgreSQL a second request waits for the row
lock and then finds the place taken; SQLite runs writers one at a time. Either way two
requests for the last place cannot both win.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.infra.clock import local_zone
from bot.infra.idempotency import request_key
from bot.infra.numbering import random_number
from bot.models import (
    BookingEvent,
    BookingState,
    CareTeam,
    Community,
    HalfDay,
    HomeVisitBooking,
    Nurse,
    NurseSlot,
    Patient,
    StaffMember,
    StaffRole,
)
from bot.organisation import get_organisation
from bot.visits.drugs import normalize_drug_text
from bot.visits.eligibility import ExplanationCode, InfusionDecision, InfusionRequest, Outcome

BOOKING_PREFIX = "SY"
ASSISTANT = "assistant"
_BOOKING_NO = re.compile(rf"{BOOKING_PREFIX}\s*(\d{{8}})\s*-?\s*(\d{{5}})", re.IGNORECASE)

_S = BookingState
TRANSITIONS: dict[BookingState, frozenset[BookingState]] = {
    _S.REQUESTED: frozenset({_S.BOOKED, _S.REFUSED, _S.CANCELLED}),
    _S.BOOKED: frozenset({_S.AWAITING_CONSENT, _S.CANCELLED}),
    _S.AWAITING_CONSENT: frozenset({_S.CONSENT_RECORDED, _S.CANCELLED}),
    _S.CONSENT_RECORDED: frozenset({_S.DONE, _S.CANCELLED}),
    _S.DONE: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.REFUSED: frozenset(),
}
# States in which a booking holds a place in a nurse's half-day.
HOLDS_SLOT = frozenset({_S.BOOKED, _S.AWAITING_CONSENT, _S.CONSENT_RECORDED})
# Staff who may see and change anyone's booking.
# Health data: the centre's nurses and supervisors, not every staff role (staff-only
# regulations are for all staff; patients' bookings are not).
BOOKING_STAFF_ROLES = frozenset({StaffRole.NURSE, StaffRole.SUPERVISOR})


class InvalidTransition(ValueError):
    """The booking cannot move to that state from the one it is in."""


class VisitTimeProblem(str, enum.Enum):
    PAST = "past"
    TOO_FAR = "too_far"
    STARTED = "started"  # today's half-day has begun


class BookingOutcome(str, enum.Enum):
    AWAITING_CONSENT = "awaiting_consent"  # booked with a nurse; consent form to sign
    REVIEW = "review"  # recorded as requested, for the pharmacist
    REFUSED = "refused"
    FULL = "full"  # nothing written; `offers` holds the next free half-days


@dataclass(frozen=True)
class SlotOffer:
    day: date
    half_day: HalfDay

    @property
    def key(self) -> tuple[date, bool]:
        """Sorts half-days in time order."""
        return self.day, self.half_day is HalfDay.AFTERNOON


@dataclass(frozen=True)
class BookingResult:
    outcome: BookingOutcome
    booking: HomeVisitBooking | None = None
    offers: tuple[SlotOffer, ...] = ()


@dataclass(frozen=True)
class PatientDetails:
    name: str
    phone: str
    address: str


def find_booking_no(text: str) -> str | None:
    """The booking number in a message ("sy20261126 00012" -> SY20261126-00012), or None."""
    match = _BOOKING_NO.search(text or "")
    return f"{BOOKING_PREFIX}{match.group(1)}-{match.group(2)}" if match else None


def without_booking_no(text: str) -> str:
    """The text with any booking number taken out (its digits are not a date)."""
    return _BOOKING_NO.sub(" ", text or "")


def find_community(*, session: Session, address: str) -> Community | None:
    """The community whose name or address keyword the address names (the longest wins)."""
    text = normalize_drug_text(address)
    best: tuple[int, Community] | None = None
    for community in session.scalars(select(Community).order_by(Community.id)):
        for word in (community.name, *community.keywords):
            key = normalize_drug_text(word)
            if key and key in text and (best is None or len(key) > best[0]):
                best = (len(key), community)
    return best[1] if best else None


def advance_days() -> int:
    """How many days ahead of today a visit may be booked: the centre's setting
    (data/organisation.yml), not a rule of the regulations."""
    return get_organisation().home_visits.advance_days


def half_day_start(half_day: HalfDay) -> time:
    """When a nurse's half-day begins (the centre's setting); once begun it cannot be booked."""
    return get_organisation().home_visits.half_day_starts[half_day.value]


def check_visit_time(day: date, half_day: HalfDay | None, now: datetime) -> VisitTimeProblem | None:
    """Why a visit cannot be booked for that day and half-day, or None if it can."""
    local = now.astimezone(local_zone())
    if day < local.date():
        return VisitTimeProblem.PAST
    if day > local.date() + timedelta(days=advance_days()):
        return VisitTimeProblem.TOO_FAR
    if day == local.date():
        starts = [half_day_start(h) for h in ([half_day] if half_day else list(HalfDay))]
        if all(local.time() >= start for start in starts):
            return VisitTimeProblem.STARTED
    return None


def transition(
    booking: HomeVisitBooking, to: BookingState, *, actor: str, now: datetime, note: str = ""
) -> BookingEvent:
    """Move the booking to `to` and log the change; raises InvalidTransition."""
    if to not in TRANSITIONS[booking.state]:
        raise InvalidTransition(f"{booking.booking_no}: {booking.state.value} -> {to.value}")
    return _log(booking, to, actor=actor, now=now, note=note)


def _log(
    booking: HomeVisitBooking, to: BookingState, *, actor: str, now: datetime, note: str = ""
) -> BookingEvent:
    event = BookingEvent(
        from_state=booking.state, to_state=to, actor=actor, note=note[:300], created_at=now
    )
    booking.events.append(event)
    booking.state = to
    booking.updated_at = now
    return event


def _ensure_slot_row(session: Session, nurse_id: int, day: date, half_day: HalfDay) -> None:
    """Create the nurse's half-day row if missing; a concurrent creator is not an error."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(NurseSlot)
        .values(nurse_id=nurse_id, visit_date=day, half_day=half_day, booked=0)
        .on_conflict_do_nothing(index_elements=["nurse_id", "visit_date", "half_day"])
    )
    session.execute(statement)


def _claim(session: Session, nurse: Nurse, day: date, half_day: HalfDay) -> bool:
    _ensure_slot_row(session, nurse.id, day, half_day)
    claimed = session.execute(
        update(NurseSlot)
        .where(
            NurseSlot.nurse_id == nurse.id,
            NurseSlot.visit_date == day,
            NurseSlot.half_day == half_day,
            NurseSlot.booked < nurse.capacity_per_half_day,
        )
        .values(booked=NurseSlot.booked + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(claimed == 1)


def _release(session: Session, booking: HomeVisitBooking) -> None:
    if booking.nurse_id is None or booking.visit_date is None or booking.half_day is None:
        return
    session.execute(
        update(NurseSlot)
        .where(
            NurseSlot.nurse_id == booking.nurse_id,
            NurseSlot.visit_date == booking.visit_date,
            NurseSlot.half_day == booking.half_day,
            NurseSlot.booked > 0,
        )
        .values(booked=NurseSlot.booked - 1)
        .execution_options(synchronize_session=False)
    )


def _loads(
    session: Session, nurses: Iterable[Nurse], days: Iterable[date]
) -> dict[tuple[int, date, HalfDay], int]:
    rows = session.execute(
        select(
            NurseSlot.nurse_id, NurseSlot.visit_date, NurseSlot.half_day, NurseSlot.booked
        ).where(
            NurseSlot.nurse_id.in_([nurse.id for nurse in nurses]),
            NurseSlot.visit_date.in_(list(days)),
        )
    ).all()
    return {(row[0], row[1], row[2]): row[3] for row in rows}


def claim_nurse(*, session: Session, team: CareTeam, day: date, half_day: HalfDay) -> Nurse | None:
    """A nurse of the team with a free place that half-day, the least busy first; the
    place is taken for the caller's transaction. None when the team is full."""
    nurses = list(team.nurses)
    loads = _loads(session, nurses, [day])
    nurses.sort(key=lambda n: (loads.get((n.id, day, half_day), 0), n.id))
    for nurse in nurses:
        if _claim(session, nurse, day, half_day):
            return nurse
    return None


def next_free_slots(
    *,
    session: Session,
    team: CareTeam,
    now: datetime,
    after: SlotOffer | None = None,
    limit: int = 3,
) -> tuple[SlotOffer, ...]:
    """The next half-days within the booking window when a nurse of the team is free."""
    today = now.astimezone(local_zone()).date()
    days = [today + timedelta(days=n) for n in range(advance_days() + 1)]
    loads = _loads(session, team.nurses, days)
    offers: list[SlotOffer] = []
    for day in days:
        for half_day in HalfDay:
            offer = SlotOffer(day, half_day)
            if after and offer.key <= after.key:
                continue
            if check_visit_time(day, half_day, now) is not None:
                continue
            if any(
                loads.get((n.id, day, half_day), 0) < n.capacity_per_half_day for n in team.nurses
            ):
                offers.append(offer)
                if len(offers) == limit:
                    return tuple(offers)
    return tuple(offers)


def _patient(
    session: Session, details: PatientDetails, community: Community, sender_id: str
) -> Patient:
    patient = session.scalars(
        select(Patient).where(Patient.name == details.name, Patient.phone == details.phone)
    ).first()
    if patient is None:
        patient = Patient(name=details.name, phone=details.phone, created_by=sender_id)
        session.add(patient)
    patient.address, patient.community_id = details.address, community.id
    return patient


def _new_booking_no(session: Session, booking: HomeVisitBooking, now: datetime) -> None:
    """A booking number not guessable from another one (`bot.infra.numbering`)."""
    day = now.astimezone(local_zone()).date()
    booking.booking_no = random_number(session, HomeVisitBooking.booking_no, BOOKING_PREFIX, day)
    session.flush()


def request_infusion(
    *,
    session: Session,
    sender_id: str,
    channel: str,
    patient: PatientDetails | None,
    community: Community | None,
    request: InfusionRequest,
    decision: InfusionDecision,
    day: date | None,
    half_day: HalfDay | None,
    now: datetime,
    family_notes: str = "",
) -> BookingResult:
    """Record the request as the rules decided it: refused; requested for the pharmacist's
    review; or booked with a nurse of the covering team and awaiting the consent form.
    When that half-day is full nothing is written and the next free half-days are offered.

    A refusal may come before any personal detail was asked: it is kept with no patient
    and no community. Anything but a refusal needs both, and an `INCOMPLETE` decision is
    never recorded (ValueError): nothing is booked on half the facts.

    Idempotent: the same request from the same sender on the same local day (a
    confirmation sent again) returns the booking it made, and takes no second place. When
    two repeats race, the loser's flush raises `IntegrityError` (the request key is
    unique) and its transaction, nurse place included, must be rolled back; run the unit
    of work again and it finds the winner's booking."""
    if decision.outcome is Outcome.INCOMPLETE:
        raise ValueError("an incomplete infusion request is never recorded")
    if decision.outcome is not Outcome.REFUSED and (patient is None or community is None):
        raise ValueError("only a refusal is recorded without the patient and the community")
    key = request_key(
        "infusion",
        sender_id,
        now.astimezone(local_zone()).date(),
        patient.name if patient else None,
        patient.phone if patient else None,
        patient.address if patient else None,
        request.condition.value if request.condition else None,
        request.has_doctor_order,
        request.drug_text,
        request.drug_source.value if request.drug_source else None,
        request.first_dose.value if request.first_dose else None,
        request.medical_record,
        request.health.value if request.health else None,
        day,
        half_day.value if half_day else None,
    )
    existing = _booking_with_key(session, key)
    if existing is not None and existing.state is _S.CANCELLED:
        existing.request_key = None  # cancelled, then asked for again: a new booking
        session.flush()
    elif existing is not None:
        return _result_of(existing)
    return _record_infusion(
        session,
        sender_id,
        channel,
        patient,
        community,
        request,
        decision,
        day,
        half_day,
        now,
        key,
        family_notes,
    )


def _booking_with_key(session: Session, key: str) -> HomeVisitBooking | None:
    return session.scalars(
        select(HomeVisitBooking).where(HomeVisitBooking.request_key == key)
    ).first()


def _result_of(booking: HomeVisitBooking) -> BookingResult:
    """What the request that made `booking` was answered."""
    if booking.state is _S.REFUSED:
        return BookingResult(BookingOutcome.REFUSED, booking)
    if booking.state is _S.REQUESTED:
        return BookingResult(BookingOutcome.REVIEW, booking)
    return BookingResult(BookingOutcome.AWAITING_CONSENT, booking)


def _record_infusion(
    session: Session,
    sender_id: str,
    channel: str,
    patient: PatientDetails | None,
    community: Community | None,
    request: InfusionRequest,
    decision: InfusionDecision,
    day: date | None,
    half_day: HalfDay | None,
    now: datetime,
    key: str,
    family_notes: str,
) -> BookingResult:
    nurse = None
    if decision.outcome is Outcome.ELIGIBLE:
        assert community is not None  # checked by request_infusion
        if day is None or half_day is None:
            raise ValueError("an eligible booking needs a day and a half-day")
        nurse = claim_nurse(session=session, team=community.team, day=day, half_day=half_day)
        if nurse is None:
            offers = next_free_slots(
                session=session, team=community.team, now=now, after=SlotOffer(day, half_day)
            )
            return BookingResult(BookingOutcome.FULL, offers=offers)
    booking = HomeVisitBooking(
        request_key=key,
        patient=_patient(session, patient, community, sender_id) if patient and community else None,
        sender_id=sender_id,
        channel=channel,
        community_id=community.id if community else None,
        visit_date=day,
        half_day=half_day,
        condition=request.condition.value if request.condition else "",
        has_doctor_order=bool(request.has_doctor_order),
        drug_text=(request.drug_text or "")[:200],
        drug_names="、".join(drug.name for drug in decision.drugs)[:300],
        drug_source=request.drug_source.value if request.drug_source else "",
        first_dose_without_reaction=request.first_dose_without_reaction,
        medical_record=request.medical_record,
        health=request.health.value if request.health else None,
        family_notes=family_notes[:300],
        outcome=decision.outcome.value,
        reasons=",".join(code.value for code in decision.codes),
        state=BookingState.REQUESTED,
        created_at=now,
        updated_at=now,
    )
    session.add(booking)
    booking.events.append(
        BookingEvent(from_state=None, to_state=_S.REQUESTED, actor=sender_id, created_at=now)
    )
    _new_booking_no(session, booking, now)
    if decision.outcome is Outcome.REFUSED:
        transition(booking, _S.REFUSED, actor=ASSISTANT, now=now, note=booking.reasons)
        return BookingResult(BookingOutcome.REFUSED, booking)
    if decision.outcome is Outcome.NEEDS_REVIEW:
        booking.review_note = _review_note(decision, request)
        return BookingResult(BookingOutcome.REVIEW, booking)
    assert nurse is not None
    booking.nurse = nurse
    transition(booking, _S.BOOKED, actor=ASSISTANT, now=now, note=f"nurse {nurse.id}")
    transition(booking, _S.AWAITING_CONSENT, actor=ASSISTANT, now=now)
    session.flush()
    return BookingResult(BookingOutcome.AWAITING_CONSENT, booking)


def _review_note(decision: InfusionDecision, request: InfusionRequest) -> str:
    """What the centre checks before the visit can be booked (approve_review)."""
    notes = []
    if ExplanationCode.UNKNOWN_DRUG in decision.codes:
        words = "、".join(decision.unknown_drugs) or "未写明药名"
        said = (request.drug_text or "")[:80]
        notes.append(f"药剂人员审核：未能在药品表中确认「{words[:60]}」（家属所写：{said}）")
    if ExplanationCode.HEALTH_REVIEW in decision.codes:
        notes.append("医生核实：家属提到患者的健康情况，须确认无禁忌症")
    return ";".join(notes)[:300]


def find_booking(*, session: Session, booking_no: str) -> HomeVisitBooking | None:
    return session.scalars(
        select(HomeVisitBooking).where(HomeVisitBooking.booking_no == booking_no.upper())
    ).first()


def may_see(*, session: Session, booking: HomeVisitBooking, sender_id: str | None) -> bool:
    """Only the sender who booked it, a bound nurse of the team that covers the patient's
    community, or a bound supervisor of the centre may see or change a booking."""
    if not sender_id:
        return False
    if booking.sender_id == sender_id:
        return True
    member = session.scalars(select(StaffMember).where(StaffMember.sender_id == sender_id)).first()
    if member is None or member.role not in BOOKING_STAFF_ROLES:
        return False
    if member.role is StaffRole.SUPERVISOR:
        return True
    nurse = nurse_of(session=session, sender_id=sender_id)
    community = session.get(Community, booking.community_id)
    return nurse is not None and community is not None and nurse.team_id == community.team_id


def bookings_of(*, session: Session, sender_id: str, limit: int = 5) -> list[HomeVisitBooking]:
    """The sender's most recent bookings, newest first."""
    return list(
        session.scalars(
            select(HomeVisitBooking)
            .where(HomeVisitBooking.sender_id == sender_id)
            .order_by(HomeVisitBooking.id.desc())
            .limit(limit)
        )
    )


class ChangeOutcome(str, enum.Enum):
    DONE = "done"
    FINAL = "final"  # already done, cancelled or refused
    PAST = "past"  # the visit day has gone
    FULL = "full"
    INVALID_TIME = "invalid_time"


def cancel_booking(
    *, session: Session, booking: HomeVisitBooking, actor: str, now: datetime, note: str = ""
) -> ChangeOutcome:
    """Cancel a booking that is still open and whose day has not gone; frees its place."""
    if _S.CANCELLED not in TRANSITIONS[booking.state]:
        return ChangeOutcome.FINAL
    today = now.astimezone(local_zone()).date()
    if booking.visit_date is not None and booking.visit_date < today:
        return ChangeOutcome.PAST
    if booking.state in HOLDS_SLOT:
        _release(session, booking)
    transition(booking, _S.CANCELLED, actor=actor, now=now, note=note)
    session.flush()
    return ChangeOutcome.DONE


def reschedule_booking(
    *,
    session: Session,
    booking: HomeVisitBooking,
    day: date,
    half_day: HalfDay,
    actor: str,
    now: datetime,
) -> ChangeOutcome:
    """Move a booked visit to another half-day with a free nurse of the same team."""
    if booking.state not in HOLDS_SLOT and booking.state is not _S.REQUESTED:
        return ChangeOutcome.FINAL
    if check_visit_time(day, half_day, now) is not None:
        return ChangeOutcome.INVALID_TIME
    if booking.state is _S.REQUESTED:  # waiting for review: only the wish changes
        booking.visit_date, booking.half_day = day, half_day
        _log(booking, booking.state, actor=actor, now=now, note=f"改期 {day} {half_day.value}")
        return ChangeOutcome.DONE
    nurse = claim_nurse(session=session, team=booking.community.team, day=day, half_day=half_day)
    if nurse is None:
        return ChangeOutcome.FULL
    _release(session, booking)
    booking.nurse, booking.visit_date, booking.half_day = nurse, day, half_day
    _log(booking, booking.state, actor=actor, now=now, note=f"改期 {day} {half_day.value}")
    session.flush()
    return ChangeOutcome.DONE


def approve_review(
    *, session: Session, booking: HomeVisitBooking, actor: str, now: datetime
) -> ChangeOutcome:
    """After the pharmacist's review: book the requested half-day (awaiting consent)."""
    if booking.state is not _S.REQUESTED:
        return ChangeOutcome.FINAL
    if booking.visit_date is None or booking.half_day is None:
        return ChangeOutcome.INVALID_TIME
    if check_visit_time(booking.visit_date, booking.half_day, now) is not None:
        return ChangeOutcome.INVALID_TIME
    nurse = claim_nurse(
        session=session,
        team=booking.community.team,
        day=booking.visit_date,
        half_day=booking.half_day,
    )
    if nurse is None:
        return ChangeOutcome.FULL
    booking.nurse = nurse
    transition(booking, _S.BOOKED, actor=actor, now=now, note="药剂人员审核通过")
    transition(booking, _S.AWAITING_CONSENT, actor=actor, now=now)
    session.flush()
    return ChangeOutcome.DONE


def visits_on(
    *, session: Session, day: date, nurse_id: int | None = None
) -> list[HomeVisitBooking]:
    """The visits booked for a day (holding a nurse's place), morning first."""
    query = select(HomeVisitBooking).where(
        HomeVisitBooking.visit_date == day,
        HomeVisitBooking.state.in_([*HOLDS_SLOT, _S.DONE]),
    )
    if nurse_id is not None:
        query = query.where(HomeVisitBooking.nurse_id == nurse_id)
    bookings = list(session.scalars(query.order_by(HomeVisitBooking.id)))
    return sorted(bookings, key=lambda b: (b.half_day != HalfDay.MORNING, b.id))


def nurse_of(*, session: Session, sender_id: str | None) -> Nurse | None:
    """The nurse bound to this sender through a nurse invite, or None."""
    if not sender_id:
        return None
    return session.scalars(
        select(Nurse)
        .join(StaffMember, StaffMember.invite_id == Nurse.invite_id)
        .where(StaffMember.sender_id == sender_id, StaffMember.role == StaffRole.NURSE)
    ).first()


def booked_count(*, session: Session, nurse_id: int, day: date, half_day: HalfDay) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(NurseSlot.booked), 0)).where(
                NurseSlot.nurse_id == nurse_id,
                NurseSlot.visit_date == day,
                NurseSlot.half_day == half_day,
            )
        )
        or 0
    )


def has_free_place(*, session: Session, team: CareTeam, day: date, half_day: HalfDay) -> bool:
    """Whether a nurse of the team has a free place that half-day (a hint: the place is
    only taken by `request_infusion`)."""
    loads = _loads(session, team.nurses, [day])
    return any(
        loads.get((nurse.id, day, half_day), 0) < nurse.capacity_per_half_day
        for nurse in team.nurses
    )


def list_communities(*, session: Session) -> list[Community]:
    return list(session.scalars(select(Community).order_by(Community.id)))


def is_open(booking: HomeVisitBooking) -> bool:
    """Still to happen: requested, or holding a nurse's place."""
    return booking.state is _S.REQUESTED or booking.state in HOLDS_SLOT
