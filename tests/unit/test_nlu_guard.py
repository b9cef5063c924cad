from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.guard import ContentlessMessageGuard, has_words


@pytest.mark.parametrize("text", ["你好", "ok", "123", "户号8800012345", "a😀"])
def test_words_are_words(text):
    assert has_words(text)


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "。。。???", "!!!", "👍🏻", None])
def test_no_words(text):
    assert not has_words(text)


def test_guard_overrides_the_classifier_only_for_messages_without_words():
    guard = ContentlessMessageGuard()
    emoji = Message(data={"text": "😀😀", "intent": {"name": "affirm", "confidence": 0.82}})
    words = Message(data={"text": "好的", "intent": {"name": "affirm", "confidence": 0.99}})
    guard.process([emoji, words])
    assert emoji.get("intent") == {"name": "nlu_fallback", "confidence": 1.0}
    assert words.get("intent")["name"] == "affirm"
