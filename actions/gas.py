"""Gas customers in chat: verify and bind an account, then bills, usage, faults, reminders.

Every request that shows account data goes through `gas_account_form`, which verifies the
sender (户号 + the last 4 digits of the phone on file) unless they hold a binding already,
and asks which account when they hold several. `action_gas_answer` then answers the
request that started the form. The rules are in `bot.gas`; this module reads slots,
calls them and utters responses from the domain.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.forms import ASIDE_INTENTS, FORGOT, FormEngine
from bot import clock
from bot.db import session_scope
from bot.directory import emergency_line
from bot.gas.accounts import (
    BindOutcome,
    bind_account,
    bindings_of,
    bound_account,
    find_account_no,
    find_phone_digits,
    unbind_accounts,
)
from bot.gas.billing import last_actual_reading, statement, usage_history
from bot.gas.faults import (
    KIND_LABELS,
    STATE_LABELS,
    classify_fault,
    find_ticket_no,
    report_fault,
    reports_of,
)
from bot.gas.halls import list_halls
from bot.gas.reminders import set_reminders
from bot.gas.schedule import next_reading
from bot.gas.wording import (
    binding_locked_alert,
    months_asked,
    reading_line,
    schedule_text,
    statement_text,
    usage_text,
    wants_reminders_off,
)
from bot.incidents import report_incident, reports_incidents
from bot.models import GasAccount, MeterFaultKind, MeterLocation
from bot.notify import alert

logger = logging.getLogger(__name__)

GAS_SLOTS = (
    "gas_request",
    "gas_request_text",
    "gas_account_no",
    "gas_phone_last4",
    "gas_account",
    "gas_fault_description",
    "gas_blocked",
    "gas_verifying",
)
BIND = "bind_gas_account"
FAULT = "report_meter_fault"
GAS_REQUESTS = {
    "check_gas_bill",
    "check_gas_usage",
    FAULT,
    "check_fault_status",
    "set_arrears_reminder",
    BIND,
}
_STOP_INTENTS = {"deny", "goodbye"}
BLOCKED = {"gas_blocked": True}


def _text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def _mentioned_account_no(tracker: Tracker) -> str | None:
    entity = next(tracker.get_latest_entity_values("gas_account_no"), None)
    return find_account_no(str(entity)) if entity else find_account_no(_text(tracker))


class ValidateGasAccountForm(FormEngine):
    """Verifies the sender, picks the account, and for a fault report asks what is wrong."""

    # A gas leak ends a gas question instead (rules/gas.yml).
    aside_intents = ASIDE_INTENTS - {"gas_leak"}
    stop_slot = "gas_blocked"
    stopped_response = "utter_gas_abandoned"
    reads_every_message = True

    def name(self) -> str:
        return "validate_gas_account_form"

    def _prefill(self, tracker: Tracker) -> dict[str, Any]:
        intent = tracker.get_intent_of_latest_message()
        text = _text(tracker)
        slots: dict[str, Any] = dict.fromkeys(GAS_SLOTS)
        request = intent if intent in GAS_REQUESTS else None
        slots.update(gas_request=request, gas_request_text=text[:500])
        mentioned = _mentioned_account_no(tracker)
        with session_scope() as session:
            bindings = bindings_of(session=session, sender_id=tracker.sender_id)
            held = {b.account.account_no: b.account_id for b in bindings}
        # Verify when binding, when nothing is bound, or for an account not bound here; then
        # no other account stands in for it, whatever the sender answers.
        verifying = intent == BIND or not held or (mentioned is not None and mentioned not in held)
        if verifying:
            # "户号31001006 尾号2006": both verification answers in the first message.
            last4 = find_phone_digits(text) if mentioned else None
            slots.update(
                gas_verifying=True,
                gas_account_no=mentioned,
                gas_phone_last4=last4,
                gas_account=None,
            )
        elif mentioned:
            slots["gas_account"] = str(held[mentioned])
        elif len(bindings) == 1:
            slots["gas_account"] = str(bindings[0].account_id)
        # Several accounts and none named: gas_account stays empty, so the form asks which.
        if intent == FAULT and classify_fault(text) is not MeterFaultKind.OTHER:
            slots["gas_fault_description"] = text[:300]
        return slots

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("gas_blocked"):
            return []
        slots = []
        if tracker.get_slot("gas_verifying"):
            slots += ["gas_account_no", "gas_phone_last4"]
        slots.append("gas_account")
        if tracker.get_slot("gas_request") == FAULT:
            slots.append("gas_fault_description")
        return slots

    def _stopped(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        if tracker.get_intent_of_latest_message() in _STOP_INTENTS:
            dispatcher.utter_message(response="utter_gas_abandoned")
            return True
        return False

    def validate_gas_account_no(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {}
        account_no = find_account_no(str(value))
        if account_no:
            return {"gas_account_no": account_no}
        if FORGOT.search(str(value)):
            dispatcher.utter_message(response="utter_gas_account_no_where")
            return {"gas_account_no": None}
        if self._stopped(dispatcher, tracker):
            return {"gas_account_no": None, **BLOCKED}
        dispatcher.utter_message(response="utter_gas_account_no_invalid")
        return {"gas_account_no": None}

    def validate_gas_phone_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None or value == "verified":
            return {}
        digits = find_phone_digits(str(value or ""))
        if not digits:
            if self._stopped(dispatcher, tracker):
                return {"gas_phone_last4": None, **BLOCKED}
            dispatcher.utter_message(response="utter_gas_phone_invalid")
            return {"gas_phone_last4": None}
        with session_scope() as session:
            result = bind_account(
                session=session,
                sender_id=tracker.sender_id,
                account_no=tracker.get_slot("gas_account_no") or "",
                phone_last4=digits,
                now=clock.now(),
                channel=str(tracker.get_latest_input_channel() or ""),
            )
        logger.info("gas account binding: %s", result.outcome.value)
        if result.alert_senders:
            alert(result.alert_senders, binding_locked_alert(tracker.get_slot("gas_account_no")))
        if result.outcome in {BindOutcome.BOUND, BindOutcome.ALREADY}:
            dispatcher.utter_message(
                response="utter_gas_bound", account_no=tracker.get_slot("gas_account_no")
            )
            return {"gas_phone_last4": "verified", "gas_account": str(result.account_id)}
        if result.outcome is BindOutcome.NO_MATCH:
            dispatcher.utter_message(response="utter_gas_bind_no_match")
            return {"gas_phone_last4": None, "gas_account_no": None}
        response = {
            BindOutcome.LOCKED: "utter_binding_locked",
            BindOutcome.TARGET_LOCKED: "utter_gas_binding_target_locked",
            BindOutcome.BOUND_ELSEWHERE: "utter_gas_bound_elsewhere",
        }[result.outcome]
        dispatcher.utter_message(response=response)
        return {"gas_phone_last4": None, "gas_account_no": None, **BLOCKED}

    def validate_gas_account(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {}
        text = str(value).strip()
        with session_scope() as session:
            bindings = bindings_of(session=session, sender_id=tracker.sender_id)
            chosen = [
                b
                for b in bindings
                if text == str(b.account_id) or b.account.account_no in text.replace(" ", "")
            ]
        if len(chosen) == 1:
            return {"gas_account": str(chosen[0].account_id)}
        if self._stopped(dispatcher, tracker):
            return {"gas_account": None, **BLOCKED}
        dispatcher.utter_message(response="utter_gas_which_account_again")
        return {"gas_account": None}

    def validate_gas_fault_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {}
        text = str(value).strip()
        if tracker.get_slot("requested_slot") == "gas_fault_description" and self._stopped(
            dispatcher, tracker
        ):
            return {"gas_fault_description": None, **BLOCKED}
        return {"gas_fault_description": text[:300] or None}


class ActionAskGasAccount(Action):
    """Ask which of the sender's accounts, with a button for each."""

    def name(self) -> str:
        return "action_ask_gas_account"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        with session_scope() as session:
            buttons = [
                {
                    "title": f"{b.account.account_no} {b.account.address}",
                    "payload": b.account.account_no,
                }
                for b in bindings_of(session=session, sender_id=tracker.sender_id)
            ]
        dispatcher.utter_message(response="utter_ask_gas_account", buttons=buttons)
        return []


