"""The project's model with `bot.runtime.rule_lookup` installed predicts exactly what
Rasa's RulePolicy-led ensemble predicts at every point of every story, the first time a
state is seen (nothing remembered) and the second (everything remembered)."""

from __future__ import annotations

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.rule_policy import RulePolicy

from bot.runtime import rule_lookup
from tests.e2e.test_lean_models import MODEL, component, ensemble_answers, story_points

pytestmark = [
    pytest.mark.skipif(not MODEL.exists(), reason="no trained model: make train"),
    pytest.mark.filterwarnings("ignore"),
]


def test_remembered_rule_matches_give_rasas_predictions():
    agent = Agent.load(str(MODEL))
    points = story_points(agent)
    assert len(points) > 50
    expected = ensemble_answers(agent, points)

    rule_lookup.install()
    try:
        first = ensemble_answers(agent, points)
        remembered = component(agent, RulePolicy).__dict__[rule_lookup._CACHE]
        misses = remembered.misses
        second = ensemble_answers(agent, points)
    finally:
        rule_lookup.uninstall()

    assert first == expected
    assert second == expected
    assert remembered.misses == misses and remembered.hits > 0, "the second pass was not remembered"
