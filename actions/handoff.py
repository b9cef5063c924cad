"""A person takes over (转人工): the customer joins a department's queue, or leaves a
message outside its staffed hours, and the assistant falls silent for them
(ConversationPaused) until the person hands back (bot/handoff/service.py; the Rasa
server's side is bot/runtime/handoff_relay.py). Also the staff notification switch."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.emergency import warn_of_gas
from actions.message import latest_text
from bot.handoff.notifications import set_notifications
from bot.handoff.service import request_handoff
from bot.incidents import reports_incidents
from bot.infra import clock
from bot.infra.db import DatabaseUnavailable

logger = logging.getLogger(__name__)

# Asking for a person rather than for a number: "转人工", "找客服", "我要跟人说", "有没有真人".
_PERSON = re.compile(r"人工|真人|活人|找客服|找个客服|和客服聊|跟人说|和人说|工作人员来|转接")
# ...unless it asks how to reach one: "有没有人工客服电话", "人工客服热线".
_NUMBER = re.compile(r"电话|号码|热线|地址|在哪|几点|怎么联系|联系方式")

# The department of the flow the conversation was in, by the intents of its last messages.
_FLOW_DEPARTMENTS = {
    "gas": "gas",
    "bind_gas": "gas",
    "unbind_gas": "gas",
    "check_gas": "gas",
    "report_meter": "gas",
    "check_fault": "gas",
    "set_arrears": "gas",
    "ask_meter": "gas",
    "ask_business": "gas",
    "request_leave": "school",
    "cancel_leave": "school",
    "list_leaves": "school",
    "bind_student": "school",
    "ask_care": "school",
    "ask_leave": "school",
    "book_home": "health",
    "check_booking": "health",
    "cancel_booking": "health",
    "reschedule_booking": "health",
    "elderly_care": "health",
    "file_complaint": "service",
    "check_complaint": "service",
    "give_praise": "service",
}
TWO_STAGE_FALLBACK = "action_two_stage_fallback"
_WORD = re.compile(r"\w")  # a letter, digit or Chinese character (not emoji, not dots)


def asks_for_person(text: str) -> bool:
    """Whether a request for contact details asks to talk to a person now."""
    return bool(_PERSON.search(text)) and not _NUMBER.search(text)


def _user_messages(tracker: Tracker) -> list[dict[str, Any]]:
    return [event for event in tracker.events if event.get("event") == "user"]


def flow_department(tracker: Tracker) -> str | None:
    """The department of the latest request the conversation was about, if any."""
    for event in reversed(_user_messages(tracker)[-6:]):
        intent = str((event.get("parse_data") or {}).get("intent", {}).get("name") or "")
        for prefix, department in _FLOW_DEPARTMENTS.items():
            if intent.startswith(prefix):
                return department
    return None


def previous_question(tracker: Tracker) -> str:
    """The customer's last typed message before the latest one (what they wanted a person
    for); buttons ("/greet") are not questions."""
    typed = [
        str(event.get("text") or "")
        for event in _user_messages(tracker)[:-1]
        if str(event.get("text") or "") and not str(event.get("text")).startswith("/")
    ]
    return typed[-1] if typed else ""


def hand_to_person(
    dispatcher: CollectingDispatcher, tracker: Tracker, *, reason: str, question: str
) -> list[EventType]:
    """Queue the sender for a person (or take a message) and pause the assistant for them."""
    text = latest_text(tracker)
    try:
        ticket = request_handoff(
            sender_id=tracker.sender_id,
            text=f"{question} {text}",
            question=question or text,
            flow_department=flow_department(tracker),
            reason=reason,
            now=clock.now(),
        )
    except DatabaseUnavailable:
        logger.exception("a handoff could not be queued")
        dispatcher.utter_message(response="utter_service_unavailable")
        return []
    if ticket.status == "message":
        dispatcher.utter_message(
            response="utter_handoff_message",
            department=ticket.department_name,
            hours=ticket.hours,
            reply_by=ticket.reply_by,
            reference=ticket.reference,
        )
    else:
        dispatcher.utter_message(
            response="utter_handoff_queued",
            department=ticket.department_name,
            ahead=ticket.ahead,
            wait=ticket.wait_minutes,
            phone=ticket.phone,
        )
    logger.info("handoff %s: %s (%s)", ticket.reference, ticket.status, reason)
    return [ConversationPaused()]


class ActionDefaultFallback(Action):
    """Rasa's last fallback step. After two misses in a row (the two-stage fallback gives
    up) a person takes over; otherwise, as Rasa's own, apologise and forget the message."""

    def name(self) -> str:
        return "action_default_fallback"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        typed = [
            str(event.get("text") or "")
            for event in _user_messages(tracker)[-2:]
            if not str(event.get("text") or "").startswith("/")
        ]
        # Only someone who wrote words gets a person: emoji or dots twice get the apology.
        worded = [text for text in typed if _WORD.search(text)]
        # Before the apology or the person: what to do when it may be leaking gas.
        warn_of_gas(dispatcher, tracker)
        if (tracker.active_loop or {}).get("name") == TWO_STAGE_FALLBACK and worded:
            dispatcher.utter_message(response="utter_handoff_after_fallback")
            paused = hand_to_person(dispatcher, tracker, reason="fallback", question=worded[-1])
            return [UserUtteranceReverted(), *paused]
        dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]


_OFF = re.compile(r"关闭|关掉|取消|停止|不要|别再|别|退订")


class ActionStaffNotifications(Action):
    """A bound teacher, nurse or supervisor switches their notifications on or off."""

    def name(self) -> str:
        return "action_staff_notifications"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        enabled = not _OFF.search(latest_text(tracker))
        kinds = set_notifications(sender_id=tracker.sender_id, enabled=enabled, now=clock.now())
        if kinds is None:
            dispatcher.utter_message(response="utter_staff_notifications_not_staff")
        else:
            dispatcher.utter_message(
                response="utter_staff_notifications_on"
                if enabled
                else "utter_staff_notifications_off",
                kinds=kinds,
            )
        return []
