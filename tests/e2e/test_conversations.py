"""Conversations through the REST channel, with the custom actions really running."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import new_sender, texts

pytestmark = pytest.mark.e2e


def test_greeting_offers_the_services(assistant):
    replies = assistant.say("你好")
    assert "您好" in texts(replies)
    payloads = {button["payload"] for reply in replies for button in reply.get("buttons", [])}
    assert {"/check_gas_bill", "/request_leave", "/book_home_visit", "/file_complaint"} <= payloads


@pytest.mark.parametrize("question", ["你能做什么", "你都能帮我干啥"])
def test_help_lists_the_services(assistant, question):
    answer = texts(assistant.say(question))
    for service in ("燃气", "课后看护", "上门", "投诉", "制度"):
        assert service in answer


def test_policy_question_is_answered_with_its_citation(assistant):
    answer = texts(assistant.say("蓄水池多久消毒一次?"))
    assert "《饮用水消毒制度》(服务管理制度3) 第二条第2款" in answer
    assert "每10天消毒一次" in answer


def test_staff_only_rules_are_not_quoted_to_customers(assistant):
    answer = texts(assistant.say("服务器密码要多久改一次"))
    assert "机房管理制度" not in answer
    assert "服务器密码" not in answer


def test_policy_list_shows_public_documents_only(assistant):
    answer = texts(assistant.say("你们有哪些制度"))
    assert "《抄表管理制度》" in answer
    assert "《机房管理制度》" not in answer
    assert "《客服人员激励管理制度》" not in answer


def test_asking_for_a_person_queues_for_one_and_gives_their_number(assistant):
    # A person takes over (tests/e2e/test_handoff.py); the desk's phone is given too.
    answer = texts(assistant.say("我不想跟机器聊了 转人工"))
    assert "前面还有" in answer and "0571-5555-0505" in answer


def test_asking_for_the_phone_numbers_gives_every_departments_number(assistant):
    answer = texts(assistant.say("你们的客服电话是多少"))
    for number in ("0571-5555-0101", "0571-5555-0202", "0571-5555-0303", "0571-5555-0505"):
        assert number in answer  # the demo directory's phone numbers


def test_asking_for_one_departments_number_gives_that_one(assistant):
    answer = texts(assistant.say("社区卫生服务中心电话多少"))
    assert "0571-5555-0303" in answer
    assert "康宁路" in answer  # its address
    assert "0571-5555-0101" not in answer


@pytest.mark.parametrize("message", ["今天天气怎么样", "帮我订一张去北京的火车票", "给我讲个笑话"])
def test_out_of_scope_says_what_it_can_do(assistant, message):
    answer = texts(assistant.say(message))
    assert "对不起" in answer
    assert "燃气" in answer


def test_thanks_and_goodbye_in_the_regulations_manners(assistant):
    sender = new_sender()
    thanks = texts(assistant.say("谢谢你", sender))
    assert "不客气" in thanks or "谢谢您的认可" in thanks
    assert "再见" in texts(assistant.say("再见", sender))


@pytest.mark.parametrize(
    "message",
    ["", "   ", "😀😀😀", "。。。???", "你" * 5000, "hello 你好 123", "<script>alert(1)</script>"],
    ids=["empty", "blank", "emoji", "punctuation", "huge", "mixed", "html"],
)
def test_bad_input_gets_a_polite_reply(assistant, message):
    sender = new_sender()
    status, replies = assistant.post(sender, message)
    assert status == 200
    assert texts(replies).strip(), f"no reply to {message[:20]!r}"
    # The conversation goes on afterwards.
    assert "您好" in texts(assistant.say("你好", sender))


@pytest.mark.parametrize("message", ["😀😀", "👍", "。。。", "   "])
def test_a_message_without_words_is_never_taken_as_a_yes(assistant, message):
    sender = new_sender()
    first = assistant.say(message, sender)
    # Nothing is likely enough to offer: the services as buttons, no guess.
    assert "不太确定" in texts(first)
    assert {b["payload"] for r in first for b in r.get("buttons", [])} >= {"/check_gas_bill"}
    # Twice in a row: the assistant gives up politely (the second stage).
    assert "没有完全理解" in texts(assistant.say(message, sender))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("我媽媽想約護士上門", "目前的情况"),  # the home-visit form starts
        ("孩子明天請假 發燒了", "学号"),
        ("蓄水池多久消毒一次？", "每10天消毒一次"),
    ],
    ids=["traditional-visit", "traditional-leave", "full-width"],
)
def test_traditional_characters_and_full_width_forms_are_understood(assistant, message, expected):
    assert expected in texts(assistant.say(message))
