"""DIET's intent classification of one message in numpy, with the loaded model's weights.

For every message the Rasa server spends a quarter of its turn in
`DIETClassifier.process` (issue 24): half of it in the TensorFlow call, the other half in
building the model's input for a batch of one (`RasaModelData`, padding, the data
generator), for a transformer of one layer over a dozen tokens. The same arithmetic in
numpy on the weights already loaded costs a fraction of that: 0.5 ms of CPU a message
instead of 4.2 ms, and a whole NLU parse 2.4 ms instead of 6.6 (300 parses of the
project's model, one process).

`NumpyDIET.from_classifier` reads the weights of a loaded DIET from its TensorFlow
layers, in the order `DIET.batch_predict` applies them:

1. the message's sparse sequence (one row per token) and sentence (one row) features,
   as `Message.get_sparse_features` combines them: each featurizer's columns after the
   previous one's, times the `sparse_to_dense` kernels, plus their biases
   (`ConcatenateSparseDenseFeatures`);
2. the sentence row after the token rows (`RasaFeatureCombiningLayer`): one message has
   no padding, so no masks;
3. the text's `Ffnn` (gelu layers, if any), then the transformer (`TransformerEncoder`):
   embedding times sqrt(units) plus the sinusoidal positions; per layer, pre-norm
   multi-head attention and a pre-norm gelu feed-forward block, each added back; a final
   layer norm; then gelu (`RasaSequenceLayer`);
4. the last row (the sentence position), `embed.text`, inner products with the label
   embeddings DIET computed at load (`all_labels_embed`), softmax
   (`DotProductLoss.get_similarities_and_confidences_from_embeddings`).

Randomly connected layers use their kernel times its mask, as their `call` does. The
scores then go through DIET's own `_predict_label` (ranking length, renormalisation,
label names), so `process` sets the same `intent` and `intent_ranking`: the same order
and the same confidences within float32 rounding (`tests/unit/test_fast_diet.py` on a
DIET trained there, `tests/e2e/test_fast_diet.py` on the project's model and the
held-out NLU set).

Anything else keeps Rasa's path: entity recognition, dense features, relative or
unidirectional attention, cosine similarity, a confidence other than softmax, an
unexpected layer, diagnostic data requested, a message whose features do not fit. The
reason a model is not supported is logged once.

`install()` wraps `DIETClassifier._predict` in the serving Rasa process
(`bot.runtime.rasa_server`) unless `DIET_NUMPY=off`; training and `rasa test` keep
TensorFlow.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import erf
from threadpoolctl import ThreadpoolController

logger = logging.getLogger(__name__)

_INSTALLED = "_service_assistant_fast_diet"
# Set on each DIETClassifier: (its model, its NumpyDIET or None when unsupported).
_CACHE = "_service_assistant_numpy_diet"
# Positions of the sinusoidal encoding read from TensorFlow at load; longer messages
# (tokens + 1) go through TensorFlow.
MAX_POSITIONS = 512
_SQRT_HALF = np.float32(1 / np.sqrt(2))
_SMALLEST_NORMAL = np.finfo(np.float32).tiny


class Unsupported(Exception):
    """The loaded DIET uses something `NumpyDIET` does not compute."""


@dataclass(frozen=True)
class Dense:
    """A dense layer: x @ kernel + bias, then gelu if `gelu`."""

    kernel: np.ndarray
    bias: np.ndarray | None
    gelu: bool = False

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.kernel
        if self.bias is not None:
            y += self.bias
        return gelu(y) if self.gelu else y


@dataclass(frozen=True)
class LayerNorm:
    gamma: np.ndarray
    beta: np.ndarray
    epsilon: np.float32

    def __call__(self, x: np.ndarray) -> np.ndarray:
        # tf.nn.moments, then tf.nn.batch_normalization's order of operations.
        mean = x.mean(axis=-1, keepdims=True)
        variance = np.square(x - mean).mean(axis=-1, keepdims=True)
        scale = self.gamma / np.sqrt(variance + self.epsilon)
        return x * scale + (self.beta - mean * scale)


@dataclass(frozen=True)
class EncoderLayer:
    """One `TransformerEncoderLayer`, without relative positions and bidirectional."""

    attention_norm: LayerNorm
    query: Dense
    key: Dense
    value: Dense
    attention_output: Dense
    num_heads: int
    feed_forward_norm: LayerNorm
    feed_forward_in: Dense
    feed_forward_out: Dense

    def __call__(self, x: np.ndarray, last_row_only: bool = False) -> np.ndarray:
        """The layer's output rows, or only its last row (each row's output depends on
        the other rows only through the attention's keys and values)."""
        normed = self.attention_norm(x)
        queries = normed[-1:] if last_row_only else normed
        x = x[-1:] if last_row_only else x
        x = x + self.attention(queries, normed)
        return x + self.feed_forward_out(self.feed_forward_in(self.feed_forward_norm(x)))

    def attention(self, queries: np.ndarray, source: np.ndarray) -> np.ndarray:
        units = source.shape[1]
        depth = units // self.num_heads

        def heads(y: np.ndarray) -> np.ndarray:  # (heads, length, depth)
            return y.reshape(len(y), self.num_heads, depth).transpose(1, 0, 2)

        query, key, value = (
            heads(self.query(queries)),
            heads(self.key(source)),
            heads(self.value(source)),
        )
        logits = (query @ key.transpose(0, 2, 1)) / np.sqrt(np.float32(depth))
        combined = (softmax(logits) @ value).transpose(1, 0, 2).reshape(len(queries), units)
        return self.attention_output(combined)


