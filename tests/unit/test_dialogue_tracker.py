"""StateCachingTracker: the same past states as Rasa's tracker, worked out once per event."""

from __future__ import annotations

from unittest import mock

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.dialogue.tracker import StateCachingTracker

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, ask_bill, inform, affirm]
entities: [account]
slots:
  account:
    type: text
    mappings: [{type: from_entity, entity: account}]
  confirmed:
    type: bool
    influence_conversation: true
    mappings: [{type: from_intent, intent: affirm, value: true}]
responses:
  utter_greet: [{text: "您好"}]
  utter_ask_account: [{text: "请提供户号"}]
forms:
  bill_form:
    required_slots: [account]
actions: [action_lookup]
"""
)

EVENTS = [
    SessionStarted(),
    ActionExecuted("action_listen"),
    UserUttered("你好", {"name": "greet", "confidence": 1.0}),
    ActionExecuted("utter_greet"),
    ActionExecuted("action_listen"),
    UserUttered("查账单", {"name": "ask_bill", "confidence": 1.0}),
    ActionExecuted("bill_form"),
    ActiveLoop("bill_form"),
    SlotSet("requested_slot", "account"),
    ActionExecuted("action_listen"),
    UserUttered(
        "31001001",
        {"name": "inform", "confidence": 1.0},
        [{"entity": "account", "value": "31001001"}],
    ),
    SlotSet("account", "31001001"),
    ActionExecuted("bill_form"),
    ActiveLoop(None),
    ActionExecuted("action_lookup"),
    ActionExecuted("action_listen"),
    UserUttered("好的", {"name": "affirm", "confidence": 1.0}),
    SlotSet("confirmed", True),
]

WAYS = [
    {},
    {"omit_unset_slots": True},
    {"ignore_rule_only_turns": True, "rule_only_data": {"slots": ["confirmed"], "loops": []}},
    {"ignore_rule_only_turns": True, "rule_only_data": {"slots": [], "loops": ["bill_form"]}},
]


@pytest.mark.parametrize("way", WAYS)
def test_the_states_are_rasas_after_every_event(way):
    caching = StateCachingTracker("a", DOMAIN.slots)
    plain = DialogueStateTracker("a", DOMAIN.slots)
    for event in EVENTS:
        caching.update(event, DOMAIN)
        plain.update(event, DOMAIN)
        expected = plain.past_states(DOMAIN, **way)
        assert caching.past_states(DOMAIN, **way) == expected
        assert caching.past_states(DOMAIN, **way) == expected  # from the cache


def test_the_states_are_worked_out_once_per_event_and_handed_out_as_copies():
    tracker = StateCachingTracker.from_events("a", EVENTS[:8], DOMAIN.slots)
    with mock.patch.object(
        DOMAIN, "states_for_tracker_history", wraps=DOMAIN.states_for_tracker_history
    ) as worked_out:
        first = tracker.past_states(DOMAIN)
        first[-1].clear()  # the featurisers edit what they get
        first.append({"user": {"intent": "edited"}})
        second = tracker.past_states(DOMAIN)
        assert worked_out.call_count == 1
        assert second != first and second[-1]
        tracker.update(ActionExecuted("action_listen"), DOMAIN)
        third = tracker.past_states(DOMAIN)
        assert worked_out.call_count == 2
        assert third[-1]["prev_action"] == {"action_name": "action_listen"}


def test_the_project_tracker_store_makes_caching_trackers(tmp_path):
    import asyncio

    from bot.infra.tracker_store import ThreadedSQLTrackerStore

    store = ThreadedSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))

    async def scenario() -> None:
        new = await store.get_or_create_tracker("someone")
        assert isinstance(new, StateCachingTracker)
        new.update(ActionExecuted("action_listen"))
        await store.save(new)
        again = await store.retrieve("someone")
        assert isinstance(again, StateCachingTracker)
        assert list(again.events) == list(new.events)

    asyncio.run(scenario())
