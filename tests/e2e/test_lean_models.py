"""The project's model as the serving Rasa process runs it (loaded by
`bot.runtime.lean_models`, its graph run by `bot.runtime.graph_runner`) answers exactly as
Rasa's own loader and dask do: every intent ranking of the held-out NLU set, and TED's
probabilities and the whole policy ensemble's prediction at every point of every story,
the same floats."""

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
from bot.runtime import graph_runner, lean_models

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
    nodes = agent.processor.graph_runner._instantiated_nodes
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


def ensemble_answers(agent: Agent, points: list[DialogueStateTracker]) -> list[Any]:
    answers = []
    for tracker in points:
        prediction = agent.processor._predict_next_with_tracker(tracker.copy())
        answers.append(
            (
                prediction.probabilities,
                prediction.policy_name,
                prediction.events,
                prediction.action_metadata,
            )
        )
    return answers


def test_the_serving_configuration_gives_rasas_answers():
    texts = [text for text, _ in load_examples(HELDOUT_PATH)]
    stock = Agent.load(str(MODEL))
    points = story_points(stock)
    assert len(texts) > 500 and len(points) > 50
    expected_rankings = rankings(stock, texts)
    expected_ted = ted_answers(stock, points)
    expected_ensemble = ensemble_answers(stock, points)
    del stock
    gc.collect()

    lean_models.install()
    graph_runner.install()
    try:
        lean = Agent.load(str(MODEL))
    finally:
        lean_models.uninstall()
        graph_runner.uninstall()
    assert isinstance(lean.processor.graph_runner, graph_runner.SequentialGraphRunner)
    diet = component(lean, DIETClassifier)
    assert diet.model.optimizer.variables() == [] or all(
        "iteration" in variable.name for variable in diet.model.optimizer.variables()
    ), "the lean DIET model holds optimizer slots: it was trained at load"
    # The traced prediction graph is called directly (after the first prediction of the load).
    assert type(diet.model._tf_predict_step).__name__ == "ConcreteFunction"
    assert rankings(lean, texts) == expected_rankings
    assert ted_answers(lean, points) == expected_ted
    assert ensemble_answers(lean, points) == expected_ensemble
