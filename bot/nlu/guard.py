"""An NLU component that refuses to guess an intent for a message with no words in it.

DIET gives some intent to anything, emoji included ("😀😀" came out as `affirm` with 0.82
confidence), and an `affirm` can confirm a form. A message with no letter, digit or
Chinese character in it is `nlu_fallback`, whatever the classifier said.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.runtime import action_guard

# Every Rasa process that loads the model (`rasa run`, `rasa shell`, `rasa test`) imports
# this component: a failing custom action gets a busy reply there too.
action_guard.install()

_WORD = re.compile(r"\w")


def has_words(text: str | None) -> bool:
    """Whether `text` holds a letter, a digit or a Chinese character."""
    return bool(text and _WORD.search(text))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ContentlessMessageGuard(GraphComponent, IntentClassifier):
    """Sets `nlu_fallback` for messages without words (emoji, punctuation, blanks)."""

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
    ) -> ContentlessMessageGuard:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if has_words(message.get(TEXT)):
                continue
            fallback = {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": 1.0}
            message.set(INTENT, fallback, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [fallback], add_to_output=True)
        return messages
