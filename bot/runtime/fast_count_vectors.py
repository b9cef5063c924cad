"""CountVectorsFeaturizer's text features of one message without sklearn's `transform`.

For every message the Rasa server spends some 12% of its turn in
`CountVectorsFeaturizer.process` (issue 24), for the two featurizers of the pipeline (words,
and `char_wb` 1-3 grams): most of it not in counting but around it, in sklearn's
`CountVectorizer.transform` (parameter checks, a csr matrix built and validated per call)
and in scipy (`sort_indices`, `tocoo`, the coo matrix validated again), twice per
featurizer: the sequence (one row per token) and the sentence (one row). The counting
itself is a few dictionary look-ups per token.

`FastCounts.from_featurizer` takes, once per loaded featurizer, the text vectorizer's
vocabulary and its own analyzer (`build_analyzer()`: sklearn's preprocessing, token
pattern or character n-grams, stop words, n-gram range, unchanged). For a message it then
does what Rasa's `process` does for the text attribute
(`_get_processed_message_tokens_by_attribute`, `_create_features`):

1. the tokens' lemmas (or texts), numbers replaced by `__NUMBER__`, lowercased, words
   outside the vocabulary replaced by the OOV token (if one is configured and trained);
2. each token analysed and its n-grams counted against the vocabulary (sklearn's
   `_count_vocab`), remembered per token string (`TOKEN_CACHE_SIZE`): the sequence rows;
3. the tokens joined with spaces, analysed and counted: the sentence row;
4. each matrix made as `transform(...).tocoo()` makes it: a `coo_matrix` of the
   vectorizer's dtype (int64), int32 indices, entries by row then column, not marked
   canonical; built from its arrays directly, without the validation that costs more
   than the whole count (the arrays are valid by construction).

The other attributes (intent, action name, ... which user messages do not have) keep
Rasa's code, in Rasa's order, so `process` adds the same `Features` (type, attribute,
origin) with the same matrices: the same values, shape, dtype, format, indices
(`tests/unit/test_fast_count_vectors.py` on featurizers trained there,
`tests/e2e/test_fast_count_vectors.py` on the project's model and the held-out NLU set).
Measured on the project's model and the held-out set (766 messages, one process): 0.42 ms
of `process` a message for the two featurizers, 0.06 ms here; a whole NLU parse (with
`bot.runtime.fast_diet`) 2.1-2.2 ms, 1.45-1.8 ms here. The sentence row is added up from
the token rows where the analyzer allows it (`sentence_is_its_tokens`): half the cost.

Anything else keeps Rasa's path: a shared vocabulary, an analyzer other than word, char
or char_wb or a callable one, a custom preprocessor, tokenizer or token pattern, binary
counts, another dtype, a vectorizer not trained, a subclass of the featurizer. Before a
featurizer is used here, a few probe tokens (some from its vocabulary, some not) go
through both paths; any difference (say, after a scipy upgrade) keeps Rasa's path. The
reason a featurizer is not supported is logged once.

`install()` wraps `CountVectorsFeaturizer.process` in the serving Rasa process
(`bot.runtime.rasa_server`) unless `COUNT_VECTORS_FAST=off`; training and `rasa test`
keep sklearn.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse

logger = logging.getLogger(__name__)

_INSTALLED = "_service_assistant_fast_count_vectors"
# Set on each CountVectorsFeaturizer: (its text vectorizer, its FastCounts or None).
_CACHE = "_service_assistant_fast_counts"
# Rasa's `_process_tokens`: numbers become one token.
_NUMBER = re.compile(r"\b[0-9]+\b")
# Rasa's token pattern for word analyzers (`_create_independent_vocab_vectorizers`).
RASA_TOKEN_PATTERN = r"(?u)\b\w+\b"
# Token strings whose counts are remembered, per featurizer (then forgotten all at once).
TOKEN_CACHE_SIZE = 20_000
# Tokens checked against Rasa's path before a featurizer is used here, besides a few
# words of its vocabulary: numbers, scripts, emoji, case, whitespace, nothing.
PROBE_TOKENS = (
    *("燃气", "123", "a1", "ÄbC", "ΣΑΣ", "Σ", "'Σ'", "😀", "臺灣", "x y", "\t z ", ""),
    *("__NUMBER__", "?", "İ", "a.b"),
)
_COO_ATTRIBUTES = {"_shape", "maxprint", "row", "col", "data", "has_canonical_format"}


class Unsupported(Exception):
    """The featurizer uses something `FastCounts` does not compute."""


@dataclass
class FastCounts:
    """The text features of one `CountVectorsFeaturizer` (see the module doc)."""

    vocabulary: dict[str, int]
    analyze: Callable[[str], list[str]]
    columns: int
    dtype: np.dtype
    lowercase: bool
    use_lemma: bool
    oov_token: str | None  # only when it replaces words (word analyzer, token trained)
    sentence_from_tokens: bool  # the sentence's n-grams are those of its tokens
    maxprint: int
    token_counts: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)

    @classmethod
    def from_featurizer(cls, featurizer: Any) -> FastCounts:
        """`Unsupported` unless `featurizer` is a plain, trained CountVectorsFeaturizer
        whose text vectorizer this class reproduces (checked on probe tokens)."""
        from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
            CountVectorsFeaturizer,
        )
        from sklearn.feature_extraction.text import CountVectorizer

        if type(featurizer) is not CountVectorsFeaturizer:
            raise Unsupported(f"component {type(featurizer).__name__}")
        if featurizer.use_shared_vocab:
            raise Unsupported("use_shared_vocab")
        vectorizer: Any = (featurizer.vectorizers or {}).get("text")
        if type(vectorizer) is not CountVectorizer:
            raise Unsupported(f"text vectorizer {type(vectorizer).__name__}")
        check_vectorizer(vectorizer)
        vocabulary = vectorizer.vocabulary_
        oov_token = featurizer.OOV_token
        replaces = bool(oov_token) and featurizer.analyzer == "word" and oov_token in vocabulary
        if oov_token and featurizer.analyzer == "word" and not replaces and featurizer.OOV_words:
            # Rasa then replaces the OOV_words, as in training
            raise Unsupported("OOV_words without a trained OOV token")
        fast = cls(
            vocabulary=vocabulary,
            analyze=vectorizer.build_analyzer(),
            columns=len(vocabulary),
            dtype=np.dtype(vectorizer.dtype),
            lowercase=bool(featurizer.lowercase),
            use_lemma=bool(featurizer.use_lemma),
            oov_token=oov_token if replaces else None,
            sentence_from_tokens=sentence_is_its_tokens(vectorizer),
            maxprint=scipy.sparse.coo_matrix((1, 1)).maxprint,
        )
        fast.check_against(featurizer)
        return fast

    def check_against(self, featurizer: Any) -> None:
        """`Unsupported` if the probe tokens' features differ from Rasa's."""
        known = sorted(self.vocabulary, key=self.vocabulary.__getitem__)[:5]
        probes = [[token] for token in (*PROBE_TOKENS, *known)]
        probes.append([*PROBE_TOKENS, *known])
        probes.append(known[:2])
        for tokens in probes:
            tokens = self.processed(tokens)
            [stock_sequence], [stock_sentence] = featurizer._create_features("text", [tokens])
            sequence, sentence = self.matrices(tokens)
            if not (
                same_matrix(sequence, stock_sequence) and same_matrix(sentence, stock_sentence)
            ):
                raise Unsupported(f"features of {tokens} differ from Rasa's")
        self.token_counts.clear()

    def processed(self, tokens: list[str]) -> list[str]:
        """Rasa's `_process_tokens` and `_replace_with_oov_token` for the text."""
        tokens = [_NUMBER.sub("__NUMBER__", token) for token in tokens]
        if self.lowercase:
            tokens = [token.lower() for token in tokens]
        if self.oov_token is not None:
            vocabulary, oov = self.vocabulary, self.oov_token
            tokens = [token if token in vocabulary else oov for token in tokens]
        return tokens

    def message_tokens(self, message: Any) -> list[str]:
        """Rasa's `_get_processed_message_tokens_by_attribute(message, "text")`."""
        if message.get("text") is None:
            return []
        found = message.get("text_tokens")
        if not found:
            return []
        return self.processed([t.lemma if self.use_lemma else t.text for t in found])

    def counts(self, document: str) -> tuple[list[int], list[int]]:
        """The columns (sorted) and counts of one document, as `_count_vocab` has them."""
        vocabulary = self.vocabulary
        counter: dict[int, int] = {}
        for feature in self.analyze(document):
            column = vocabulary.get(feature)
            if column is not None:
                counter[column] = counter.get(column, 0) + 1
        columns = sorted(counter)
        return columns, [counter[column] for column in columns]

    def token(self, token: str) -> tuple[list[int], list[int]]:
        cached = self.token_counts.get(token)
        if cached is None:
            if len(self.token_counts) >= TOKEN_CACHE_SIZE:
                self.token_counts.clear()
            cached = self.token_counts[token] = self.counts(token)
        return cached

    def matrices(self, tokens: list[str]) -> tuple[Any, Any]:
        """The sequence and sentence matrices of processed, non-empty `tokens`."""
        rows: list[int] = []
        columns: list[int] = []
        values: list[int] = []
        for number, token in enumerate(tokens):
            token_columns, token_values = self.token(token)
            rows.extend([number] * len(token_columns))
            columns.extend(token_columns)
            values.extend(token_values)
        sequence = self.coo(rows, columns, values, len(tokens))
        if self.sentence_from_tokens:
            sentence_counts: dict[int, int] = {}
            for column, value in zip(columns, values, strict=True):
                sentence_counts[column] = sentence_counts.get(column, 0) + value
            sentence_columns = sorted(sentence_counts)
            sentence_values = [sentence_counts[column] for column in sentence_columns]
        else:
            sentence_columns, sentence_values = self.counts(" ".join(tokens))
        sentence = self.coo([0] * len(sentence_columns), sentence_columns, sentence_values, 1)
        return sequence, sentence

    def coo(self, rows: list[int], columns: list[int], values: list[int], length: int) -> Any:
        """`coo_matrix((values, (rows, columns)), shape=(length, self.columns),
        dtype=self.dtype)` as `csr.tocoo()` leaves it, without its validation."""
        matrix = scipy.sparse.coo_matrix.__new__(scipy.sparse.coo_matrix)
        matrix.__dict__.update(
            _shape=(length, self.columns),
            maxprint=self.maxprint,
            row=np.array(rows, dtype=np.int32),
            col=np.array(columns, dtype=np.int32),
            data=np.array(values, dtype=self.dtype),
            has_canonical_format=False,
        )
        return matrix

    def add_features(self, featurizer: Any, message: Any) -> None:
        """What Rasa's `process` adds to `message` for its text."""
        tokens = self.message_tokens(message)
        if tokens:
            sequence, sentence = self.matrices(tokens)
            featurizer.add_features_to_message(sequence, sentence, "text", message)