class ActionGasAnswer(Action):
    """Answer the request that started the account form, for the chosen bound account."""

    def name(self) -> str:
        return "action_gas_answer"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in GAS_SLOTS]
        request = tracker.get_slot("gas_request")
        if tracker.get_slot("gas_blocked") or request not in GAS_REQUESTS:
            return reset
        try:
            with session_scope() as session:
                account = bound_account(
                    session=session,
                    sender_id=tracker.sender_id,
                    account_id=tracker.get_slot("gas_account"),
                )
                if account is None:  # never another sender's account
                    dispatcher.utter_message(response="utter_gas_need_binding")
                    return reset
                ANSWERS[request](session, account, dispatcher, tracker)
        except SQLAlchemyError:
            report_incident(dispatcher, domain, "gas request %s failed", request)
        return reset


def _answer_bill(
    session: Session, account: GasAccount, dispatcher: CollectingDispatcher, tracker: Tracker
) -> None:
    state = statement(session=session, account=account)
    dispatcher.utter_message(
        response="utter_gas_statement", details=statement_text(state, clock.today())
    )
    if state.arrears_fen:
        dispatcher.utter_message(response="utter_gas_how_to_pay_short")


def _answer_usage(
    session: Session, account: GasAccount, dispatcher: CollectingDispatcher, tracker: Tracker
) -> None:
    months = months_asked(tracker.get_slot("gas_request_text") or "")
    bills = usage_history(session=session, account=account, months=months)
    if not bills:
        dispatcher.utter_message(response="utter_gas_no_usage", account_no=account.account_no)
        return
    state = statement(session=session, account=account)
    dispatcher.utter_message(
        response="utter_gas_usage",
        account_no=account.account_no,
        months=len(bills),
        details=usage_text(bills),
        last_reading=reading_line(state.last_reading),
    )


