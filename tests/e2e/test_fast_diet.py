"""The project's model answers every held-out NLU message with the same intent and
intent ranking when DIET's intents come from numpy (`bot.runtime.fast_diet`) as when they
come from TensorFlow: the same names in the same order, confidences within 1e-5. The model
is loaded as the serving Rasa process loads it (`bot.runtime.lean_models`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.nlu.classifiers.diet_classifier import DIETClassifier

from bot.infra.settings import PROJECT_ROOT
from bot.nlu.evaluate import HELDOUT_PATH, load_examples
from bot.runtime import fast_diet, lean_models
from tests.unit.test_fast_diet import counting

MODEL = PROJECT_ROOT / "models" / "service-assistant.tar.gz"
TOLERANCE = 1e-5

pytestmark = [
    pytest.mark.skipif(not MODEL.exists(), reason="no trained model: make train"),
    # Loading the whole model in this process imports what the servers import (matplotlib
    # through an old pyparsing API, Rasa's SQLAlchemy 1.4 code): this test is about the
    # answers.
    pytest.mark.filterwarnings("ignore"),
]


def diet_component(agent: Agent) -> DIETClassifier:
    nodes = agent.processor.graph_runner._instantiated_nodes
    found = [node._component for node in nodes.values() if type(node._component) is DIETClassifier]
    assert len(found) == 1
    return found[0]


def parses(agent: Agent, texts: list[str]) -> list[dict[str, Any]]:
    async def parse_all() -> list[dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(parse_all())


def differences(expected: dict[str, Any], got: dict[str, Any]) -> list[float]:
    """The confidence differences of two parses of one text (asserting the same labels)."""
    text = expected["text"]
    assert got["intent"]["name"] == expected["intent"]["name"], text
    assert [label["name"] for label in got["intent_ranking"]] == [
        label["name"] for label in expected["intent_ranking"]
    ], text
    pairs = [(got["intent"], expected["intent"])]
    pairs += list(zip(got["intent_ranking"], expected["intent_ranking"], strict=True))
    return [abs(one["confidence"] - other["confidence"]) for one, other in pairs]


def test_numpy_intents_are_tensorflows_on_the_heldout_set():
    texts = [text for text, _ in load_examples(HELDOUT_PATH)]
    assert len(texts) > 500
    lean_models.install()
    try:
        agent = Agent.load(str(MODEL))
    finally:
        lean_models.uninstall()
    expected = parses(agent, texts)

    diet = diet_component(agent)
    calls: list[int] = []
    diet.model.run_inference = counting(diet.model.run_inference, calls)
    fast_diet.install()
    try:
        got = parses(agent, texts)
    finally:
        fast_diet.uninstall()

    assert fast_diet.numpy_diet(diet) is not None, "the project's DIET is not supported"
    assert calls == [], "some messages still went through TensorFlow"
    worst = max(max(differences(one, other)) for one, other in zip(expected, got, strict=True))
    assert worst <= TOLERANCE