def check_vectorizer(vectorizer: Any) -> None:
    """`Unsupported` unless `vectorizer` is trained and configured as Rasa configures it."""
    analyzer = vectorizer.analyzer
    if not isinstance(analyzer, str) or analyzer not in ("word", "char", "char_wb"):
        raise Unsupported(f"analyzer {analyzer!r}")
    if analyzer == "word" and vectorizer.token_pattern != RASA_TOKEN_PATTERN:
        raise Unsupported(f"token pattern {vectorizer.token_pattern!r}")
    if vectorizer.preprocessor is not None or vectorizer.tokenizer is not None:
        raise Unsupported("custom preprocessor or tokenizer")
    if vectorizer.input != "content":
        raise Unsupported(f"input {vectorizer.input!r}")
    if vectorizer.binary:
        raise Unsupported("binary counts")
    if np.dtype(vectorizer.dtype) != np.int64:
        raise Unsupported(f"dtype {vectorizer.dtype}")
    vocabulary = getattr(vectorizer, "vocabulary_", None)
    if not isinstance(vocabulary, dict) or not vocabulary:
        raise Unsupported("text vectorizer not trained")
    if not getattr(vectorizer, "fixed_vocabulary_", False):
        raise Unsupported("vocabulary not fixed")
    if len(vocabulary) >= np.iinfo(np.int32).max // 2:
        raise Unsupported(f"{len(vocabulary)} columns")


