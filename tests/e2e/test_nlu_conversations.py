"""Out-of-scope messages and the two-stage fallback, through the running assistant."""

from __future__ import annotations

import pytest

from actions.fallback import choices_for
from tests.e2e.conftest import new_sender, texts

pytestmark = pytest.mark.e2e

# Vague messages: the assistant should not be sure what they mean.
VAGUE = [
    "我想问问那个事情",
    "帮我弄一下",
    "查一下",
    "那个怎么办",
    "有个事想咨询",
    "孩子的事",
    "燃气那边的事情",
    "想约一下",
    "我要办个业务",
    "老人的事情想问问",
    "能不能帮我看看",
    "上次那个",
]


def _buttons(replies):
    return [button for reply in replies for button in reply.get("buttons", [])]


@pytest.mark.parametrize(
    "message",
    [
        "明天会下雨吗",
        "帮我把这个月电费交了",
        "放一首周杰伦的歌",
        "我手机话费还剩多少",
        "你觉得比特币还会涨吗",
        "附近有什么好吃的火锅",
    ],
)
def test_out_of_scope_gets_what_the_assistant_does_instead(assistant, message):
    replies = assistant.say(message)
    answer = texts(replies)
    assert "不在我的服务范围" in answer
    assert "/check_gas_bill" in {b["payload"] for b in _buttons(replies)}


def _an_unsure_message(assistant) -> tuple[str, list[dict[str, str]]]:
    """A vague message the model is unsure about, with the services it would offer."""
    parses = []
    for message in VAGUE:
        parsed = assistant.parse(message)
        parses.append((message, parsed["intent"]["name"]))
        if parsed["intent"]["name"] == "nlu_fallback":
            choices = choices_for(parsed.get("intent_ranking") or [])
            if choices:
                return message, choices
    pytest.fail(f"no vague message was taken as unsure: {parses}")


def test_unsure_offers_the_likely_services_and_a_choice_runs_it(assistant):
    message, choices = _an_unsure_message(assistant)
    sender = new_sender()
    replies = assistant.say(message, sender)
    assert "不太确定" in texts(replies)
    buttons = _buttons(replies)
    assert buttons == [*choices, {"title": "都不是", "payload": "/out_of_scope"}]

    # Pressing a service runs it as if the first message had said so.
    chosen = buttons[0]["payload"]
    answer = texts(assistant.say(chosen, sender))
    assert "不太确定" not in answer
    assert "没有完全理解" not in answer
    tracker = assistant.tracker(sender)
    intents = [e["parse_data"]["intent"]["name"] for e in tracker["events"] if e["event"] == "user"]
    assert intents[-1] == chosen.lstrip("/")


def test_none_of_these_asks_to_rephrase_then_a_clear_message_is_served(assistant):
    message, _ = _an_unsure_message(assistant)
    sender = new_sender()
    assistant.say(message, sender)
    assert "换个说法" in texts(assistant.say("/out_of_scope", sender))
    # The rephrased request is understood and served.
    answer = texts(assistant.say("营业厅在哪里", sender))
    assert "营业厅" in answer
    assert "不太确定" not in answer


def test_unsure_twice_gives_up_politely_and_the_conversation_goes_on(assistant):
    sender = new_sender()
    assistant.say("🙂", sender)
    assert "没有完全理解" in texts(assistant.say("🙂🙂", sender))
    assert "您好" in texts(assistant.say("你好", sender))


@pytest.mark.parametrize(
    ("message", "intent", "expected"),
    [
        ("俺家燃气费欠多少钱", "check_gas_bill", "户号"),  # colloquial: the account is asked for
        ("孩纸明天请个假", "request_leave", "学号"),  # internet slang and a homophone
        ("我媽媽想約護士上門打點滴", "book_home_visit", "目前的情况"),  # traditional characters
        ("帮我check一下燃气bill", "check_gas_bill", "户号"),  # English mixed in
    ],
    ids=["colloquial", "slang", "traditional", "mixed-english"],
)
def test_everyday_wording_reaches_the_right_service(assistant, message, intent, expected):
    """The service starts at once or, when the model is unsure, is the first choice
    offered: never another service, never a dead end."""
    sender = new_sender()
    replies = assistant.say(message, sender)
    if expected not in texts(replies):
        buttons = _buttons(replies)
        assert "不太确定" in texts(replies), texts(replies)
        assert buttons and buttons[0]["payload"] == f"/{intent}", buttons
        replies = assistant.say(buttons[0]["payload"], sender)
    assert expected in texts(replies)