def _answer_fault(
    session: Session, account: GasAccount, dispatcher: CollectingDispatcher, tracker: Tracker
) -> None:
    description = tracker.get_slot("gas_fault_description") or ""
    report = report_fault(
        session=session,
        account=account,
        sender_id=tracker.sender_id,
        description=description,
        now=clock.now(),
    )
    logger.info("meter fault report %s (%s)", report.ticket_no, report.kind.value)
    dispatcher.utter_message(
        response="utter_gas_fault_recorded",
        ticket_no=report.ticket_no,
        account_no=account.account_no,
        kind=KIND_LABELS[report.kind],
        emergency_phone=emergency_line(session=session) or "119",
    )


def _answer_fault_status(
    session: Session, account: GasAccount, dispatcher: CollectingDispatcher, tracker: Tracker
) -> None:
    ticket = find_ticket_no(tracker.get_slot("gas_request_text") or "")
    reports = reports_of(session=session, sender_id=tracker.sender_id, ticket_no=ticket)
    if not reports:
        response = "utter_gas_fault_unknown_ticket" if ticket else "utter_gas_fault_none"
        dispatcher.utter_message(response=response, ticket_no=ticket or "")
        return
    lines = [
        f"· {r.ticket_no} 户号 {r.account.account_no} {KIND_LABELS[r.kind]}:{STATE_LABELS[r.state]}"
        + (f"({r.resolution})" if r.resolution else "")
        for r in reports[:5]
    ]
    dispatcher.utter_message(response="utter_gas_fault_status", reports="\n".join(lines))


def _answer_reminders(
    session: Session, account: GasAccount, dispatcher: CollectingDispatcher, tracker: Tracker
) -> None:
    enabled = not wants_reminders_off(tracker.get_slot("gas_request_text") or "")
    set_reminders(
        session=session, sender_id=tracker.sender_id, enabled=enabled, account_id=account.id
    )
    response = "utter_gas_reminders_on" if enabled else "utter_gas_reminders_off"
    dispatcher.utter_message(response=response, account_no=account.account_no)