def sentence_is_its_tokens(vectorizer: Any) -> bool:
    """Whether the analyzer's n-grams of tokens joined with spaces are the n-grams of each
    token, one after the other: `char_wb` n-grams stay within words, and so do single words
    (their pattern matches no space). Lowercasing is per character but for the final
    sigma, whose context ends at a space as at the end of a text; stripping accents is not
    assumed to be. Word n-grams longer than one and `char` n-grams cross tokens."""
    if vectorizer.strip_accents is not None:
        return False
    return vectorizer.analyzer == "char_wb" or (
        vectorizer.analyzer == "word" and vectorizer.ngram_range[1] == 1
    )


def same_matrix(got: Any, expected: Any) -> bool:
    """Whether `got` is `expected`: both None, or the same coo matrix (class, attributes,
    shape, dtypes, entries in the same order)."""
    if got is None or expected is None:
        return got is None and expected is None
    return (
        type(got) is type(expected)
        and set(vars(expected)) == _COO_ATTRIBUTES == set(vars(got))
        and got.shape == expected.shape
        and got.has_canonical_format == expected.has_canonical_format
        and got.maxprint == expected.maxprint
        and all(
            getattr(got, name).dtype == getattr(expected, name).dtype
            and np.array_equal(getattr(got, name), getattr(expected, name))
            for name in ("row", "col", "data")
        )
    )


