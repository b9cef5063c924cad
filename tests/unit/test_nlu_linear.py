"""The linear intent classifier measured against DIET (bot/nlu/linear.py)."""

from __future__ import annotations

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource

from bot.nlu.linear import LinearIntentClassifier


def test_the_regularisation_strength_reaches_the_estimator(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    default = LinearIntentClassifier.create(
        LinearIntentClassifier.get_default_config(), storage, Resource("a"), context
    )
    assert default.clf.C == 1.0 and default.clf.class_weight == "balanced"
    config = {**LinearIntentClassifier.get_default_config(), "C": 50, "max_iter": 300}
    sharp = LinearIntentClassifier.create(config, storage, Resource("b"), context)
    assert sharp.clf.C == 50.0 and sharp.clf.max_iter == 300