def _answer_bind(
    session: Session, account: GasAccount, dispatcher: CollectingDispatcher, tracker: Tracker
) -> None:
    held = bindings_of(session=session, sender_id=tracker.sender_id)
    dispatcher.utter_message(
        response="utter_gas_accounts_held",
        accounts="、".join(b.account.account_no for b in held),
    )


ANSWERS = {
    "check_gas_bill": _answer_bill,
    "check_gas_usage": _answer_usage,
    FAULT: _answer_fault,
    "check_fault_status": _answer_fault_status,
    "set_arrears_reminder": _answer_reminders,
    BIND: _answer_bind,
}


class ActionGasUnbind(Action):
    """Remove the binding to the account named, or the only one; asks when several."""

    def name(self) -> str:
        return "action_gas_unbind"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        named = _mentioned_account_no(tracker)
        with session_scope() as session:
            bindings = bindings_of(session=session, sender_id=tracker.sender_id)
            if named:
                bindings = [b for b in bindings if b.account.account_no == named]
            if not bindings:
                response = "utter_gas_unbind_not_bound" if named else "utter_gas_unbind_none"
                dispatcher.utter_message(response=response)
                return []
            if len(bindings) > 1:
                buttons = [
                    {"title": b.account.account_no, "payload": f"解绑 {b.account.account_no}"}
                    for b in bindings
                ]
                dispatcher.utter_message(response="utter_gas_unbind_which", buttons=buttons)
                return []
            account_no = bindings[0].account.account_no
            unbind_accounts(
                session=session, sender_id=tracker.sender_id, account_id=bindings[0].account_id
            )
        dispatcher.utter_message(response="utter_gas_unbound", account_no=account_no)
        return []


class ActionGasLeak(Action):
    """A gas emergency: what to do now, with the 24-hour emergency number, inside a form
    or outside it."""

    def name(self) -> str:
        return "action_gas_leak"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # The safety steps go out even when the directory cannot be read.
        try:
            with session_scope() as session:
                phone = emergency_line(session=session)
        except SQLAlchemyError:
            logger.exception("emergency line unavailable")
            phone = ""
        dispatcher.utter_message(
            response="utter_gas_leak" if phone else "utter_gas_leak_no_line", emergency_phone=phone
        )
        return []


class ActionGasBusinessHalls(Action):
    """Business halls: address, hours, services; the sender's own hall first."""

    def name(self) -> str:
        return "action_gas_business_halls"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        with session_scope() as session:
            own = {
                b.account.business_hall_id
                for b in bindings_of(session=session, sender_id=tracker.sender_id)
            }
            halls = sorted(list_halls(session=session), key=lambda h: (h.id not in own, h.id))
            lines = [
                f"· {hall.name}{'(您的户号所属)' if hall.id in own else ''}\n"
                f"  地址:{hall.address};电话:{hall.phone}\n"
                f"  营业时间:{hall.opening_hours}\n  可办理:{hall.services}"
                for hall in halls
            ]
        if not lines:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        dispatcher.utter_message(response="utter_gas_business_halls", halls="\n".join(lines))
        return []


class ActionGasMeterSchedule(Action):
    """The reading cycle (抄表管理制度 4, 5), and for bound accounts the next expected date."""

    def name(self) -> str:
        return "action_gas_meter_schedule"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        today = clock.today()
        with session_scope() as session:
            bindings = bindings_of(session=session, sender_id=tracker.sender_id)
            lines = []
            for binding in bindings:
                account = binding.account
                meter = account.meters[0] if account.meters else None
                last = last_actual_reading(session=session, account=account)
                upcoming = next_reading(
                    kind=account.kind,
                    location=meter.location if meter else MeterLocation.OUTDOOR,
                    last_read_on=last.read_on if last else None,
                    today=today,
                )
                lines.append(f"· 户号 {account.account_no}:{schedule_text(upcoming)}")
        if lines:
            dispatcher.utter_message(response="utter_gas_schedule_bound", accounts="\n".join(lines))
        else:
            dispatcher.utter_message(response="utter_gas_schedule_general")
        return []