def fast_counts(featurizer: Any) -> FastCounts | None:
    """`featurizer`'s `FastCounts`, built on first use; None (logged once) if it is not
    supported."""
    vectorizer = (featurizer.vectorizers or {}).get("text")
    cached = getattr(featurizer, _CACHE, None)
    if cached is not None and cached[0] is vectorizer:
        return cached[1]
    try:
        built: FastCounts | None = FastCounts.from_featurizer(featurizer)
    except Unsupported as reason:
        logger.info("%s text features through sklearn: %s", featurizer._identifier, reason)
        built = None
    except Exception:
        logger.exception(
            "%s text features through sklearn: reading it failed", featurizer._identifier
        )
        built = None
    setattr(featurizer, _CACHE, (vectorizer, built))
    return built


def enabled() -> bool:
    """False when `COUNT_VECTORS_FAST` says off (0, off, false, no): sklearn then counts,
    as in stock Rasa."""
    value = os.environ.get("COUNT_VECTORS_FAST", "on").strip().lower()
    return value not in {"0", "off", "false", "no"}


def install() -> None:
    """Featurize the text of messages with `FastCounts` in this process."""
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
        CountVectorsFeaturizer,
    )

    current = CountVectorsFeaturizer.process
    if getattr(current, _INSTALLED, False):
        return
    CountVectorsFeaturizer.process = process_with(current)


def process_with(stock: Callable[..., Any]) -> Callable[..., Any]:
    """`CountVectorsFeaturizer.process` with the text from `FastCounts`, else `stock`."""

    def process(self: Any, messages: list[Any]) -> list[Any]:
        fast = fast_counts(self) if self.vectorizers is not None else None
        if fast is None:
            return stock(self, messages)
        for index, message in enumerate(messages):
            if not add_message_features(self, fast, message):
                stock(self, messages[index + 1 :])  # the rest through sklearn
                break
        return messages

    process._stock = stock  # type: ignore[attr-defined]
    setattr(process, _INSTALLED, True)
    return process


def add_message_features(featurizer: Any, fast: FastCounts, message: Any) -> bool:
    """What Rasa's `process` adds to `message`, the text from `fast`; False (logged, the
    featurizer left to sklearn from now on) if `fast` failed and sklearn did the text."""
    succeeded = True
    for attribute in featurizer._attributes:
        if attribute == "text":
            try:
                fast.add_features(featurizer, message)
                continue
            except Exception:
                logger.exception(
                    "%s text features failed: through sklearn from now on",
                    featurizer._identifier,
                )
                setattr(featurizer, _CACHE, (featurizer.vectorizers.get("text"), None))
                succeeded = False
        if attribute == "text" or message.get(attribute) is not None:
            add_stock_features(featurizer, message, attribute)
        # else Rasa finds no tokens and adds nothing
    return succeeded


def add_stock_features(featurizer: Any, message: Any, attribute: str) -> None:
    """The body of Rasa's `process` loop for one attribute."""
    tokens = featurizer._get_processed_message_tokens_by_attribute(message, attribute)
    sequence, sentence = featurizer._create_features(attribute, [tokens])
    featurizer.add_features_to_message(sequence[0], sentence[0], attribute, message)


def uninstall() -> None:
    """Put Rasa's own `process` back (tests)."""
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
        CountVectorsFeaturizer,
    )

    current = CountVectorsFeaturizer.process
    if getattr(current, _INSTALLED, False):
        CountVectorsFeaturizer.process = current._stock