@dataclass(frozen=True)
class Encoder:
    """A `TransformerEncoder`, then the gelu `RasaSequenceLayer` applies to its output."""

    embedding: Dense
    units: int
    positions: np.ndarray  # (MAX_POSITIONS, units)
    layers: tuple[EncoderLayer, ...]
    final_norm: LayerNorm

    def __call__(self, x: np.ndarray) -> np.ndarray | None:
        """The encoded last row (the sentence's); None beyond MAX_POSITIONS rows."""
        if len(x) > len(self.positions):
            return None
        x = self.embedding(x) * np.sqrt(np.float32(self.units)) + self.positions[: len(x)]
        for number, layer in enumerate(self.layers, start=1):
            x = layer(x, last_row_only=number == len(self.layers))
        return gelu(self.final_norm(x))


@dataclass(frozen=True)
class NumpyDIET:
    """The intent scores of a loaded DIET for one message (see the module doc)."""

    sequence_to_dense: Dense
    sentence_to_dense: Dense
    hidden_layers: tuple[Dense, ...]
    encoder: Encoder | None  # None with 0 transformer layers
    text_embed: Dense
    label_embeddings: np.ndarray  # (labels, embedding dimension)
    featurizers: tuple[str, ...]

    @classmethod
    def from_classifier(cls, classifier: Any) -> NumpyDIET:
        """Read the weights of `classifier`'s loaded model; `Unsupported` if it uses
        something this class does not compute."""
        from rasa.nlu.classifiers.diet_classifier import DIETClassifier

        if type(classifier) is not DIETClassifier:  # a ResponseSelector, for one
            raise Unsupported(f"component {type(classifier).__name__}")
        check_config(classifier.component_config)
        model = classifier.model
        check_model(model)
        sequence_layer = model._tf_layers["sequence_layer.text"]
        layers = sequence_layer._tf_layers
        to_dense = sparse_to_dense_layers(layers["feature_combining"])
        return cls(
            sequence_to_dense=to_dense["sequence"],
            sentence_to_dense=to_dense["sentence"],
            hidden_layers=read_ffnn(layers["ffnn"]),
            encoder=read_encoder(layers["transformer"])
            if sequence_layer._has_transformer
            else None,
            text_embed=read_dense(model._tf_layers["embed.text"]._dense),
            label_embeddings=model.all_labels_embed.numpy(),
            featurizers=tuple(classifier.component_config.get("featurizers") or ()),
        )

    def scores(self, message: Any) -> np.ndarray | None:
        """DIET's `i_scores` for `message` (shape (1, labels)); None if its features are
        not the sparse ones the model was trained on."""
        x = self.features(message)
        if x is None:
            return None
        for hidden in self.hidden_layers:
            x = hidden(x)
        if self.encoder is not None:
            x = self.encoder(x)
            if x is None:
                return None
        sentence = self.text_embed(x[-1])  # the sentence row comes last
        return softmax(self.label_embeddings @ sentence)[np.newaxis, :]

    def features(self, message: Any) -> np.ndarray | None:
        """The token rows, then the sentence row, after `sparse_to_dense` (float32)."""
        text_features = [
            feature
            for feature in message.features
            if feature.attribute == "text"
            and (not self.featurizers or feature.origin in self.featurizers)
        ]
        if any(feature.is_dense() for feature in text_features):
            return None
        sequence = [f.features for f in text_features if f.type == "sequence"]
        sentence = [f.features for f in text_features if f.type == "sentence"]
        if not sequence or not sentence:
            return None
        tokens = to_dense_rows(sequence, self.sequence_to_dense)
        sentence_row = to_dense_rows(sentence, self.sentence_to_dense)
        if tokens is None or sentence_row is None or len(sentence_row) != 1:
            return None
        return np.concatenate([tokens, sentence_row])


