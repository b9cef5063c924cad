"""bot.runtime.fast_count_vectors: the text features of CountVectorsFeaturizer without
sklearn's `transform` are Rasa's features.

Featurizers (the project's two, words and `char_wb` 1-3 grams, and a few other settings)
are trained here on a toy data set after JiebaTokenizer, loaded back as the server loads
them, then asked to featurize known, unknown, mixed, nearly empty and long messages
through sklearn and through `FastCounts`.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.runtime import fast_count_vectors
from tests.unit.test_fast_diet import NLU, counting

MESSAGES = [
    *["燃气营业厅在哪", "孩子明天看护不去了", "我要投诉", "你好", "查一下户号31001001的气费"],
    # unknown words, digits, mixed scripts and cases, emoji, traditional characters
    *["量子纠缠的原理是什么", "12345678", "户号 123 456", "3.14", "１２３", "abc xyz", "ABC Xyz"],
    *["😀😀😀 谢谢", "燃气费😀多少", "營業廳在哪裡", "燃氣費怎麼交", "Ünïcödé ΣΑΣ ΣΣ σς"],
    *["a1b2 c3", "e-mail: x@y.z", "户号:31001001,谢谢!", "‘燃气’“营业厅”", "İstanbul"],
    # long and repeated texts
    *["燃气" * 40, "我要投诉营业厅，还有课后看护的老师，还有上门的护士，全都投诉" * 5, "看护"],
    # nearly empty
    *["", " ", "?", "。", "啊", "😀", "\n", "\t  \t", "__NUMBER__", "_"],
]
WORDS = CountVectorsFeaturizer.get_default_config()
CHARS = {**WORDS, "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 3}
CONFIGS = {
    "words": WORDS,
    "chars": CHARS,
    # the sentence row analysed from the joined text, not added up from its tokens
    "word-bigrams": {**WORDS, "max_ngram": 2},
    "char": {**CHARS, "analyzer": "char"},
    "chars-accents": {**CHARS, "strip_accents": "unicode", "lowercase": False},
    "words-no-lemma-stop-words": {**WORDS, "use_lemma": False, "stop_words": ["的", "我"]},
    # unknown words replaced by an OOV token the training data has
    "words-oov": {**WORDS, "OOV_token": "oov", "OOV_words": ["在哪", "投诉"]},
}


class Featurizers:
    """JiebaTokenizer and CountVectorsFeaturizers trained on `NLU` in `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.storage = LocalModelStorage(workdir)
        self.context = ExecutionContext(GraphSchema({}), "test")
        self.tokenizer = JiebaTokenizer.create(
            JiebaTokenizer.get_default_config(), self.storage, Resource("jieba"), self.context
        )
        self.data = RasaYAMLReader().reads(NLU)
        self.tokenizer.process_training_data(self.data)
        self.trained: set[str] = set()

    def featurizer(self, name: str) -> CountVectorsFeaturizer:
        """The featurizer `name` of CONFIGS, trained once, loaded as the server loads it."""
        config, resource = CONFIGS[name], Resource(name)
        if name not in self.trained:
            CountVectorsFeaturizer.create(config, self.storage, resource, self.context).train(
                self.data
            )
            self.trained.add(name)
        return CountVectorsFeaturizer.load(config, self.storage, resource, self.context)

    def tokenized(self, text: str) -> Message:
        message = Message(data={"text": text})
        self.tokenizer.process([message])
        return message


def features(featurizer: CountVectorsFeaturizer, message: Message) -> list[Any]:
    copied = copy.deepcopy(message)
    featurizer.process([copied])
    return copied.features


def stock_features(featurizer: CountVectorsFeaturizer, message: Message) -> list[Any]:
    fast_count_vectors.uninstall()
    try:
        return features(featurizer, message)
    finally:
        fast_count_vectors.install()


def assert_same_features(expected: list[Any], got: list[Any], text: str) -> None:
    """The same `Features`, in the same order: type, attribute, origin, and the same
    matrix (format, shape, dtypes, values, and entries in the same order)."""
    assert len(got) == len(expected), text
    for one, other in zip(expected, got, strict=True):
        assert (other.type, other.attribute, other.origin) == (
            one.type,
            one.attribute,
            one.origin,
        ), text
        a, b = one.features, other.features
        assert (b.format, b.shape, b.dtype) == (a.format, a.shape, a.dtype), text
        assert (a != b).nnz == 0, text
        assert fast_count_vectors.same_matrix(b, a), text


@pytest.fixture(scope="module")
def featurizers(tmp_path_factory) -> Featurizers:
    return Featurizers(tmp_path_factory.mktemp("fast_count_vectors"))


@pytest.fixture()
def installed():
    fast_count_vectors.install()
    yield
    fast_count_vectors.uninstall()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_fast_text_features_are_sklearns(featurizers, installed, name, monkeypatch):
    featurizer = featurizers.featurizer(name)
    assert fast_count_vectors.fast_counts(featurizer) is not None
    messages = [featurizers.tokenized(text) for text in MESSAGES]
    expected = [stock_features(featurizer, message) for message in messages]

    vectorizer = featurizer.vectorizers["text"]
    calls: list[int] = []
    monkeypatch.setattr(vectorizer, "transform", counting(vectorizer.transform, calls))
    compared = 0
    for _ in range(2):  # the second time from the remembered token counts
        for text, message, stock in zip(MESSAGES, messages, expected, strict=True):
            assert_same_features(stock, features(featurizer, message), text)
            compared += 1
    assert compared == 2 * len(MESSAGES)
    assert calls == []  # sklearn never asked
    # All of them at once, as Rasa may pass them (training data, for one).
    batch = [copy.deepcopy(message) for message in messages]
    featurizer.process(batch)
    for text, message, stock in zip(MESSAGES, batch, expected, strict=True):
        assert_same_features(stock, message.features, text)


def test_the_settings_read(featurizers):
    counts = {
        name: fast_count_vectors.fast_counts(featurizers.featurizer(name)) for name in CONFIGS
    }
    assert all(counts.values())
    summed = {name for name, fast in counts.items() if fast and fast.sentence_from_tokens}
    assert summed == {"words", "chars", "words-no-lemma-stop-words", "words-oov"}
    assert [name for name, fast in counts.items() if fast and fast.oov_token] == ["words-oov"]


def test_a_message_with_an_intent_gets_rasas_features_for_it(featurizers, installed):
    featurizer = featurizers.featurizer("words")
    message = Message(data={"text": "燃气营业厅在哪", "intent": "find_gas_office"})
    featurizers.tokenizer.process_training_data(TrainingData([message]))
    expected = stock_features(featurizer, message)
    assert [one.attribute for one in expected] == ["text", "text", "intent"]
    assert_same_features(expected, features(featurizer, message), "with an intent")


def test_a_message_without_tokens_gets_no_features(featurizers, installed):
    featurizer = featurizers.featurizer("chars")
    message = Message(data={"text": "燃气营业厅在哪"})  # not tokenized
    assert stock_features(featurizer, message) == features(featurizer, message) == []


def test_unsupported_featurizers_are_left_to_sklearn(featurizers, installed, caplog):
    featurizer = featurizers.featurizer("words")
    featurizer.use_shared_vocab = True
    message = featurizers.tokenized("燃气营业厅在哪")
    vectorizer = featurizer.vectorizers["text"]
    calls: list[int] = []
    vectorizer.transform = counting(vectorizer.transform, calls)
    with caplog.at_level(logging.INFO, logger=fast_count_vectors.__name__):
        for _ in range(3):
            got = features(featurizer, message)
    del vectorizer.transform
    featurizer.use_shared_vocab = False
    assert_same_features(stock_features(featurizer, message), got, "shared vocabulary")
    assert len(calls) == 6  # sequence and sentence, three times
    assert fast_count_vectors.fast_counts(featurizer) is None
    logged = [record for record in caplog.records if "use_shared_vocab" in record.message]
    assert len(logged) == 1  # once per featurizer


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"analyzer": lambda text: text.split()}, "analyzer"),
        ({"token_pattern": r"\w+"}, "token pattern"),
        ({"preprocessor": str.upper}, "preprocessor"),
        ({"binary": True}, "binary"),
    ],
)
def test_unsupported_vectorizers_are_left_to_sklearn(featurizers, change, reason):
    featurizer = featurizers.featurizer("words")
    featurizer.vectorizers["text"].set_params(**change)
    with pytest.raises(fast_count_vectors.Unsupported, match=reason):
        fast_count_vectors.FastCounts.from_featurizer(featurizer)


def test_an_untrained_featurizer_is_left_to_sklearn(featurizers):
    untrained = CountVectorsFeaturizer.create(
        WORDS, featurizers.storage, Resource("untrained"), featurizers.context
    )
    assert fast_count_vectors.fast_counts(untrained) is None


def test_a_difference_on_the_probe_tokens_keeps_sklearn(featurizers, monkeypatch):
    featurizer = featurizers.featurizer("chars")
    original = fast_count_vectors.FastCounts.coo

    def off_by_one(self: Any, rows: Any, columns: Any, values: Any, length: int) -> Any:
        return original(self, rows, columns, [value + 1 for value in values], length)

    monkeypatch.setattr(fast_count_vectors.FastCounts, "coo", off_by_one)
    with pytest.raises(fast_count_vectors.Unsupported, match="differ"):
        fast_count_vectors.FastCounts.from_featurizer(featurizer)


def test_a_failure_leaves_the_featurizer_to_sklearn(featurizers, installed, monkeypatch):
    featurizer = featurizers.featurizer("chars")
    messages = [featurizers.tokenized(text) for text in ("燃气营业厅在哪", "我要投诉", "你好")]
    expected = [stock_features(featurizer, message) for message in messages]

    def fail(self: Any, tokens: list[str]) -> None:
        raise MemoryError("a bug")

    assert fast_count_vectors.fast_counts(featurizer) is not None
    monkeypatch.setattr(fast_count_vectors.FastCounts, "matrices", fail)
    batch = [copy.deepcopy(message) for message in messages]
    featurizer.process(batch)
    for message, stock in zip(batch, expected, strict=True):
        assert_same_features(stock, message.features, message.get("text"))
    assert fast_count_vectors.fast_counts(featurizer) is None


def test_rasas_process_is_back_after_uninstall():
    stock = CountVectorsFeaturizer.process
    fast_count_vectors.install()
    fast_count_vectors.install()
    assert CountVectorsFeaturizer.process is not stock
    fast_count_vectors.uninstall()
    assert CountVectorsFeaturizer.process is stock


def test_the_switch(monkeypatch):
    monkeypatch.delenv("COUNT_VECTORS_FAST", raising=False)
    assert fast_count_vectors.enabled()
    for value in ("off", "0", "False", " no "):
        monkeypatch.setenv("COUNT_VECTORS_FAST", value)
        assert not fast_count_vectors.enabled()
    monkeypatch.setenv("COUNT_VECTORS_FAST", "on")
    assert fast_count_vectors.enabled()
