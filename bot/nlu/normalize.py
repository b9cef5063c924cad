"""Normalise Chinese text before it is segmented (`bot.reading.normalize_chinese`):
traditional characters to simplified (opencc, "我媽媽想約護士上門" -> "我妈妈想约护士上门")
and full-width forms to half-width (NFKC: "１２月３日" -> "12月3日", "？" -> "?").
Training data and incoming messages go through the same steps, so the model sees one script.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.reading import normalize_chinese

# The NLU reads at most this many characters of a message. DIET's attention grows with the
# square of the length: 1,000 characters parse in about 0.1 s, 5,000 in 4 s, and 20,000
# exhaust its memory (found by tests/e2e/test_fuzz.py). What a user means is at the start;
# the channels keep the whole text in the conversation.
MAX_NLU_CHARACTERS = 1000


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class ChineseTextNormalizer(GraphComponent):
    """Rewrites each message's text with `normalize_chinese`; goes first in the pipeline."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ChineseTextNormalizer:
        return cls()

    def _normalize(self, messages: list[Message], limit: int | None = None) -> None:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and text:
                message.set(TEXT, normalize_chinese(text[:limit]))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._normalize(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._normalize(messages, MAX_NLU_CHARACTERS)
        return messages