def to_dense_rows(matrices: list[Any], layer: Dense) -> np.ndarray | None:
    """`layer` applied to the matrices side by side (scipy sparse, in the message's
    order); None if they do not fit its kernel."""
    lengths = {matrix.shape[0] for matrix in matrices}
    if len(lengths) != 1 or sum(m.shape[1] for m in matrices) != layer.kernel.shape[0]:
        return None
    rows, columns, values = [], [], []
    offset = 0
    for matrix in matrices:
        coo = matrix.tocoo()
        rows.append(coo.row)
        columns.append(coo.col + offset)
        values.append(coo.data)
        offset += matrix.shape[1]
    row = np.concatenate(rows)
    # Each row's sum of its columns' kernel rows, as one small product (np.add.at is slow).
    selection = np.zeros((lengths.pop(), len(row)), np.float32)
    selection[row, np.arange(len(row))] = np.concatenate(values)
    dense = selection @ layer.kernel[np.concatenate(columns)]
    return dense if layer.bias is None else dense + layer.bias


def one_blas_thread() -> None:
    """Hold the BLAS libraries loaded in this process to one thread each, from now on.
    The products here are small: a second thread halves no wall time and doubles the CPU
    time (measured: 0.24 ms of wall time a message either way, 0.47 ms of CPU with two
    threads, 0.24 with one). Set once for the process, not around each message: asking
    the libraries their limits costs more than the product (1.3% of the event loop in
    py-spy). Nothing else in the Rasa server multiplies matrices with BLAS (TensorFlow
    has its own thread pools)."""
    ThreadpoolController().limit(limits=1, user_api="blas")


def gelu(x: np.ndarray) -> np.ndarray:
    """`tf.nn.gelu` (exact, not the tanh approximation)."""
    return 0.5 * x * (1.0 + erf(x * _SQRT_HALF))


def softmax(x: np.ndarray) -> np.ndarray:
    """`tf.nn.softmax` over the last axis: times the reciprocal of the sum, and with
    TensorFlow's flushing of subnormal floats to zero. A label far below the best gets a
    confidence of exactly 0.0 there, not 1e-40, and Rasa's ranking orders such ties by
    position (`rank_and_mask`'s argsort), so the zeros must be the same zeros."""
    exp = flush_subnormal(np.exp(x - x.max(axis=-1, keepdims=True)))
    return flush_subnormal(exp * np.reciprocal(exp.sum(axis=-1, keepdims=True)))


def flush_subnormal(x: np.ndarray) -> np.ndarray:
    """`x` (non-negative) with its values below float32's smallest normal set to 0."""
    x[x < _SMALLEST_NORMAL] = 0
    return x


