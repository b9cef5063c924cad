"""What the project's forms share: on activation, they take what the first message already
says (a date, a reason, the service complained about) before asking for the rest; in the
middle, they leave a question asked aside to be answered, then ask again."""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot.incidents import reports_incidents

# Questions a customer may ask in the middle of a form ("营业厅几点关门" while filing a
# complaint): the form's validation answers them as they are answered outside a form
# (actions/asides.py), forgets what the message filled, and the form asks its question
# again. Only a message that asks something, with confidence, is taken as such a question:
# "今天上午 人民路营业厅" answers "when and where", "就在这里联系我" answers "how to reach you".
ASIDE_INTENTS = frozenset(
    {
        "ask_care_times",
        "ask_leave_alone",
        "ask_business_hall",
        "ask_gas_payment",
        "ask_meter_schedule",
        "ask_contact",
        "list_policies",
        "bot_challenge",
        "gas_leak",
    }
)
ASIDE_MIN_CONFIDENCE = 0.8
_ASKS = re.compile(r"[?？]|吗|么|几|多少|哪|怎|什么|啥|谁|是不是|能不能|有没有|人工")
# A message with a number in it (a phone number, a 户号, a 学号) answers the form, whatever
# its words sound like ("有事打我电话 13900001111").
_NUMBER = re.compile(r"\d{4,}")
# A reply saying the number asked for is forgotten or not at hand: the form says where to
# find it instead of taking the reply as "stop".
FORGOT = re.compile(r"忘|不记得|记不得|记不清|不知道|不清楚|找不到|查不到|没带")
# An emergency is answered whatever the form was asking.
_URGENT = frozenset({"gas_leak"})


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
    """The latest message's intent and confidence as Rasa's slot mappings read them
    (`nlu_fallback` included, unlike `Tracker.get_intent_of_latest_message`)."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = intent.get("name")
    return (str(name) if name else None), float(intent.get("confidence") or 0.0)


def asks_aside(tracker: Tracker, intents: frozenset[str] = ASIDE_INTENTS) -> bool:
    """Whether the latest message, in the middle of a form, is a question asked aside."""
    if tracker.get_slot("requested_slot") is None:
        return False
    intent, confidence = latest_intent(tracker)
    text = (tracker.latest_message or {}).get("text") or ""
    return (
        intent in intents
        and confidence >= ASIDE_MIN_CONFIDENCE
        and not _NUMBER.search(text)
        and (intent in _URGENT or bool(_ASKS.search(text)))
    )


# How a question asked aside is answered: `actions.asides.answer`, installed by
# actions/__init__.py. The answers are actions of the flows' modules, which import this
# one, so importing them here would be an import cycle (pyproject.toml's contracts).
# (No type alias: a module-level alias would look like a class to tests/unit/test_deploy.)
_aside_answers: dict[
    str, Callable[[CollectingDispatcher, Tracker, DomainDict], Awaitable[None]]
] = {}


def answer_asides_with(
    answer: Callable[[CollectingDispatcher, Tracker, DomainDict], Awaitable[None]],
) -> None:
    """Install how the forms answer questions asked aside (actions/__init__.py does)."""
    _aside_answers["answer"] = answer


async def answer_aside(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> list[EventType]:
    """Answer a question asked aside, then undo what the message filled so that the form
    asks its question again (a slot set, even to None, keeps Rasa from rejecting the form
    and handing the turn to the rules)."""
    await _aside_answers["answer"](dispatcher, tracker, domain)
    requested = tracker.get_slot("requested_slot")
    filled = [name for name in tracker.slots_to_validate() if name != "requested_slot"]
    return [SlotSet(name, None) for name in dict.fromkeys([requested, *filled])]


class PrefillingFormValidation(FormValidationAction):
    """A form validation that fills slots from the message that started the form."""

    # The questions this form answers aside (`asks_aside`).
    aside_intents = ASIDE_INTENTS

    @abstractmethod
    def name(self) -> str:
        """The form's validation action."""

    @abstractmethod
    def _prefill(self, tracker: Tracker) -> dict[str, Any]:
        """The slot values the message that started the form already gives (None: not
        given, which clears a value left from an earlier form)."""

    @reports_incidents
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if asks_aside(tracker, self.aside_intents):
            return await answer_aside(dispatcher, tracker, domain)
        starting = tracker.get_slot("requested_slot") is None
        prefill = self._changes(self._prefill(tracker), tracker) if starting else []
        tracker.add_slots(prefill)
        events = await super().run(dispatcher, tracker, domain)
        return [*prefill, *events]

    @staticmethod
    def _changes(slots: dict[str, Any], tracker: Tracker) -> list[EventType]:
        """Only changes: a slot reset to None that was None already would be validated anew."""
        return [
            SlotSet(name, value)
            for name, value in slots.items()
            if value is not None or tracker.get_slot(name) is not None
        ]
