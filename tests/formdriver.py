"""Drive a form's validation and submit actions as Rasa's form loop does, without a
trained model: for tests that must walk many conversations through the form code.

What Rasa does and this driver repeats, turn by turn:
- the message that activates the form is validated with no slot candidates (the
  validation's prefill reads it); later messages fill the requested slot when the domain
  maps it `from_text` for this form (or `from_intent` with the message's intent: a yes or
  a no to a confirmation), and that candidate is validated;
- the validation's `requested_slot` says what to ask next (`utter_ask_<slot>`); None ends
  the form, and the submit action runs.

The intent and confidence of each message are given by the test (the NLU is not run), so
a test can also try intents the NLU might wrongly give.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Coroutine
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from bot.infra.settings import PROJECT_ROOT


@lru_cache(maxsize=1)
def domain() -> dict[str, Any]:
    with (PROJECT_ROOT / "domain.yml").open(encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle))


_NOTHING = object()


def _mapped_value(form: str, requested: str | None, text: str, intent: str) -> Any:
    """The value the domain's mapping of the requested slot gives this message while the
    form asks for it (`from_text`: the text; `from_intent`: the intent's value), or
    `_NOTHING`."""
    if requested is None:
        return _NOTHING
    for mapping in domain()["slots"].get(requested, {}).get("mappings", []):
        kind = mapping.get("type")
        if kind == "from_text":
            value = text
        elif kind == "from_intent" and mapping.get("intent") == intent:
            value = mapping.get("value")
        else:
            continue
        for condition in mapping.get("conditions", []):
            if condition.get("active_loop") == form and condition.get("requested_slot") in {
                None,
                requested,
            }:
                return value
    return _NOTHING


@dataclass
class FormDriver:
    form: str
    validation: FormValidationAction
    submit: Action
    sender: str = "web:driver"
    slots: dict[str, Any] = field(default_factory=dict)
    active: bool = False
    finished: bool = False
    said: list[str] = field(default_factory=list)  # response names and texts, in order
    # Events before the form's first message (what the person said earlier), then each
    # message and the slots its validation set, as Rasa's tracker holds them.
    history: list[dict[str, Any]] = field(default_factory=list)
    _set: list[tuple[str, Any]] = field(default_factory=list)
    _uttered: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.slots = {name: None for name in domain()["slots"]} | self.slots

    def say(self, text: str, intent: str = "inform", confidence: float = 0.9) -> list[str]:
        """One user message; returns what the assistant answered (response names)."""
        before = len(self.said)
        ranked = {"name": intent, "confidence": confidence}
        message = {"text": text, "intent": ranked, "intent_ranking": [ranked], "entities": []}
        events: list[dict[str, Any]] = [{"event": "user", "text": text, "parse_data": message}]
        requested = self.slots.get("requested_slot")
        if not self.active:
            self.active = True
            self.slots["requested_slot"] = None
        elif (value := _mapped_value(self.form, requested, text, intent)) is not _NOTHING:
            assert requested is not None
            self.slots[requested] = value
            events.append({"event": "slot", "name": requested, "value": value})
        asked = self._run(self.validation, message, events)
        # What Rasa's tracker would hold from now on: the message, and the slots set.
        self.history += [
            *events,
            *self._uttered,
            *({"event": "slot", "name": name, "value": value} for name, value in self._set),
        ]
        if not asked:
            # The validation left the choice to Rasa (its required slots are the domain's):
            # the first empty slot of the form in the domain's order.
            required = domain()["forms"][self.form]["required_slots"]
            self.slots["requested_slot"] = next(
                (slot for slot in required if self.slots.get(slot) is None), None
            )
        requested = self.slots.get("requested_slot")
        if requested is None:
            self.active, self.finished = False, True
            self._run(self.submit, message, [])
        else:
            self.said.append(f"utter_ask_{requested}")
        return self.said[before:]

    def _run(self, action: Action, message: dict[str, Any], events: list[dict[str, Any]]) -> bool:
        """Run the action; whether it set the requested slot."""
        tracker = Tracker(
            self.sender,
            dict(self.slots),
            message,
            [*self.history, *events],
            False,
            None,
            {"name": self.form} if self.active else {},
            "action_listen",
        )
        dispatcher = CollectingDispatcher()
        result = action.run(dispatcher, tracker, domain())
        if inspect.isawaitable(result):
            # rasa_sdk's `run` is a coroutine function (typed as an awaitable).
            result = asyncio.run(cast("Coroutine[Any, Any, list[dict[str, Any]]]", result))
        self._set = []
        for event in result:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
                self._set.append((event["name"], event["value"]))
        # Rasa puts the action's messages before its other events, each with the
        # response's name.
        self._uttered = [
            {"event": "bot", "text": sent.get("text"), "metadata": {"utter_action": name}}
            if (name := sent.get("response"))
            else {"event": "bot", "text": sent.get("text"), "metadata": {}}
            for sent in dispatcher.messages
        ]
        for sent in dispatcher.messages:
            self.said.append(sent.get("response") or sent.get("text") or "")
        return any(
            event.get("event") == "slot" and event["name"] == "requested_slot" for event in result
        )