def check_config(config: dict[str, Any]) -> None:
    """`Unsupported` unless DIET's configuration is one `NumpyDIET` computes."""
    expected = {
        "intent_classification": True,
        "entity_recognition": False,
        "model_confidence": "softmax",
        "similarity_type": "inner",
        "use_key_relative_attention": False,
        "use_value_relative_attention": False,
        "unidirectional_encoder": False,
    }
    for key, value in expected.items():
        if config.get(key) != value:
            raise Unsupported(f"{key}={config.get(key)!r}")
    for key in ("number_of_transformer_layers", "transformer_size"):
        if isinstance(config.get(key), dict):
            raise Unsupported(f"{key} per attribute")


def check_model(model: Any) -> None:
    """`Unsupported` unless `model` is a plain DIET with sparse text features only."""
    from rasa.nlu.classifiers.diet_classifier import DIET

    if type(model) is not DIET:
        raise Unsupported(f"model {type(model).__name__}")
    if model.all_labels_embed is None:
        raise Unsupported("the model is not prepared for prediction yet")
    signature = model.data_signature.get("text", {})
    for feature_type in ("sequence", "sentence"):
        signatures = signature.get(feature_type, [])
        if len(signatures) != 1 or not signatures[0].is_sparse:
            raise Unsupported(f"text {feature_type} features {signatures}")
    loss = model._tf_layers["loss.label"]
    if (loss.similarity_type, loss.model_confidence) != ("inner", "softmax"):
        raise Unsupported(f"loss {loss.similarity_type}, {loss.model_confidence}")


def sparse_to_dense_layers(combining: Any) -> dict[str, Dense]:
    """The `sparse_to_dense` layers of a `RasaFeatureCombiningLayer`, by feature type."""
    layers = combining._tf_layers
    expected = {"sparse_dense.sequence", "sparse_dense.sentence"}
    if set(layers) != expected:
        raise Unsupported(f"feature combining layers {sorted(layers)}")
    found = {}
    for feature_type in ("sequence", "sentence"):
        concatenate = layers[f"sparse_dense.{feature_type}"]._tf_layers
        if set(concatenate) - {"sparse_dropout", "sparse_to_dense", "dense_dropout"}:
            raise Unsupported(f"{feature_type} layers {sorted(concatenate)}")
        found[feature_type] = read_dense(concatenate["sparse_to_dense"])
        if found[feature_type].gelu:
            raise Unsupported(f"{feature_type} sparse_to_dense with an activation")
    return found


def read_ffnn(ffnn: Any) -> tuple[Dense, ...]:
    """The dense layers of an `Ffnn` (its dropout layers do nothing in prediction)."""
    import tensorflow as tf

    dense = [layer for layer in ffnn._ffn_layers if not isinstance(layer, tf.keras.layers.Dropout)]
    return tuple(read_dense(layer) for layer in dense)


def read_encoder(encoder: Any) -> Encoder:
    from rasa.utils.tensorflow.transformer import TransformerEncoder

    if type(encoder) is not TransformerEncoder or encoder.unidirectional:
        raise Unsupported(f"transformer {type(encoder).__name__}")
    return Encoder(
        embedding=read_dense(encoder._embedding),
        units=encoder.units,
        positions=encoder._positional_encoding(MAX_POSITIONS).numpy()[0],
        layers=tuple(read_encoder_layer(layer) for layer in encoder._enc_layers),
        final_norm=read_norm(encoder._layer_norm),
    )


def read_encoder_layer(layer: Any) -> EncoderLayer:
    import tensorflow as tf

    attention = layer._mha
    if attention.use_key_relative_position or attention.use_value_relative_position:
        raise Unsupported("relative attention")
    if attention.unidirectional:
        raise Unsupported("unidirectional attention")
    norm, feed_in, dropout_in, feed_out, dropout_out = layer._ffn_layers
    if not (
        isinstance(dropout_in, tf.keras.layers.Dropout)
        and isinstance(dropout_out, tf.keras.layers.Dropout)
    ):
        raise Unsupported("feed-forward block")
    return EncoderLayer(
        attention_norm=read_norm(layer._layer_norm),
        query=read_dense(attention._query_dense_layer),
        key=read_dense(attention._key_dense_layer),
        value=read_dense(attention._value_dense_layer),
        attention_output=read_dense(attention._output_dense_layer),
        num_heads=attention.num_heads,
        feed_forward_norm=read_norm(norm),
        feed_forward_in=read_dense(feed_in),
        feed_forward_out=read_dense(feed_out),
    )


