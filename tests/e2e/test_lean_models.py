"""The project's model loaded for serving (`bot.runtime.lean_models`) answers exactly as
Rasa's own loader does: every intent ranking of the held-out NLU set, and TED's
probabilities at every point of every story, the same floats; and it holds less memory."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.core.training import load_data
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.trackers import DialogueStateTracker

from bot.infra.settings import PROJECT_ROOT
from bot.nlu.evaluate import HELDOUT_PATH, load_examples
from bot.runtime import lean_models

MODEL = PROJECT_ROOT / "models" / "service-assistant.tar.gz"
STORIES = [PROJECT_ROOT / "data" / "stories", PROJECT_ROOT / "tests" / "stories"]

pytestmark = [
    pytest.mark.skipif(not MODEL.exists(), reason="no trained model: make train"),
    # Loading the whole model in this process imports what the servers import (matplotlib
    # through an old pyparsing API, Rasa's SQLAlchemy 1.4 code): this test is about the
    # answers.
    pytest.mark.filterwarnings("ignore"),
]


def component(agent: Agent, kind: type) -> Any:
    """The loaded graph component of `kind` in the agent's prediction graph."""
    nodes = agent.processor.graph_runner._instantiated_nodes  # type: ignore[union-attr]
    found = [node._component for node in nodes.values() if isinstance(node._component, kind)]
    assert len(found) == 1, kind
    return found[0]


def rankings(agent: Agent, texts: list[str]) -> list[Any]:
    async def parse_all() -> list[Any]:
        return [(await agent.parse_message(text))["intent_ranking"] for text in texts]

    return asyncio.run(parse_all())


def story_points(agent: Agent) -> list[DialogueStateTracker]:
    """Every point of every story where the dialogue policy chooses the next action."""
    domain = agent.domain
    points = []
    for path in STORIES:
        for training in load_data(str(path), domain, augmentation_factor=0):
            events = list(training.events)
            points += [
                DialogueStateTracker.from_events(training.sender_id, events[:end], domain.slots)
                for end, event in enumerate(events)
                if isinstance(event, ActionExecuted) and end > 0
            ]
    return points


def ted_answers(agent: Agent, points: list[DialogueStateTracker]) -> list[list[float]]:
    ted = component(agent, TEDPolicy)
    return [
        TEDPolicy.predict_action_probabilities(ted, tracker, agent.domain).probabilities
        for tracker in points
    ]


def test_the_lean_loader_gives_the_stock_loaders_answers():
    texts = [text for text, _ in load_examples(HELDOUT_PATH)]
    stock = Agent.load(str(MODEL))
    points = story_points(stock)
    assert len(texts) > 500 and len(points) > 50
    expected_rankings = rankings(stock, texts)
    expected_ted = ted_answers(stock, points)
    del stock
    gc.collect()

    lean_models.install()
    try:
        lean = Agent.load(str(MODEL))
    finally:
        lean_models.uninstall()
    diet = component(lean, DIETClassifier)
    assert diet.model.optimizer.variables() == [] or all(
        "iteration" in variable.name for variable in diet.model.optimizer.variables()
    ), "the lean DIET model holds optimizer slots: it was trained at load"
    assert rankings(lean, texts) == expected_rankings
    assert ted_answers(lean, points) == expected_ted
