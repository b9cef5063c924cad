"""bot.runtime.fast_diet: DIET's intents in numpy are Rasa's intents.

A small DIET (the project's pipeline and DIET settings, a few epochs) is trained here on a
toy data set, loaded back as the server loads it, then asked about known, unknown and
nearly empty messages through TensorFlow and through numpy.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message

from bot.runtime import fast_diet

NLU = """
version: "3.1"
nlu:
- intent: find_gas_office
  examples: |
    - 燃气营业厅在哪
    - 燃气营业厅地址
    - 哪里可以交燃气费
    - 最近的燃气营业厅怎么走
    - 营业厅几点开门
- intent: cancel_after_school_care
  examples: |
    - 孩子明天看护不去了
    - 明天不参加课后看护
    - 帮孩子请个假 明天不去看护
    - 课后看护取消一次
    - 小明周五不去看护班
- intent: file_complaint
  examples: |
    - 我要投诉
    - 抄表员态度很差
    - 营业员乱收费
    - 投诉一下你们的服务
    - 护士迟到了两个小时 我要投诉
- intent: gas_bill
  examples: |
    - 查一下户号[31001001](account)的气费
    - 我家这个月燃气费多少
    - 户号[31002002](account)欠费了吗
    - 气费账单怎么查
    - 燃气费交了没有
- intent: greet
  examples: |
    - 你好
    - 您好
    - 在吗
    - 早上好
    - 哈喽
- regex: account
  examples: |
    - \\d{8}
"""

MESSAGES = [
    *["燃气营业厅在哪", "孩子明天看护不去了", "我要投诉", "你好", "查一下户号31001001的气费"],
    # words the model never saw, numbers, mixed scripts, long and repeated texts
    *["量子纠缠的原理是什么", "天气预报说明天下雨", "12345678", "abc xyz", "😀😀😀 谢谢"],
    *["燃气" * 40, "我要投诉营业厅，还有课后看护的老师，还有上门的护士，全都投诉", "看护"],
    # nearly empty
    *["", " ", "?", "。", "啊", "😀", "\n"],
]
PIPELINE_CONFIG = {
    "number_of_transformer_layers": 1,
    "transformer_size": 128,
    "constrain_similarities": True,
    "random_seed": 42,
    "entity_recognition": False,
    "epochs": 5,
}


class Pipeline:
    """The project's NLU pipeline up to DIET, trained on `NLU` in `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.storage = LocalModelStorage(workdir)
        self.context = ExecutionContext(GraphSchema({}), "test")
        self.tokenizer = JiebaTokenizer.create(
            JiebaTokenizer.get_default_config(), self.storage, Resource("jieba"), self.context
        )
        self.featurizers: list[Any] = [
            RegexFeaturizer.create(
                {**RegexFeaturizer.get_default_config(), "case_sensitive": False},
                self.storage,
                Resource("regex"),
                self.context,
            ),
            CountVectorsFeaturizer.create(
                CountVectorsFeaturizer.get_default_config(),
                self.storage,
                Resource("words"),
                self.context,
            ),
            CountVectorsFeaturizer.create(
                {
                    **CountVectorsFeaturizer.get_default_config(),
                    "analyzer": "char_wb",
                    "min_ngram": 1,
                    "max_ngram": 3,
                },
                self.storage,
                Resource("chars"),
                self.context,
            ),
        ]
        data = RasaYAMLReader().reads(NLU)
        self.tokenizer.process_training_data(data)
        for featurizer in self.featurizers:
            featurizer.train(data)
            featurizer.process_training_data(data)
        self.training_data = data
        self.trained: set[str] = set()

    def featurized(self, text: str) -> Message:
        message = Message(data={"text": text})
        self.tokenizer.process([message])
        for featurizer in self.featurizers:
            featurizer.process([message])
        return message

    def diet(self, config: dict[str, Any], name: str) -> DIETClassifier:
        """A DIET trained with `config` (once per name), loaded from storage as the server
        loads it."""
        full_config = {**DIETClassifier.get_default_config(), **config}
        resource = Resource(name)
        if name not in self.trained:
            DIETClassifier.create(full_config, self.storage, resource, self.context).train(
                self.training_data
            )
            self.trained.add(name)
        return DIETClassifier.load(full_config, self.storage, resource, self.context)


def counting(function: Any, calls: list[int]) -> Any:
    """`function`, appending to `calls` at each call."""

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return function(*args, **kwargs)

    return counted


def answers(diet: DIETClassifier, message: Message) -> tuple[Any, Any]:
    processed = diet.process([copy.deepcopy(message)])[0]
    return processed.get("intent"), processed.get("intent_ranking")


def assert_same_answers(expected: tuple[Any, Any], got: tuple[Any, Any], text: str) -> None:
    """The same intent and ranking: names equal, confidences within 1e-5."""
    (expected_intent, expected_ranking), (intent, ranking) = expected, got
    expected_labels, labels = [expected_intent, *expected_ranking], [intent, *ranking]
    assert [label["name"] for label in labels] == [label["name"] for label in expected_labels]
    confidences = [label["confidence"] for label in labels]
    expected_confidences = [label["confidence"] for label in expected_labels]
    assert np.allclose(confidences, expected_confidences, rtol=0, atol=1e-5), text


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Pipeline:
    return Pipeline(tmp_path_factory.mktemp("fast_diet"))


