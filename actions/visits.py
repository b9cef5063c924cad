"""Home visits in chat: book a home infusion (服务管理制度6) or a home elderly-care visit
(服务管理制度8); check and cancel a booking by its number; a nurse's list of visits.

The rules (eligibility, the covering team, capacity, states) are in `bot.visits`; this
module reads slots, calls them and utters responses from the domain.
"""

from __future__ import annotations

import logging
import re
from abc import abstractmethod
from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.forms import PrefillingFormValidation
from bot import clock
from bot.db import session_scope
from bot.idempotency import retry_on_conflict
from bot.incidents import report_incident, reports_incidents
from bot.models import Community, HalfDay, HomeVisitBooking
from bot.school.dates import DateParseError, parse_dates
from bot.school.wording import format_day, format_days
from bot.visits.booking import (
    BookingOutcome,
    BookingResult,
    ChangeOutcome,
    PatientDetails,
    SlotOffer,
    VisitTimeProblem,
    advance_days,
    bookings_of,
    cancel_booking,
    check_visit_time,
    find_booking,
    find_booking_no,
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
    without_booking_no,
)
from bot.visits.drugs import default_catalogue, find_drug
from bot.visits.elderly import care_visits_of, read_service_items, register_care
from bot.visits.eligibility import (
    DrugSource,
    InfusionDecision,
    InfusionRequest,
    Outcome,
    PatientCondition,
    check_infusion_eligibility,
)
from bot.visits.wording import (
    CARE_VISIT_LABELS,
    CONDITION_LABELS,
    HALF_DAY_LABELS,
    STATE_LABELS,
    find_phone,
    format_slot,
    read_condition,
    read_drug_source,
    read_half_day,
    read_yes_no,
)

logger = logging.getLogger(__name__)

VISIT_SLOTS = (
    "visit_patient_name",
    "visit_phone",
    "visit_address",
    "visit_community",
    "visit_condition",
    "visit_doctor_order",
    "visit_drug",
    "visit_drug_source",
    "visit_first_dose",
    "visit_date",
    "visit_half_day",
    "care_items",
    "visit_blocked",
)
YES, NO = "yes", "no"
_STOP_INTENTS = {"deny", "goodbye"}
_CONDITIONS = {condition.value for condition in PatientCondition}
_SOURCES = {source.value for source in DrugSource}
# Slots whose answer may be a plain "no".
_YES_NO_SLOTS = {"visit_doctor_order", "visit_first_dose"}
_NAME_PREFIX = re.compile(r"^(?:患者|病人|老人|老人家|姓名|名字|我叫|他叫|她叫|叫|是)[是叫::\s]*")
_PUNCTUATION = re.compile(r"[\s,,。.!!]")
TIME_PROBLEMS = {
    VisitTimeProblem.PAST: "utter_visit_date_past",
    VisitTimeProblem.TOO_FAR: "utter_visit_date_too_far",
    VisitTimeProblem.STARTED: "utter_visit_half_day_started",
}
CHANGE_RESPONSES = {
    ChangeOutcome.DONE: "utter_visit_cancelled",
    ChangeOutcome.FINAL: "utter_visit_cancel_final",
    ChangeOutcome.PAST: "utter_visit_cancel_past",
}


def _text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def _infusion_request(tracker: Tracker) -> InfusionRequest | None:
    """The request as far as the form has it; None until every rule can be checked."""
    get = tracker.get_slot
    condition, order, drug, source = (
        get("visit_condition"),
        get("visit_doctor_order"),
        get("visit_drug"),
        get("visit_drug_source"),
    )
    if not (condition and order and drug and source):
        return None
    first_dose = get("visit_first_dose")
    if source == DrugSource.EXTERNAL.value and first_dose not in {YES, NO}:
        return None
    # Before validation a slot holds the raw answer: only validated values count.
    if condition not in _CONDITIONS or source not in _SOURCES or order not in {YES, NO}:
        return None
    return InfusionRequest(
        condition=PatientCondition(condition),
        has_doctor_order=order == YES,
        drug_text=str(drug),
        drug_source=DrugSource(source),
        first_dose_without_reaction=(first_dose == YES) if first_dose else None,
    )


