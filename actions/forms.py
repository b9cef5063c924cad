"""What the project's forms share: on activation, they take what the first message already
says (a date, a reason, the service complained about) before asking for the rest."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot.incidents import reports_incidents


class PrefillingFormValidation(FormValidationAction):
    """A form validation that fills slots from the message that started the form."""

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
