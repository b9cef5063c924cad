"""Loading Rasa's TensorFlow models (DIET, TED) for serving without training them first.

Rasa's `RasaModel.load` builds a model's variables by training it for one step on one
example (`model.fit`), then overwrites them with the saved weights. That step traces the
training graph, gradients included, and creates the optimizer's slots: 287 MB of the Rasa
server's memory for DIET and 172 MB for TED here, kept for as long as the server runs,
for a graph that serving never runs again (README, Speed).

`load_for_serving` builds the same model, asks the checkpoint for its weights before
they exist, and runs the one prediction Rasa's loader runs anyway: TensorFlow restores
each variable as that prediction creates it (deferred restoration). Every variable the
prediction needs must then have come from the checkpoint
(`assert_existing_objects_matched`); what only training creates (the optimizer's slots,
the loss layers) is left unread. If anything does not match, the model is loaded Rasa's
way instead. The model then calls its traced prediction graph directly
(`call_concretely`). The answers are the same floats as the stock loader's:
`tests/unit/test_lean_models.py` checks a DIET and a TED trained there, and
`tests/e2e/test_lean_models.py` the project's model on the held-out NLU set.

`install()` puts it in place of `RasaModel.load` in the serving Rasa process
(`bot.runtime.rasa_server`); training, `rasa test` and incremental training
(`finetune_mode`) keep Rasa's loader.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

_INSTALLED = "_service_assistant_lean"


def _stock_load() -> Any:
    """Rasa's own `RasaModel.load` (the function, before `install` replaced it)."""
    from rasa.utils.tensorflow.models import RasaModel

    current = RasaModel.load.__func__
    return getattr(current, "_stock", current)


def load_for_serving(
    cls: Any,
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """`RasaModel.load` without the training step (see the module doc); the same
    arguments and result."""
    stock = _stock_load()
    if finetune_mode or predict_data_example is None:
        return stock(
            cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
            *args, **kwargs,
        )  # fmt: skip

    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY

    config = kwargs.get("config", {})
    model = cls(*args, **kwargs)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
        run_eagerly=config.get(RUN_EAGERLY),
    )
    status = model.load_weights(model_file_name)
    model.run_inference(predict_data_example)
    try:
        status.assert_existing_objects_matched()
    except AssertionError as unmatched:
        logger.warning(
            "%s: not every variable came from the checkpoint (%s); loading it Rasa's way",
            cls.__name__,
            str(unmatched)[:300],
        )
        return stock(
            cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
            *args, **kwargs,
        )  # fmt: skip
    status.expect_partial()  # the optimizer's slots and training-only layers stay unread
    call_concretely(model)
    logger.debug("%s loaded for serving without a training step", cls.__name__)
    return model


def call_concretely(model: Any) -> None:
    """Make the model's prediction call its traced graph directly.

    Rasa wraps `predict_step` in a `tf.function` with an input signature and calls that
    for every message: each call matches its arguments against the signature and looks
    up the traced graph (3.3 ms a DIET prediction here, against 2.0 ms for the graph
    itself). With a signature there is exactly one graph, so the model keeps it and calls
    it: the same graph, the same inputs.
    """
    step = getattr(model, "_tf_predict_step", None)
    if step is None or getattr(step, "input_signature", None) is None:
        return
    model._tf_predict_step = step.get_concrete_function()


def install() -> None:
    """Load Rasa's TensorFlow models with `load_for_serving` in this process."""
    from rasa.utils.tensorflow.models import RasaModel

    current = RasaModel.load.__func__
    if getattr(current, _INSTALLED, False):
        return

    def load(cls: Any, *args: Any, **kwargs: Any) -> Any:
        return load_for_serving(cls, *args, **kwargs)

    load._stock = current  # type: ignore[attr-defined]
    setattr(load, _INSTALLED, True)
    RasaModel.load = classmethod(load)


def uninstall() -> None:
    """Put Rasa's own loader back (tests)."""
    from rasa.utils.tensorflow.models import RasaModel

    current = RasaModel.load.__func__
    if getattr(current, _INSTALLED, False):
        RasaModel.load = classmethod(current._stock)