@pytest.fixture()
def installed():
    fast_diet.install()
    yield
    fast_diet.uninstall()


def stock_answers(diet: DIETClassifier, messages: list[Message]) -> list[tuple[Any, Any]]:
    fast_diet.uninstall()
    try:
        return [answers(diet, message) for message in messages]
    finally:
        fast_diet.install()


@pytest.mark.parametrize(
    "name, config",
    [
        ("project", PIPELINE_CONFIG),
        # two layers, a hidden layer before them, a ranking of 3 and a denser transformer
        (
            "two-layers-hidden-ranked",
            {
                **PIPELINE_CONFIG,
                "number_of_transformer_layers": 2,
                "transformer_size": 64,
                "hidden_layers_sizes": {"text": [96], "label": []},
                "ranking_length": 3,
                "connection_density": 0.5,
            },
        ),
        # no transformer at all, the whole ranking
        (
            "no-transformer",
            {**PIPELINE_CONFIG, "number_of_transformer_layers": 0, "ranking_length": 0},
        ),
    ],
)
def test_numpy_intents_are_tensorflows(pipeline, installed, name, config, monkeypatch):
    diet = pipeline.diet(config, name)
    messages = [pipeline.featurized(text) for text in MESSAGES]
    expected = stock_answers(diet, messages)

    calls: list[int] = []
    monkeypatch.setattr(diet.model, "run_inference", counting(diet.model.run_inference, calls))
    for text, message, stock in zip(MESSAGES, messages, expected, strict=True):
        assert_same_answers(stock, answers(diet, message), text)
    # Only messages without text features are left to Rasa (they never reach TensorFlow).
    assert calls == []
    assert fast_diet.numpy_diet(diet) is not None


def test_a_message_without_features_gets_rasas_empty_answer(pipeline, installed):
    diet = pipeline.diet(PIPELINE_CONFIG, "project")
    intent, ranking = answers(diet, Message(data={"text": "燃气营业厅在哪"}))
    assert intent == {"name": None, "confidence": 0.0} and ranking == []


def test_a_message_longer_than_the_positions_read_goes_through_tensorflow(
    pipeline, installed, monkeypatch
):
    monkeypatch.setattr(fast_diet, "MAX_POSITIONS", 8)
    diet = pipeline.diet(PIPELINE_CONFIG, "project")
    long, short = pipeline.featurized("燃气 " * 10), pipeline.featurized("燃气营业厅在哪")
    expected = stock_answers(diet, [long, short])
    calls: list[int] = []
    diet.model.run_inference = counting(diet.model.run_inference, calls)
    assert_same_answers(expected[0], answers(diet, long), "long")
    assert_same_answers(expected[1], answers(diet, short), "short")
    assert len(calls) == 1


def test_a_failure_in_numpy_leaves_the_model_to_tensorflow(pipeline, installed, monkeypatch):
    diet = pipeline.diet(PIPELINE_CONFIG, "project")
    message = pipeline.featurized("燃气营业厅在哪")
    [expected] = stock_answers(diet, [message])

    def fail(self: Any, message: Message) -> None:
        raise FloatingPointError("a bug")

    monkeypatch.setattr(fast_diet.NumpyDIET, "scores", fail)
    calls: list[int] = []
    diet.model.run_inference = counting(diet.model.run_inference, calls)
    assert_same_answers(expected, answers(diet, message), "after a failure")
    assert_same_answers(expected, answers(diet, message), "after a failure")
    assert len(calls) == 2 and fast_diet.numpy_diet(diet) is None


def test_unsupported_models_are_left_to_tensorflow(pipeline, installed, caplog):
    diet = pipeline.diet(PIPELINE_CONFIG, "project")
    message = pipeline.featurized("燃气营业厅在哪")
    diet.component_config = {**diet.component_config, "entity_recognition": True}
    calls: list[int] = []
    diet.model.run_inference = counting(diet.model.run_inference, calls)
    with caplog.at_level(logging.INFO, logger=fast_diet.__name__):
        for _ in range(3):
            diet._predict(message)
    assert len(calls) == 3
    assert fast_diet.numpy_diet(diet) is None
    logged = [record for record in caplog.records if "entity_recognition" in record.message]
    assert len(logged) == 1  # once per model


def test_softmax_gives_tensorflows_zeros_for_labels_far_below():
    import tensorflow as tf

    logits = np.array([[3.0, 0.0, -80.0, -95.0, -120.0]], np.float32)
    expected = tf.nn.softmax(logits).numpy()
    got = fast_diet.softmax(logits.copy())
    assert list(got[0] == 0) == list(expected[0] == 0) == [False, False, False, True, True]
    assert np.allclose(got, expected, rtol=1e-6, atol=0)


def test_rasas_predict_is_back_after_uninstall():
    stock = DIETClassifier._predict
    fast_diet.install()
    fast_diet.install()
    assert DIETClassifier._predict is not stock
    fast_diet.uninstall()
    assert DIETClassifier._predict is stock
