"""CachingTEDPolicy: the same answers as TEDPolicy, without the model for seen states.

A small TED is trained here on a toy domain (a few seconds), then asked about every
prefix of every story with the cache and without it.
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

import pytest
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.core.training import load_data
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.dialogue.ted import CACHE_SIZE, CachingTEDPolicy, PredictionCache, _Answer, freeze

DOMAIN = """
version: "3.1"
intents: [greet, ask_hours, ask_bill, affirm, deny, goodbye]
entities: [account]
slots:
  account:
    type: text
    mappings: [{type: from_entity, entity: account}]
responses:
  utter_greet: [{text: "您好"}]
  utter_hours: [{text: "九点到五点"}]
  utter_ask_account: [{text: "请提供户号"}]
  utter_bill: [{text: "账单"}]
  utter_ok: [{text: "好的"}]
  utter_goodbye: [{text: "再见"}]
actions: [action_lookup]
"""

STORIES = """
version: "3.1"
stories:
- story: hours
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ask_hours
  - action: utter_hours
- story: bill with account
  steps:
  - intent: ask_bill
    entities: [{account: "31001001"}]
  - slot_was_set: [{account: "31001001"}]
  - action: action_lookup
  - action: utter_bill
  - intent: goodbye
  - action: utter_goodbye
- story: bill without account
  steps:
  - intent: ask_bill
  - action: utter_ask_account
  - intent: affirm
  - action: utter_ok
  - intent: deny
  - action: utter_goodbye
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[CachingTEDPolicy, Domain, list[DialogueStateTracker]]:
    workdir: Path = tmp_path_factory.mktemp("ted")
    domain = Domain.from_yaml(DOMAIN)
    stories = workdir / "stories.yml"
    stories.write_text(STORIES, encoding="utf-8")
    trackers = load_data(str(stories), domain, augmentation_factor=0)
    (workdir / "storage").mkdir()
    policy = CachingTEDPolicy.create(
        {**CachingTEDPolicy.get_default_config(), "epochs": 3, "random_seed": 7},
        LocalModelStorage(workdir / "storage"),
        Resource("ted"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    policy.train(trackers, domain)
    return policy, domain, trackers


def prefixes(domain: Domain, trackers) -> list[DialogueStateTracker]:
    """Every point of every story where the policy has to choose the next action."""
    found = []
    for training in trackers:
        events = list(training.events)
        for end, event in enumerate(events):
            if isinstance(event, ActionExecuted) and end > 0:
                found.append(
                    DialogueStateTracker.from_events(training.sender_id, events[:end], domain.slots)
                )
    return found


def test_freeze_ignores_key_order_and_list_kind():
    one = [{"user": {"intent": "greet", "entities": ["a", "b"]}, "slots": {"x": (1.0,)}}]
    other = [{"slots": {"x": [1.0]}, "user": {"entities": ("a", "b"), "intent": "greet"}}]
    assert freeze(one) == freeze(other)
    assert hash(freeze(one)) == hash(freeze(other))
    assert freeze([{"user": {"intent": "greet"}}]) != freeze([{"user": {"intent": "deny"}}])


def test_the_cache_forgets_the_least_recently_used_answer_first():
    cache: PredictionCache[_Answer] = PredictionCache(2)
    cache.put("a", _Answer(array("d", [1.0]), None))
    cache.put("b", _Answer(array("d", [2.0]), None))
    assert cache.get("a") is not None  # "a" is now the most recent
    cache.put("c", _Answer(array("d", [3.0]), None))
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None
    assert len(cache) == 2 and (cache.hits, cache.misses) == (3, 1)


def test_cached_answers_are_the_models_answers(trained, monkeypatch):
    policy, domain, trackers = trained
    points = prefixes(domain, trackers)
    assert len(points) > 10
    uncached = [TEDPolicy.predict_action_probabilities(policy, t, domain) for t in points]

    calls = []
    run_inference = policy.model.run_inference

    def counted_inference(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return run_inference(*args, **kwargs)

    monkeypatch.setattr(policy.model, "run_inference", counted_inference)
    for _ in range(3):
        for tracker, expected in zip(points, uncached, strict=True):
            got = policy.predict_action_probabilities(tracker, domain)
            assert got.probabilities == expected.probabilities  # exactly the same floats
            assert got.max_confidence_index == expected.max_confidence_index
            assert not got.is_end_to_end_prediction
    distinct = len(
        {
            freeze(
                policy.featurizer.prediction_states(
                    [t], domain, ignore_rule_only_turns=True, ignore_action_unlikely_intent=True
                )
            )
            for t in points
        }
    )
    # The model ran once per distinct state sequence, not once per question.
    assert len(calls) == distinct < 3 * len(points)
    assert policy.prediction_cache.hits == 3 * len(points) - distinct


def test_a_new_conversation_reaching_a_seen_state_is_answered_from_memory(trained):
    policy, domain, _ = trained

    def conversation(sender: str) -> DialogueStateTracker:
        return DialogueStateTracker.from_events(
            sender,
            [
                ActionExecuted("action_listen"),
                UserUttered("几点开门", {"name": "ask_hours", "confidence": 1.0}),
            ],
            domain.slots,
        )

    first = policy.predict_action_probabilities(conversation("a"), domain)
    hits = policy.prediction_cache.hits
    again = policy.predict_action_probabilities(conversation("b"), domain)
    assert policy.prediction_cache.hits == hits + 1
    assert again.probabilities == first.probabilities
    # Each answer is a list of its own: the ensemble zeroes a rejected action in place.
    again.probabilities[0] = 42.0
    assert (
        policy.predict_action_probabilities(conversation("c"), domain).probabilities
        == first.probabilities
    )


def test_a_cache_size_of_zero_always_asks_the_model(tmp_path, trained):
    policy, domain, trackers = trained
    off = CachingTEDPolicy(
        {**policy.config, CACHE_SIZE: 0},
        policy._model_storage,
        policy._resource,
        ExecutionContext(GraphSchema({}), "test"),
        model=policy.model,
        featurizer=policy.featurizer,
        fake_features=policy.fake_features,
        entity_tag_specs=policy._entity_tag_specs,
    )
    tracker = prefixes(domain, trackers)[0]
    off.predict_action_probabilities(tracker, domain)
    off.predict_action_probabilities(tracker, domain)
    assert len(off.prediction_cache) == 0 and off.prediction_cache.hits == 0
