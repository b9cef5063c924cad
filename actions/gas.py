"""Gas customers in chat: verify and bind an account, then bills, usage, faults, reminders.

Every request that shows account data goes through `gas_account_form`, which verifies the
sender (户号 + the last 4 digits of the phone on file) unless they hold a binding already,
and asks which account when they hold several. `action_gas_answer` then answers the
request that started the form. The rules are in `bot.gas`; this module reads slots,
calls the use cases of `bot.gas.service` and utters responses from the domain.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms import ASIDE_INTENTS, FORGOT, FormEngine
from actions.message import STOP_INTENTS, input_channel, latest_text
from bot.directory import emergency_number
from bot.gas import service
from bot.gas.accounts import BindOutcome, find_account_no, find_phone_digits
from bot.gas.faults import KIND_LABELS, STATE_LABELS, classify_fault, find_ticket_no
from bot.gas.wording import (
    binding_locked_alert,
    months_asked,
    schedule_text,
    tariff_text,
    wants_reminders_off,
)
from bot.incidents import report_incident, reports_incidents
from bot.infra import clock
from bot.infra.db import DatabaseUnavailable
from bot.models import MeterFaultKind
from bot.notify import alert
from bot.organisation import get_organisation

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
BLOCKED = {"gas_blocked": True}


# What a binding request may also ask of the account once it is bound.
_ASKS_BILL = re.compile(r"多少钱|欠费|欠多少|欠不欠|账单|气费|燃气费|该交|要交|交多少|余额")
_ASKS_USAGE = re.compile(r"用气量|用了多少|用多少气|用气")


def asked_with_binding(text: str) -> str | None:
    """The bill or usage question a binding request also asks ("绑好了告诉我她家最近一期多少
    钱": check_gas_bill), or None."""
    if _ASKS_BILL.search(text):
        return "check_gas_bill"
    if _ASKS_USAGE.search(text):
        return "check_gas_usage"
    return None


# A question on when the meter is read, asked beside another request.
_ASKS_READING_DAY = re.compile(
    r"抄表.{0,12}(?:几号|哪天|哪一天|什么时候|啥时候|哪个日子|日子|日期|时间)"
    r"|(?:几号|哪天|什么时候|啥时候).{0,6}(?:来|上门)?抄表"
)


def asks_reading_day(text: str) -> bool:
    """Whether a request also asks when the meter is read ("抄表的每个月几号来")."""
    return bool(_ASKS_READING_DAY.search(text))


def _mentioned_account_no(tracker: Tracker) -> str | None:
    entity = next(tracker.get_latest_entity_values("gas_account_no"), None)
    return find_account_no(str(entity)) if entity else find_account_no(latest_text(tracker))


VERIFY_SLOTS = frozenset({"gas_account_no", "gas_phone_last4"})


def _failed_a_check(tracker: Tracker) -> bool:
    """Whether a 户号 and phone digits were checked and did not match since the gas form
    last started."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == "gas_account_form":
            return False
        if (
            event.get("event") == "bot"
            and (event.get("metadata") or {}).get("utter_action") == "utter_gas_bind_no_match"
        ):
            return True
    return False


class ValidateGasAccountForm(FormEngine):
    """Verifies the sender, picks the account, and for a fault report asks what is wrong."""

    # A gas leak ends a gas question instead (rules/gas.yml).
    aside_intents = ASIDE_INTENTS - {"gas_leak"}
    stop_slot = "gas_blocked"
    stopped_response = "utter_gas_abandoned"
    reads_every_message = True
    emergency_is_aside = False
    staff_questions_end_form = True

    def name(self) -> str:
        return "validate_gas_account_form"

    def stuck_response(self, tracker: Tracker) -> str:
        # Two checks that did not match are no misreading: say so, without a hint of
        # which half was wrong.
        if tracker.get_slot("requested_slot") in VERIFY_SLOTS and _failed_a_check(tracker):
            return "utter_gas_verification_stuck"
        return super().stuck_response(tracker)

    def _prefill(self, tracker: Tracker) -> dict[str, Any]:
        intent = tracker.get_intent_of_latest_message()
        text = latest_text(tracker)
        slots: dict[str, Any] = dict.fromkeys(GAS_SLOTS)
        request = intent if intent in GAS_REQUESTS else None
        if request == BIND:
            # "绑个我妈家的 户号… 尾号… 绑好了告诉我最近一期多少钱": bound, then answered.
            request = asked_with_binding(text) or BIND
        slots.update(gas_request=request, gas_request_text=text[:500])
        mentioned = _mentioned_account_no(tracker)
        bindings = service.held_accounts(sender_id=tracker.sender_id)
        held = {b.account_no: b.account_id for b in bindings}
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
        if tracker.get_intent_of_latest_message() in STOP_INTENTS:
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
        account_no = tracker.get_slot("gas_account_no") or ""
        # "户号我抄成对门的了 我家是31001015 尾号2015": the digits are for the 户号 now given.
        named = _mentioned_account_no(tracker)
        corrected = named is not None and named != account_no
        if corrected:
            account_no = named or ""
        digits = find_phone_digits(str(value or ""))
        if not digits:
            if corrected:
                return {"gas_account_no": account_no, "gas_phone_last4": None}
            if self._stopped(dispatcher, tracker):
                return {"gas_phone_last4": None, **BLOCKED}
            dispatcher.utter_message(response="utter_gas_phone_invalid")
            return {"gas_phone_last4": None}
        result = service.bind_account_by_phone(
            sender_id=tracker.sender_id,
            account_no=account_no,
            phone_last4=digits,
            now=clock.now(),
            channel=input_channel(tracker),
        )
        logger.info("gas account binding: %s", result.outcome.value)
        if result.alert_senders:
            alert(result.alert_senders, binding_locked_alert(account_no))
        if result.outcome in {BindOutcome.BOUND, BindOutcome.ALREADY}:
            dispatcher.utter_message(response="utter_gas_bound", account_no=account_no)
            return {
                "gas_account_no": account_no,
                "gas_phone_last4": "verified",
                "gas_account": str(result.account_id),
            }
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
        chosen = [
            b
            for b in service.held_accounts(sender_id=tracker.sender_id)
            if text == str(b.account_id) or b.account_no in text.replace(" ", "")
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
        buttons = [
            {"title": f"{b.account_no} {b.address}", "payload": b.account_no}
            for b in service.held_accounts(sender_id=tracker.sender_id)
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
            held = ANSWERS[request](dispatcher, tracker)
        except DatabaseUnavailable:
            report_incident(dispatcher, domain, "gas request %s failed", request)
            return reset
        if not held:  # never another sender's account
            dispatcher.utter_message(response="utter_gas_need_binding")
        elif asks_reading_day(tracker.get_slot("gas_request_text") or ""):
            # "上个月气费多少钱 还有你们抄表的每个月几号来": both answered.
            ActionGasMeterSchedule().run(dispatcher, tracker, domain)
        return reset


# Each answer calls its service for the chosen account; False when the sender does not
# hold it.


def _answer_bill(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    answer = service.bill(
        sender_id=tracker.sender_id,
        account_id=tracker.get_slot("gas_account"),
        today=clock.today(),
    )
    if answer is None:
        return False
    dispatcher.utter_message(response="utter_gas_statement", details=answer.details)
    if answer.has_arrears:
        dispatcher.utter_message(response="utter_gas_how_to_pay_short")
    return True


def _answer_usage(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    answer = service.usage(
        sender_id=tracker.sender_id,
        account_id=tracker.get_slot("gas_account"),
        months=months_asked(tracker.get_slot("gas_request_text") or ""),
    )
    if answer is None:
        return False
    if not answer.months:
        dispatcher.utter_message(response="utter_gas_no_usage", account_no=answer.account_no)
        return True
    dispatcher.utter_message(
        response="utter_gas_usage",
        account_no=answer.account_no,
        months=answer.months,
        details=answer.details,
        last_reading=answer.last_reading,
    )
    return True


def _answer_fault(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    report = service.file_fault(
        sender_id=tracker.sender_id,
        account_id=tracker.get_slot("gas_account"),
        description=tracker.get_slot("gas_fault_description") or "",
        now=clock.now(),
    )
    if report is None:
        return False
    logger.info("meter fault report %s (%s)", report.ticket_no, report.kind.value)
    dispatcher.utter_message(
        response="utter_gas_fault_recorded",
        ticket_no=report.ticket_no,
        account_no=report.account_no,
        kind=KIND_LABELS[report.kind],
        emergency_phone=emergency_number() or "119",
    )
    return True


def _answer_fault_status(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    ticket = find_ticket_no(tracker.get_slot("gas_request_text") or "")
    reports = service.fault_reports(
        sender_id=tracker.sender_id, account_id=tracker.get_slot("gas_account"), ticket_no=ticket
    )
    if reports is None:
        return False
    if not reports:
        response = "utter_gas_fault_unknown_ticket" if ticket else "utter_gas_fault_none"
        dispatcher.utter_message(response=response, ticket_no=ticket or "")
        return True
    lines = [
        f"· {r.ticket_no} 户号 {r.account_no} {KIND_LABELS[r.kind]}:{STATE_LABELS[r.state]}"
        + (f"({r.resolution})" if r.resolution else "")
        for r in reports[:5]
    ]
    dispatcher.utter_message(response="utter_gas_fault_status", reports="\n".join(lines))
    return True


def _answer_reminders(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    enabled = not wants_reminders_off(tracker.get_slot("gas_request_text") or "")
    account_no = service.switch_reminders(
        sender_id=tracker.sender_id, account_id=tracker.get_slot("gas_account"), enabled=enabled
    )
    if account_no is None:
        return False
    response = "utter_gas_reminders_on" if enabled else "utter_gas_reminders_off"
    dispatcher.utter_message(response=response, account_no=account_no)
    return True


def _answer_bind(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    held = service.held_account_numbers(
        sender_id=tracker.sender_id, account_id=tracker.get_slot("gas_account")
    )
    if held is None:
        return False
    dispatcher.utter_message(response="utter_gas_accounts_held", accounts="、".join(held))
    return True


ANSWERS = {
    "check_gas_bill": _answer_bill,
    "check_gas_usage": _answer_usage,
    FAULT: _answer_fault,
    "check_fault_status": _answer_fault_status,
    "set_arrears_reminder": _answer_reminders,
    BIND: _answer_bind,
}


# Words that ask to undo a binding; a button chosen ("/unbind_gas_account") asks too.
_SAYS_UNBIND = re.compile(
    r"解绑|解除|解开|退绑|换绑|(?:取消|删除|删掉|去掉|不要|不用|别|不想)\S{0,6}(?:绑定|关联|绑)"
    r"|户号\S{0,6}(?:不用|不要)了"
)


class ActionGasUnbind(Action):
    """Remove the binding to the account named, or the only one; asks when several."""

    def name(self) -> str:
        return "action_gas_unbind"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = latest_text(tracker)
        if not (text.startswith("/") or _SAYS_UNBIND.search(text)):
            # Undoing a verification is never guessed: "这个我不清楚" once read as this.
            logger.info("unbind intent without a word for it: not unbinding")
            dispatcher.utter_message(response="utter_default")
            return []
        named = _mentioned_account_no(tracker)
        unbinding = service.unbind(sender_id=tracker.sender_id, account_no=named)
        if unbinding.unbound:
            dispatcher.utter_message(response="utter_gas_unbound", account_no=unbinding.unbound)
        elif unbinding.choices:
            buttons = [
                {"title": account_no, "payload": f"解绑 {account_no}"}
                for account_no in unbinding.choices
            ]
            dispatcher.utter_message(response="utter_gas_unbind_which", buttons=buttons)
        else:
            response = "utter_gas_unbind_not_bound" if named else "utter_gas_unbind_none"
            dispatcher.utter_message(response=response)
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
        phone = emergency_number()
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
        lines = [
            f"· {hall.name}{'（您的户号所属）' if hall.own else ''}\n"
            f"  地址：{hall.address}；电话：{hall.phone}\n"
            f"  营业时间：{hall.opening_hours}\n  可办理：{hall.services}"
            for hall in service.business_halls(sender_id=tracker.sender_id)
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
        lines = [
            f"· 户号 {schedule.account_no}:{schedule_text(schedule.upcoming)}"
            for schedule in service.reading_schedules(
                sender_id=tracker.sender_id, today=clock.today()
            )
        ]
        if lines:
            dispatcher.utter_message(response="utter_gas_schedule_bound", accounts="\n".join(lines))
        else:
            dispatcher.utter_message(response="utter_gas_schedule_general")
        return []


class ActionGasPrice(Action):
    """The gas price list (the organisation's settings: 收费管理制度 第2条 only says charges
    follow the price authority's schedule), and how to check a bill that looks wrong."""

    def name(self) -> str:
        return "action_gas_price"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            response="utter_gas_price", tariff=tariff_text(get_organisation().gas)
        )
        return []