def read_dense(layer: Any) -> Dense:
    """A Keras `Dense` (or `DenseForSparse`, `RandomlyConnectedDense`): its kernel, times
    its mask if it has one, its bias and its activation (linear or gelu)."""
    import tensorflow as tf

    if not isinstance(layer, tf.keras.layers.Dense):
        raise Unsupported(f"layer {type(layer).__name__}")
    kernel = layer.kernel.numpy()
    mask = getattr(layer, "kernel_mask", None)
    if mask is not None:
        kernel = kernel * mask.numpy()
    activation = layer.activation
    if activation not in (None, tf.keras.activations.linear, tf.nn.gelu):
        raise Unsupported(f"activation {activation}")
    bias = layer.bias.numpy() if layer.use_bias else None
    return Dense(kernel=kernel, bias=bias, gelu=activation is tf.nn.gelu)


def read_norm(layer: Any) -> LayerNorm:
    import tensorflow as tf

    if not isinstance(layer, tf.keras.layers.LayerNormalization):
        raise Unsupported(f"normalisation {type(layer).__name__}")
    if list(layer.axis) not in ([-1], [2]):  # the last of (batch, length, units)
        raise Unsupported(f"layer norm over axes {layer.axis}")
    if not (layer.center and layer.scale):
        raise Unsupported("layer norm without centre or scale")
    return LayerNorm(
        gamma=layer.gamma.numpy(), beta=layer.beta.numpy(), epsilon=np.float32(layer.epsilon)
    )


def numpy_diet(classifier: Any) -> NumpyDIET | None:
    """`classifier`'s `NumpyDIET`, built on first use; None (logged once) if its model
    is not supported."""
    model = classifier.model
    cached = getattr(classifier, _CACHE, None)
    if cached is not None and cached[0] is model:
        return cached[1]
    if model is None or model.all_labels_embed is None:
        return None  # Rasa's path prepares it; then it is built
    try:
        built: NumpyDIET | None = NumpyDIET.from_classifier(classifier)
    except Unsupported as reason:
        logger.info("DIET intents through TensorFlow: %s", reason)
        built = None
    except Exception:
        logger.exception("DIET intents through TensorFlow: reading the model failed")
        built = None
    setattr(classifier, _CACHE, (model, built))
    return built


def enabled() -> bool:
    """False when `DIET_NUMPY` says off (0, off, false, no): TensorFlow then predicts, as
    in stock Rasa (to compare, or should a model ever need it)."""
    return os.environ.get("DIET_NUMPY", "on").strip().lower() not in {"0", "off", "false", "no"}


def install() -> None:
    """Predict the intents of supported DIET models with `NumpyDIET` in this process."""
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier

    current = DIETClassifier._predict
    if getattr(current, _INSTALLED, False):
        return
    one_blas_thread()
    DIETClassifier._predict = predict_with(current)


def predict_with(stock: Callable[..., Any]) -> Callable[..., Any]:
    """`DIETClassifier._predict` answering from `NumpyDIET` where it can, else `stock`."""

    def _predict(self: Any, message: Any) -> Any:
        fast = numpy_diet(self)
        if fast is None or self._execution_context.should_add_diagnostic_data:
            return stock(self, message)
        try:
            scores = fast.scores(message)
        except Exception:
            logger.exception("DIET intents in numpy failed: through TensorFlow from now on")
            setattr(self, _CACHE, (self.model, None))
            return stock(self, message)
        if scores is None:
            return stock(self, message)
        return {"i_scores": scores}

    _predict._stock = stock  # type: ignore[attr-defined]
    setattr(_predict, _INSTALLED, True)
    return _predict


def uninstall() -> None:
    """Put Rasa's own `_predict` back (tests)."""
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier

    current = DIETClassifier._predict
    if getattr(current, _INSTALLED, False):
        DIETClassifier._predict = current._stock
