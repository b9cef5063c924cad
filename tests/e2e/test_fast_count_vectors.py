"""The project's model gets the same CountVectorsFeaturizer features for every held-out
NLU message, and the same parse, when the text is counted by
`bot.runtime.fast_count_vectors` as when sklearn counts it. The model is loaded as the
serving Rasa process loads it (`bot.runtime.lean_models`)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.infra.settings import PROJECT_ROOT
from bot.nlu.evaluate import HELDOUT_PATH, load_examples
from bot.nlu.normalize import ChineseTextNormalizer
from bot.runtime import fast_count_vectors, lean_models
from tests.e2e.test_fast_diet import parses
from tests.unit.test_fast_count_vectors import assert_same_features
from tests.unit.test_fast_diet import counting

MODEL = PROJECT_ROOT / "models" / "service-assistant.tar.gz"

pytestmark = [
    pytest.mark.skipif(not MODEL.exists(), reason="no trained model: make train"),
    # Loading the whole model in this process imports what the servers import (matplotlib
    # through an old pyparsing API, Rasa's SQLAlchemy 1.4 code): this test is about the
    # features.
    pytest.mark.filterwarnings("ignore"),
]


def components(agent: Agent, kind: type) -> list[Any]:
    nodes = agent.processor.graph_runner._instantiated_nodes
    return [node._component for node in nodes.values() if type(node._component) is kind]


def use_current_process(agent: Agent) -> None:
    """Point the graph's featurizer nodes at `CountVectorsFeaturizer.process` as it is now
    (a node takes its function from the class when the model loads)."""
    for node in agent.processor.graph_runner._instantiated_nodes.values():
        if type(node._component) is CountVectorsFeaturizer:
            node._fn = CountVectorsFeaturizer.process


@pytest.fixture(scope="module")
def agent() -> Agent:
    lean_models.install()
    try:
        return Agent.load(str(MODEL))
    finally:
        lean_models.uninstall()


@pytest.fixture(scope="module")
def texts() -> list[str]:
    found = [text for text, _ in load_examples(HELDOUT_PATH)]
    assert len(found) > 500
    return found


def test_the_same_features_for_every_heldout_message(agent, texts):
    [normalizer] = components(agent, ChineseTextNormalizer)
    [tokenizer] = components(agent, JiebaTokenizer)
    featurizers = components(agent, CountVectorsFeaturizer)
    assert sorted(f.analyzer for f in featurizers) == ["char_wb", "word"]
    messages = []
    for text in texts:
        message = Message(data={"text": text})
        normalizer.process([message])
        tokenizer.process([message])
        messages.append(message)

    compared = 0
    for featurizer in featurizers:
        expected = []
        for message in messages:
            copied = copy.deepcopy(message)
            featurizer.process([copied])
            expected.append(copied.features)
        fast_count_vectors.install()
        try:
            assert fast_count_vectors.fast_counts(featurizer) is not None, featurizer.analyzer
            vectorizer = featurizer.vectorizers["text"]
            calls: list[int] = []
            vectorizer.transform = counting(vectorizer.transform, calls)
            for text, message, stock in zip(texts, messages, expected, strict=True):
                copied = copy.deepcopy(message)
                featurizer.process([copied])
                assert_same_features(stock, copied.features, text)
                compared += 1
            del vectorizer.transform
            assert calls == []
        finally:
            fast_count_vectors.uninstall()
    assert compared == 2 * len(texts)


def test_the_same_parse_for_every_heldout_message(agent, texts):
    use_current_process(agent)
    expected = parses(agent, texts)
    vectorizers = [f.vectorizers["text"] for f in components(agent, CountVectorsFeaturizer)]
    calls: list[int] = []
    fast_count_vectors.install()
    try:
        use_current_process(agent)
        for vectorizer in vectorizers:
            vectorizer.transform = counting(vectorizer.transform, calls)
        got = parses(agent, texts)
    finally:
        for vectorizer in vectorizers:
            vars(vectorizer).pop("transform", None)
        fast_count_vectors.uninstall()
        use_current_process(agent)
    assert calls == [], "some messages were still counted by sklearn"
    assert got == expected
