"""Answers to questions asked aside in the middle of a form (`actions.forms.asks_aside`):
the answer each question gets outside a form, the same response or the same action. The
form's validation gives it, then the form asks its own question again. A policy answer
also remembers what it was about (slot `policy_context`) for a follow-up."""

from __future__ import annotations

import inspect

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.complaints import ActionComplaintStatus
from actions.contact import ActionContact
from actions.forms import aside_intent, latest_intent
from actions.gas import (
    ActionGasBusinessHalls,
    ActionGasLeak,
    ActionGasMeterSchedule,
    ActionGasPrice,
)
from actions.policies import ActionAnswerPolicy, ActionListPolicies
from actions.school import ActionCareTimes
from actions.visits import ActionCancelBooking

# What answers each aside question: a response, or the action the question runs outside
# a form (one that only answers: none sets a slot the form asks for).
ASIDE_ANSWERS: dict[str, str | type[Action]] = {
    "ask_care_times": ActionCareTimes,
    "ask_leave_alone": "utter_no_leaving_alone",
    "ask_business_hall": ActionGasBusinessHalls,
    "ask_gas_payment": "utter_gas_payment",
    "ask_gas_price": ActionGasPrice,
    "ask_meter_schedule": ActionGasMeterSchedule,
    "ask_contact": ActionContact,
    "list_policies": ActionListPolicies,
    "ask_policy": ActionAnswerPolicy,
    "bot_challenge": "utter_iamabot",
    "gas_leak": ActionGasLeak,
    # Requests that end the form (`actions.forms.HANDOVERS`), answered as outside it.
    "check_complaint_status": ActionComplaintStatus,
    "cancel_booking": ActionCancelBooking,
}

_ANSWERED = frozenset(ASIDE_ANSWERS)


async def answer(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: DomainDict,
    intent: str | None = None,
) -> list[EventType]:
    """Answer the latest message as it is answered outside a form (as `intent` when it is
    given); the answering action's events (a policy answer's `policy_context`)."""
    intent = intent or aside_intent(tracker, _ANSWERED) or latest_intent(tracker)[0]
    found = ASIDE_ANSWERS.get(intent or "")
    if found is None:
        return []
    if isinstance(found, str):
        dispatcher.utter_message(response=found)
        return []
    result = found().run(dispatcher, tracker, domain)
    if inspect.isawaitable(result):
        result = await result
    return list(result or [])
