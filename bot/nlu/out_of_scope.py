"""One `out_of_scope` intent, learnt as several.

Everything the assistant does not do is a very mixed class: other utilities' bills,
hospitals and schools, chit-chat, code and keyboard mash. One label embedding for all of
it is a poor fit, so the training data splits it into sub-intents named `oos_*`
(`oos_utility`, `oos_services`, `oos_chitchat`, `oos_junk`) besides `out_of_scope`
itself. This component, placed after the classifier and before the FallbackClassifier,
merges them back: their confidences are added into `out_of_scope`, so the dialogue, the
fallback threshold and the evaluation only ever see `out_of_scope`.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

OUT_OF_SCOPE = "out_of_scope"
SUB_INTENT_PREFIX = "oos_"


def is_out_of_scope(intent_name: str | None) -> bool:
    return intent_name == OUT_OF_SCOPE or bool(
        intent_name and intent_name.startswith(SUB_INTENT_PREFIX)
    )


def merge_ranking(ranking: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ranking with every out-of-scope sub-intent folded into `out_of_scope`."""
    merged = [dict(entry) for entry in ranking if not is_out_of_scope(entry.get("name"))]
    parts = [entry for entry in ranking if is_out_of_scope(entry.get("name"))]
    if parts:
        confidence = sum(float(entry.get("confidence") or 0.0) for entry in parts)
        merged.append({"name": OUT_OF_SCOPE, "confidence": min(1.0, confidence)})
    return sorted(merged, key=lambda entry: -float(entry.get("confidence") or 0.0))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class OutOfScopeMerger(GraphComponent, IntentClassifier):
    """Adds the confidences of the `oos_*` sub-intents into `out_of_scope`."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OutOfScopeMerger:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            ranking = message.get(INTENT_RANKING_KEY) or []
            if not ranking and not is_out_of_scope(intent.get("name")):
                continue
            if not ranking:
                ranking = [intent]
            merged = merge_ranking(ranking)
            message.set(INTENT_RANKING_KEY, merged, add_to_output=True)
            message.set(INTENT, dict(merged[0]), add_to_output=True)
        return messages
