"""Out-of-scope sub-intents are added back into one `out_of_scope`."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.out_of_scope import OutOfScopeMerger, merge_ranking


def test_sub_intents_are_summed_and_can_outrank_a_service() -> None:
    ranking = [
        {"name": "check_gas_bill", "confidence": 0.40},
        {"name": "oos_utility", "confidence": 0.35},
        {"name": "oos_chitchat", "confidence": 0.15},
        {"name": "out_of_scope", "confidence": 0.05},
        {"name": "greet", "confidence": 0.05},
    ]
    merged = merge_ranking(ranking)
    assert merged[0]["name"] == "out_of_scope"
    assert merged[0]["confidence"] == pytest.approx(0.55)
    assert [entry["name"] for entry in merged] == ["out_of_scope", "check_gas_bill", "greet"]


def test_a_ranking_without_out_of_scope_is_unchanged() -> None:
    ranking = [{"name": "greet", "confidence": 0.9}, {"name": "thank", "confidence": 0.1}]
    assert merge_ranking(ranking) == ranking


def test_the_component_rewrites_intent_and_ranking() -> None:
    message = Message(data={TEXT: "帮我交电费"})
    message.set(INTENT, {"name": "oos_utility", "confidence": 0.7})
    message.set(
        INTENT_RANKING_KEY,
        [
            {"name": "oos_utility", "confidence": 0.7},
            {"name": "check_gas_bill", "confidence": 0.2},
            {"name": "oos_services", "confidence": 0.1},
        ],
    )
    OutOfScopeMerger().process([message])
    assert message.get(INTENT) == {"name": "out_of_scope", "confidence": pytest.approx(0.8)}
    assert [entry["name"] for entry in message.get(INTENT_RANKING_KEY)] == [
        "out_of_scope",
        "check_gas_bill",
    ]


def test_a_message_without_classification_is_left_alone() -> None:
    message = Message(data={TEXT: "你好"})
    OutOfScopeMerger().process([message])
    assert message.get(INTENT) is None
