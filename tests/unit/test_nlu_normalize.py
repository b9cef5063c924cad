from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.normalize import MAX_NLU_CHARACTERS, ChineseTextNormalizer, normalize_chinese


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我媽媽想約護士上門", "我妈妈想约护士上门"),
        ("燃氣費帳單出來了嗎", "燃气费帐单出来了吗"),
        ("１２月３日請假", "12月3日请假"),
        ("户号８８０００１２３４５？", "户号8800012345?"),
        ("孩子明天请假", "孩子明天请假"),
        ("😀 ok", "😀 ok"),
    ],
)
def test_normalize(text, expected):
    assert normalize_chinese(text) == expected


def test_component_rewrites_messages_and_training_examples():
    component = ChineseTextNormalizer()
    message = Message(data={"text": "孩子明天請假"})
    component.process([message])
    assert message.get("text") == "孩子明天请假"
    data = TrainingData([Message(data={"text": "約護士", "intent": "book_home_visit"})])
    component.process_training_data(data)
    assert data.training_examples[0].get("text") == "约护士"


@pytest.mark.parametrize("number", ["8800012345", "2024010101", "19900001001", "100200300"])
def test_numbers_are_never_changed(number):
    assert normalize_chinese(f"戶號{number}查下") == f"户号{number}查下"


def test_the_nlu_reads_only_the_start_of_a_huge_message():
    message = Message(data={"text": "我要投诉" + "很" * 20_000})
    ChineseTextNormalizer().process([message])
    assert message.get("text") == ("我要投诉" + "很" * 20_000)[:MAX_NLU_CHARACTERS]
