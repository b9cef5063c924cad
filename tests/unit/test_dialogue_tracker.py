"""StateCachingTracker: the same past states as Rasa's tracker, worked out once per event."""

from __future__ import annotations

import copy
import random
from typing import Any
from unittest import mock

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.dialogue.tracker import REPLAYS, ReplayCache, StateCachingTracker, copy_states

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

WAYS: list[dict[str, Any]] = [
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
    tracker = StateCachingTracker.from_events("once", EVENTS[:8], DOMAIN.slots)
    with mock.patch.object(REPLAYS, "states", wraps=REPLAYS.states) as worked_out:
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


# Events of every kind that changes what the past states are: rewinds, restarts, new
# sessions, a form's own turns (folded away on its next run), rule-only turns, follow-ups.
POOL = [
    lambda: ActionExecuted("action_listen"),
    lambda: UserUttered("你好", {"name": "greet", "confidence": 1.0}),
    lambda: UserUttered("查账单", {"name": "ask_bill", "confidence": 0.9}),
    lambda: UserUttered(
        "31001001",
        {"name": "inform", "confidence": 1.0},
        [{"entity": "account", "value": "31001001"}],
    ),
    lambda: UserUttered("好的", {"name": "affirm", "confidence": 1.0}),
    lambda: ActionExecuted("utter_greet"),
    lambda: ActionExecuted("utter_greet", hide_rule_turn=True),
    lambda: ActionExecuted("bill_form"),
    lambda: ActiveLoop("bill_form"),
    lambda: ActiveLoop(None),
    lambda: SlotSet("requested_slot", "account"),
    lambda: SlotSet("account", "31001001"),
    lambda: SlotSet("account", "31001002"),
    lambda: SlotSet("confirmed", True),
    lambda: ActionExecuted("action_lookup"),
    lambda: FollowupAction("utter_greet"),
    lambda: UserUtteranceReverted(),
    lambda: ActionReverted(),
    lambda: Restarted(),
    lambda: SessionStarted(),
]


def test_kept_replays_give_rasas_states_for_any_history():
    """Each message, the tracker store makes a new tracker from the stored events; the
    states worked out from the kept replay are Rasa's, whatever the events were."""
    generator = random.Random(24)
    REPLAYS.clear()
    reused = REPLAYS.reused
    for conversation in range(60):
        events: list = [ActionExecuted("action_listen")]
        for _ in range(generator.randint(5, 40)):
            events.append(generator.choice(POOL)())
            tracker = StateCachingTracker.from_events(f"c{conversation}", events, DOMAIN.slots)
            plain = DialogueStateTracker.from_events("plain", events, DOMAIN.slots)
            for way in WAYS:
                assert tracker.past_states(DOMAIN, **way) == plain.past_states(DOMAIN, **way)
    assert REPLAYS.reused > reused  # the kept replays were used


def test_a_conversation_told_differently_is_replayed_from_the_start():
    first = EVENTS[:12]
    REPLAYS.clear()
    StateCachingTracker.from_events("same", first, DOMAIN.slots).past_states(DOMAIN)
    # Another history under the same sender (a reset store, edited events): a slot that
    # differs in the middle.
    other = [*EVENTS[:11], SlotSet("account", "39999999"), *EVENTS[12:]]
    tracker = StateCachingTracker.from_events("same", other, DOMAIN.slots)
    plain = DialogueStateTracker.from_events("plain", other, DOMAIN.slots)
    assert tracker.past_states(DOMAIN) == plain.past_states(DOMAIN)


def test_the_cache_keeps_the_latest_replays():
    cache = ReplayCache(2)
    for sender in ("a", "b", "c"):
        tracker = DialogueStateTracker.from_events(sender, EVENTS[:6], DOMAIN.slots)
        cache.states(tracker, DOMAIN, False, False, None)
    assert len(cache) == 2
    replayed = cache.replayed
    tracker = DialogueStateTracker.from_events("a", EVENTS[:7], DOMAIN.slots)
    cache.states(tracker, DOMAIN, False, False, None)  # "a" was let go: all again
    # (SessionStarted, the first event, starts what applied_events returns)
    assert cache.replayed - replayed == len(tracker.applied_events()) == 6
    tracker = DialogueStateTracker.from_events("a", EVENTS[:9], DOMAIN.slots)
    cache.states(tracker, DOMAIN, False, False, None)  # only the two new events
    assert cache.replayed - replayed == 8


def test_states_are_copied_as_deepcopy_copies_them():
    tracker = StateCachingTracker.from_events("copies", EVENTS, DOMAIN.slots)
    for way in WAYS:
        states = REPLAYS.states(tracker, DOMAIN, **{"omit_unset_slots": False,
                                                    "ignore_rule_only_turns": False,
                                                    "rule_only_data": None, **way})  # fmt: skip
        states.append({"user": {"entities": ["a", ("b",)], "odd": {"x": [1]}}, "other": [2]})
        copied = copy_states(states)
        assert copied == copy.deepcopy(states)
        # Nothing mutable is shared: editing the copy leaves the states as they were.
        before = copy.deepcopy(states)
        for state in copied:
            for sub_state in state.values():
                if isinstance(sub_state, dict):
                    for value in sub_state.values():
                        if isinstance(value, (list, dict)):
                            value.clear()
                    sub_state["added"] = 1
                else:
                    sub_state.clear()
        assert states == before
