"""Service manners (服务管理制度7): a goodbye, even inside thanks, is seen off; a leave's
confirmation wishes a quick recovery only to a child who is unwell."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.manners import ActionAnswerThanks
from bot.school.wording import is_unwell


def answer_to(text: str) -> list[str]:
    message = {"text": text, "intent": {"name": "thank", "confidence": 0.99}}
    tracker = Tracker("web:manners", {}, message, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    ActionAnswerThanks().run(dispatcher, tracker, {})
    return [sent["response"] for sent in dispatcher.messages]


@pytest.mark.parametrize("text", ["谢谢 再见", "好的谢谢 没别的了", "謝謝 拜拜", "多谢 先这样吧"])
def test_thanks_with_a_goodbye_get_a_farewell(text):
    assert answer_to(text) == ["utter_goodbye"]


@pytest.mark.parametrize("text", ["谢谢", "太感谢了 帮大忙了", "谢谢 我记下了"])
def test_thanks_alone_are_answered_and_the_person_is_asked_what_else(text):
    assert answer_to(text) == ["utter_you_are_welcome"]


@pytest.mark.parametrize("reason", ["发烧了", "咳嗽 去医院", "肚子疼", "摔了一跤"])
def test_an_unwell_child_gets_a_wish_for_a_quick_recovery(reason):
    assert is_unwell(reason)


@pytest.mark.parametrize("reason", ["钢琴考级", "家里有事", "跟爸妈去外婆家", "参加比赛"])
def test_other_reasons_get_no_such_wish(reason):
    assert not is_unwell(reason)