def _decision(tracker: Tracker) -> InfusionDecision | None:
    request = _infusion_request(tracker)
    return check_infusion_eligibility(request, default_catalogue()) if request else None


def _offer_buttons(offers: tuple[SlotOffer, ...]) -> list[dict[str, str]]:
    return [
        {"title": format_slot(o.day, o.half_day), "payload": format_slot(o.day, o.half_day)}
        for o in offers
    ]


def _community(session: Session, tracker: Tracker) -> Community | None:
    community_id = tracker.get_slot("visit_community")
    return session.get(Community, int(community_id)) if community_id else None


class _VisitFormValidation(PrefillingFormValidation):
    """What both visit forms collect: who, where, which day and half-day."""

    @abstractmethod
    def name(self) -> str:
        """The form's validation action."""

    def _prefill(self, tracker: Tracker) -> dict[str, Any]:
        text = _text(tracker)
        slots: dict[str, Any] = dict.fromkeys(VISIT_SLOTS)
        try:
            days = parse_dates(text, clock.today())
            slots["visit_date"] = days[0].isoformat()
        except DateParseError:
            pass
        half_day = read_half_day(text)
        if half_day and slots["visit_date"]:
            slots["visit_half_day"] = half_day.value
        slots.update(self._prefill_more(text))
        return slots

    def _prefill_more(self, text: str) -> dict[str, Any]:
        return {}

    def _stopped(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        if tracker.get_intent_of_latest_message() in _STOP_INTENTS and (
            tracker.get_slot("requested_slot") not in _YES_NO_SLOTS
        ):
            dispatcher.utter_message(response="utter_visit_abandoned")
            return True
        return False

    def validate_visit_patient_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_patient_name": None, "visit_blocked": True}
        name = _PUNCTUATION.sub("", _NAME_PREFIX.sub("", str(value or "").strip()))
        if not name or len(name) > 20 or any(ch.isdigit() for ch in name):
            dispatcher.utter_message(response="utter_visit_name_invalid")
            return {"visit_patient_name": None}
        return {"visit_patient_name": name}

    def validate_visit_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        phone = find_phone(str(value or ""))
        if phone:
            return {"visit_phone": phone}
        if self._stopped(dispatcher, tracker):
            return {"visit_phone": None, "visit_blocked": True}
        dispatcher.utter_message(response="utter_visit_phone_invalid")
        return {"visit_phone": None}

    def validate_visit_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_address": None, "visit_blocked": True}
        address = str(value or "").strip()[:200]
        with session_scope() as session:
            community = find_community(session=session, address=address)
            if community is None:
                names = "、".join(c.name for c in list_communities(session=session))
                dispatcher.utter_message(response="utter_visit_address_outside", communities=names)
                return {"visit_address": None}
            return {"visit_address": address, "visit_community": str(community.id)}

    def validate_visit_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_date": None, "visit_blocked": True}
        text = str(value or "")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            try:
                day = parse_dates(text, clock.today())[0]
            except DateParseError:
                dispatcher.utter_message(response="utter_visit_date_unclear")
                return {"visit_date": None}
        half_day = read_half_day(text)
        if half_day is None:
            half_day = read_half_day(str(tracker.get_slot("visit_half_day") or ""))
        problem = check_visit_time(day, half_day, clock.now())
        if problem is not None:
            dispatcher.utter_message(
                response=TIME_PROBLEMS[problem], day=format_day(day), days=advance_days()
            )
            return {"visit_date": None, "visit_half_day": None}
        slots: dict[str, Any] = {"visit_date": day.isoformat()}
        if half_day is not None:
            slots.update(self._half_day_checked(half_day, day, dispatcher, tracker))
        return slots

    def validate_visit_half_day(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_half_day": None, "visit_blocked": True}
        text = str(value or "")
        half_day = HalfDay(text) if text in {h.value for h in HalfDay} else read_half_day(text)
        if half_day is None:
            dispatcher.utter_message(response="utter_visit_half_day_unclear")
            return {"visit_half_day": None}
        day_text = tracker.get_slot("visit_date")
        if not day_text:
            return {"visit_half_day": half_day.value}
        day = date.fromisoformat(day_text)
        problem = check_visit_time(day, half_day, clock.now())
        if problem is not None:
            dispatcher.utter_message(
                response=TIME_PROBLEMS[problem], day=format_day(day), days=advance_days()
            )
            return {"visit_date": None, "visit_half_day": None}
        return self._half_day_checked(half_day, day, dispatcher, tracker)

    def _half_day_checked(
        self,
        half_day: HalfDay,
        day: date,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        return {"visit_half_day": half_day.value}


class ValidateInfusionForm(_VisitFormValidation):
    """Collects the patient, the place, the facts 服务管理制度6 asks about, and a half-day."""

    def name(self) -> str:
        return "validate_infusion_form"

    def _prefill_more(self, text: str) -> dict[str, Any]:
        slots: dict[str, Any] = {}
        condition = read_condition(text)
        if condition in {PatientCondition.BEDRIDDEN, PatientCondition.LIMITED_MOBILITY}:
            slots["visit_condition"] = condition.value if condition else None
        drug = find_drug(text)
        if drug is not None:
            slots["visit_drug"] = drug.name
        return slots

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("visit_blocked"):
            return []
        slots = [
            "visit_patient_name",
            "visit_phone",
            "visit_address",
            "visit_condition",
            "visit_doctor_order",
            "visit_drug",
            "visit_drug_source",
        ]
        if tracker.get_slot("visit_drug_source") == DrugSource.EXTERNAL.value:
            slots.append("visit_first_dose")
        decision = _decision(tracker)
        if decision is None or decision.outcome is not Outcome.REFUSED:
            slots += ["visit_date", "visit_half_day"]
        return slots

    def validate_visit_condition(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        condition = read_condition(str(value or ""))
        if condition is not None:
            return {"visit_condition": condition.value}
        if self._stopped(dispatcher, tracker):
            return {"visit_condition": None, "visit_blocked": True}
        dispatcher.utter_message(response="utter_visit_condition_unclear")
        return {"visit_condition": None}

    def _yes_no(self, slot: str, value: Any, tracker: Tracker) -> str | None:
        intent = tracker.get_intent_of_latest_message()
        if tracker.get_slot("requested_slot") == slot and intent in {"affirm", "deny"}:
            return YES if intent == "affirm" else NO
        if value in {YES, NO}:
            return str(value)
        answer = read_yes_no(str(value or ""))
        return None if answer is None else (YES if answer else NO)

    def validate_visit_doctor_order(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        answer = self._yes_no("visit_doctor_order", value, tracker)
        if answer is None:
            if tracker.get_intent_of_latest_message() == "goodbye":
                dispatcher.utter_message(response="utter_visit_abandoned")
                return {"visit_doctor_order": None, "visit_blocked": True}
            dispatcher.utter_message(response="utter_visit_yes_no_unclear")
        return {"visit_doctor_order": answer}

    def validate_visit_drug(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_drug": None, "visit_blocked": True}
        text = str(value or "").strip()[:100]
        if not text:
            return {"visit_drug": None}
        drug = find_drug(text)
        # An unknown drug is kept as written: the pharmacist reviews it.
        return {"visit_drug": drug.name if drug and drug.name in text else text}

    def validate_visit_drug_source(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        source = read_drug_source(str(value or ""))
        if source is not None:
            return {"visit_drug_source": source.value}
        if self._stopped(dispatcher, tracker):
            return {"visit_drug_source": None, "visit_blocked": True}
        dispatcher.utter_message(response="utter_visit_drug_source_unclear")
        return {"visit_drug_source": None}

    def validate_visit_first_dose(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        answer = self._yes_no("visit_first_dose", value, tracker)
        if answer is None:
            dispatcher.utter_message(response="utter_visit_yes_no_unclear")
        return {"visit_first_dose": answer}

    def _half_day_checked(
        self,
        half_day: HalfDay,
        day: date,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        """For a booking that can be made, check that a nurse is free that half-day."""
        decision = _decision(tracker)
        if decision is None or decision.outcome is not Outcome.ELIGIBLE:
            return {"visit_half_day": half_day.value}
        with session_scope() as session:
            community = _community(session, tracker)
            if community is None:
                return {"visit_half_day": half_day.value}
            team = community.team
            if has_free_place(session=session, team=team, day=day, half_day=half_day):
                return {"visit_half_day": half_day.value}
            offers = next_free_slots(
                session=session, team=team, now=clock.now(), after=SlotOffer(day, half_day)
            )
        dispatcher.utter_message(
            response="utter_visit_slot_full" if offers else "utter_visit_no_free_slot",
            slot=format_slot(day, half_day),
            buttons=_offer_buttons(offers),
        )
        return {"visit_date": None, "visit_half_day": None}


class ValidateCareForm(_VisitFormValidation):
    """Collects the elderly person, the place, the services and the first visit."""

    def name(self) -> str:
        return "validate_care_form"

    def _prefill_more(self, text: str) -> dict[str, Any]:
        items = read_service_items(text)
        return {"care_items": "、".join(items)} if items else {}

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("visit_blocked"):
            return []
        return [
            "visit_patient_name",
            "visit_phone",
            "visit_address",
            "care_items",
            "visit_date",
            "visit_half_day",
        ]

    def validate_care_items(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        items = read_service_items(str(value or ""))
        if items:
            return {"care_items": "、".join(items)}
        if self._stopped(dispatcher, tracker):
            return {"care_items": None, "visit_blocked": True}
        dispatcher.utter_message(response="utter_care_items_unclear")
        return {"care_items": None}


class ActionSubmitInfusion(Action):
    """Decide by 服务管理制度6 and record: refused, for review, or booked with a nurse."""

    def name(self) -> str:
        return "action_submit_infusion"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in VISIT_SLOTS]
        request = _infusion_request(tracker)
        if tracker.get_slot("visit_blocked") or request is None:
            return reset
        decision = check_infusion_eligibility(request, default_catalogue())
        day_text, half_text = tracker.get_slot("visit_date"), tracker.get_slot("visit_half_day")
        day = date.fromisoformat(day_text) if day_text else None
        half_day = HalfDay(half_text) if half_text else None

        def record() -> tuple[BookingResult, dict[str, str]] | None:
            with session_scope() as session:
                community = _community(session, tracker)
                if community is None:
                    return None
                result = request_infusion(
                    session=session,
                    sender_id=tracker.sender_id,
                    channel=str(tracker.get_latest_input_channel() or ""),
                    patient=PatientDetails(
                        name=tracker.get_slot("visit_patient_name") or "",
                        phone=tracker.get_slot("visit_phone") or "",
                        address=tracker.get_slot("visit_address") or "",
                    ),
                    community=community,
                    request=request,
                    decision=decision,
                    day=day,
                    half_day=half_day,
                    now=clock.now(),
                )
                booking = result.booking
                details = {
                    "booking_no": booking.booking_no if booking else "",
                    "patient_name": booking.patient.name if booking else "",
                    "slot": format_slot(day, half_day) if day and half_day else "",
                    "team": community.team.name,
                    "team_phone": community.team.phone,
                    "nurse": booking.nurse.name if booking and booking.nurse else "",
                    "drug": request.drug_text,
                }
                return result, details

        try:
            # A repeated confirmation that races the first loses on the request key; the
            # second try finds the first one's booking (bot.visits.booking).
            recorded = retry_on_conflict(record)
        except SQLAlchemyError:
            report_incident(dispatcher, domain, "recording a home-infusion request failed")
            return reset
        if recorded is None:
            dispatcher.utter_message(response="utter_service_unavailable")
            return reset
        result, details = recorded
        logger.info("home infusion request: %s", result.outcome.value)
        if result.outcome is BookingOutcome.REFUSED:
            reasons = "\n".join(
                f"· {reason.message}(依据:{reason.rule.citation})" for reason in decision.reasons
            )
            dispatcher.utter_message(response="utter_visit_refused", reasons=reasons)
            dispatcher.utter_message(response="utter_visit_come_to_centre", **details)
        elif result.outcome is BookingOutcome.REVIEW:
            dispatcher.utter_message(response="utter_visit_review", **details)
        elif result.outcome is BookingOutcome.FULL:
            dispatcher.utter_message(
                response="utter_visit_full_at_submit",
                buttons=[{"title": "重新预约", "payload": "/book_home_visit"}],
                offers="、".join(format_slot(o.day, o.half_day) for o in result.offers) or "无",
                **details,
            )
        else:
            dispatcher.utter_message(response="utter_visit_booked", **details)
            notices = "\n".join(f"· {notice.message}" for notice in decision.notices)
            dispatcher.utter_message(response="utter_visit_consent_required", notices=notices)
        return reset


class ActionSubmitCare(Action):
    """Register the elderly person, book the visit and schedule the follow-up visits."""

    def name(self) -> str:
        return "action_submit_care"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in VISIT_SLOTS]
        get = tracker.get_slot
        if get("visit_blocked") or not (get("visit_date") and get("visit_half_day")):
            return reset
        day, half_day = date.fromisoformat(get("visit_date")), HalfDay(get("visit_half_day"))
        try:
            with session_scope() as session:
                community = _community(session, tracker)
                if community is None:
                    dispatcher.utter_message(response="utter_service_unavailable")
                    return reset
                registration = register_care(
                    session=session,
                    name=get("visit_patient_name") or "",
                    phone=get("visit_phone") or "",
                    address=get("visit_address") or "",
                    community=community,
                    items=str(get("care_items") or "").split("、"),
                    day=day,
                    half_day=half_day,
                    sender_id=tracker.sender_id,
                    now=clock.now(),
                )
                details = {
                    "client_no": registration.client.client_no,
                    "name": registration.client.name,
                    "items": get("care_items") or "",
                    "slot": format_slot(day, half_day),
                    "team": community.team.name,
                    "team_phone": community.team.phone,
                    "follow_ups": format_days([v.visit_date for v in registration.follow_ups])
                    or "已有安排",
                    "recheck": format_day(registration.recheck.visit_date)
                    if registration.recheck
                    else "",
                }
        except SQLAlchemyError:
            report_incident(dispatcher, domain, "registering an elderly-care client failed")
            return reset
        dispatcher.utter_message(response="utter_care_registered", **details)
        return reset


def _booking_line(booking: Any) -> str:
    slot = (
        format_slot(booking.visit_date, booking.half_day)
        if booking.visit_date and booking.half_day
        else "未定"
    )
    return f"· {booking.booking_no} {booking.patient.name} {slot}:{STATE_LABELS[booking.state]}"


class ActionCheckBooking(Action):
    """A booking by its number (only the booker's or, for staff, anyone's), or the
    sender's recent bookings."""

    def name(self) -> str:
        return "action_check_booking"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        booking_no = find_booking_no(_text(tracker))
        with session_scope() as session:
            if booking_no is None:
                lines = [
                    _booking_line(b)
                    for b in bookings_of(session=session, sender_id=tracker.sender_id)
                ]
                care = [
                    f"· {v.client.name} {format_slot(v.visit_date, v.half_day)} "
                    + CARE_VISIT_LABELS.get(v.kind, v.service_items)
                    for v in care_visits_of(
                        session=session, sender_id=tracker.sender_id, now=clock.now()
                    )
                ]
                if lines:
                    dispatcher.utter_message(
                        response="utter_visit_bookings", bookings="\n".join(lines)
                    )
                if care:
                    dispatcher.utter_message(response="utter_care_visits", visits="\n".join(care))
                if not lines and not care:
                    dispatcher.utter_message(response="utter_visit_no_bookings")
                return []
            booking = find_booking(session=session, booking_no=booking_no)
            if booking is None or not may_see(
                session=session, booking=booking, sender_id=tracker.sender_id
            ):
                dispatcher.utter_message(
                    response="utter_visit_booking_not_found", booking_no=booking_no
                )
                return []
            dispatcher.utter_message(
                response="utter_visit_bookings", bookings=_booking_line(booking)
            )
        return []


class ActionCancelBooking(Action):
    """Cancel a booking by its number, or the sender's only open booking."""

    def name(self) -> str:
        return "action_cancel_booking"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        booking_no = find_booking_no(_text(tracker))
        with session_scope() as session:
            booking = _sender_booking(session, tracker, booking_no)
            if booking is None:
                response = (
                    "utter_visit_booking_not_found" if booking_no else "utter_visit_cancel_which"
                )
                dispatcher.utter_message(response=response, booking_no=booking_no or "")
                return []
            outcome = cancel_booking(
                session=session, booking=booking, actor=tracker.sender_id, now=clock.now()
            )
            number = booking.booking_no
        dispatcher.utter_message(
            response=CHANGE_RESPONSES.get(outcome, "utter_visit_cancel_final"), booking_no=number
        )
        return []


class ActionNurseVisits(Action):
    """For a bound nurse: their home-infusion visits on the day asked (default today)."""

    def name(self) -> str:
        return "action_nurse_visits"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            days = parse_dates(_text(tracker), clock.today())
        except DateParseError:
            days = [clock.today()]
        with session_scope() as session:
            nurse = nurse_of(session=session, sender_id=tracker.sender_id)
            if nurse is None:
                dispatcher.utter_message(response="utter_nurse_only")
                return []
            lines = [
                f"· {format_day(day)}{HALF_DAY_LABELS[b.half_day]} {b.booking_no} {b.patient.name}"
                f" {b.patient.phone} {b.patient.address} {b.drug_names or b.drug_text}"
                f"({CONDITION_LABELS[PatientCondition(b.condition)]}):{STATE_LABELS[b.state]}"
                for day in days
                for b in visits_on(session=session, day=day, nurse_id=nurse.id)
            ]
        if lines:
            dispatcher.utter_message(response="utter_nurse_visits", visits="\n".join(lines))
        else:
            dispatcher.utter_message(response="utter_nurse_visits_none", days=format_days(days))
        return []


def _sender_booking(
    session: Session, tracker: Tracker, booking_no: str | None
) -> HomeVisitBooking | None:
    """The booking named (if the sender may see it), or the sender's only open booking."""
    if booking_no is None:
        open_ones = [
            b for b in bookings_of(session=session, sender_id=tracker.sender_id) if is_open(b)
        ]
        return open_ones[0] if len(open_ones) == 1 else None
    booking = find_booking(session=session, booking_no=booking_no)
    if booking is None or not may_see(
        session=session, booking=booking, sender_id=tracker.sender_id
    ):
        return None
    return booking


class ActionRescheduleBooking(Action):
    """Move a booking to another day and half-day with a free nurse of the same team."""

    def name(self) -> str:
        return "action_reschedule_booking"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = _text(tracker)
        booking_no = find_booking_no(text)
        try:
            day = parse_dates(without_booking_no(text), clock.today())[0]
        except DateParseError:
            day = None
        half_day = read_half_day(without_booking_no(text))
        with session_scope() as session:
            booking = _sender_booking(session, tracker, booking_no)
            if booking is None:
                response = (
                    "utter_visit_booking_not_found" if booking_no else "utter_visit_reschedule_how"
                )
                dispatcher.utter_message(response=response, booking_no=booking_no or "")
                return []
            number = booking.booking_no
            if day is None or half_day is None:
                dispatcher.utter_message(response="utter_visit_reschedule_how", booking_no=number)
                return []
            outcome = reschedule_booking(
                session=session,
                booking=booking,
                day=day,
                half_day=half_day,
                actor=tracker.sender_id,
                now=clock.now(),
            )
            offers = (
                next_free_slots(
                    session=session,
                    team=booking.community.team,
                    now=clock.now(),
                    after=SlotOffer(day, half_day),
                )
                if outcome is ChangeOutcome.FULL
                else ()
            )
        buttons = [
            {
                "title": format_slot(o.day, o.half_day),
                "payload": f"把{number}改到{format_slot(o.day, o.half_day)}",
            }
            for o in offers
        ]
        dispatcher.utter_message(
            response=RESCHEDULE_RESPONSES[outcome],
            booking_no=number,
            slot=format_slot(day, half_day),
            days=advance_days(),
            buttons=buttons,
        )
        return []


RESCHEDULE_RESPONSES = {
    ChangeOutcome.DONE: "utter_visit_rescheduled",
    ChangeOutcome.FULL: "utter_visit_reschedule_full",
    ChangeOutcome.INVALID_TIME: "utter_visit_reschedule_invalid",
    ChangeOutcome.FINAL: "utter_visit_cancel_final",
    ChangeOutcome.PAST: "utter_visit_cancel_past",
}
