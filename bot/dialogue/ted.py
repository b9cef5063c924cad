"""TEDPolicy that remembers its predictions by dialogue state.

Rasa runs every policy for every prediction, twice per turn with a custom action (the
action, then `action_listen`), and TED is the costly one: featurising the tracker and a
TensorFlow call took a third of the Rasa server's thread in `make bench`. Yet TED sees a
conversation only through its last `max_history` states (intent, entities, slots that
influence the conversation, active loop, previous action), and the same states give the
same answer. Conversations with a service assistant pass through the same states again
and again, so `CachingTEDPolicy` keeps the answers for the most recently seen distinct
states (`prediction_cache_size`: 5,000 by default, a few KB each; 0 turns it off) and
does not ask the model again for them. The 29 test stories, every flow once, pass through
76 distinct states in 85 predictions; `make bench`, one question asked again and again,
finds its states in the cache after the first turn.

Computing the states is the cheap part and is what TED does first anyway; an answer is
reused only when the model reads nothing but those states: no end-to-end text features
(a model trained on stories with user text, or given precomputed text features, is never
cached). Answers belong to the loaded model: a new model starts with an empty cache.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rasa.core.featurizers.precomputation import MessageContainerForCoreFeaturization
from rasa.core.policies.policy import PolicyPrediction, SupportedData
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

CACHE_SIZE = "prediction_cache_size"
DEFAULT_CACHE_SIZE = 5_000


def freeze(value: Any) -> Hashable:
    """A hashable copy of a state: dicts become sorted item tuples, lists tuples."""
    if isinstance(value, dict):
        return tuple(sorted((key, freeze(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    return value


@dataclass(frozen=True)
class _Answer:
    probabilities: array  # doubles: the model's floats exactly, in a quarter of a list's room
    diagnostic_data: dict[str, Any] | None


V = TypeVar("V")


class PredictionCache(Generic[V]):
    """A bounded map (here from frozen states to answers; `bot.dialogue.tracker` keeps its
    replays in one too), least recently used out first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._answers: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._answers.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, key: Hashable, answer: V) -> None:
        with self._lock:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True
)
class CachingTEDPolicy(TEDPolicy):
    """TEDPolicy that answers again from memory when it has seen the same states."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**TEDPolicy.get_default_config(), CACHE_SIZE: DEFAULT_CACHE_SIZE}

    @property
    def prediction_cache(self) -> PredictionCache[_Answer]:
        cache: PredictionCache[_Answer] | None = self.__dict__.get("_prediction_cache")
        if cache is None:
            cache = PredictionCache(int(self.config.get(CACHE_SIZE, DEFAULT_CACHE_SIZE)))
            self.__dict__["_prediction_cache"] = cache
        return cache

    def _reads_only_states(
        self, precomputations: MessageContainerForCoreFeaturization | None
    ) -> bool:
        return (
            self.model is not None
            and self.prediction_cache.size > 0
            and precomputations is None
            and not self.only_e2e
            and TEXT not in self.fake_features
        )

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        precomputations: MessageContainerForCoreFeaturization | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Predicts the next action (see TEDPolicy), from memory for states seen before."""
        if not self._reads_only_states(precomputations):
            return super().predict_action_probabilities(
                tracker, domain, rule_only_data, precomputations, **kwargs
            )
        # The states exactly as TEDPolicy._featurize_for_prediction computes them.
        ml_data_only = self.supported_data() == SupportedData.ML_DATA
        states = self.featurizer.prediction_states(
            [tracker],
            domain,
            use_text_for_last_user_input=False,
            ignore_rule_only_turns=ml_data_only,
            rule_only_data=rule_only_data,
            ignore_action_unlikely_intent=ml_data_only,
        )
        key = freeze(states)
        answer = self.prediction_cache.get(key)
        if answer is None:
            prediction = super().predict_action_probabilities(
                tracker, domain, rule_only_data, precomputations, **kwargs
            )
            self.prediction_cache.put(
                key,
                _Answer(
                    array("d", prediction.probabilities),
                    prediction.diagnostic_data,
                ),
            )
            return prediction
        # A fresh list: the ensemble zeroes a rejected action in place.
        return self._prediction(list(answer.probabilities), diagnostic_data=answer.diagnostic_data)
