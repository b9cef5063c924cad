"""Questions asked aside in the middle of a form: answered by the form's validation, which
forgets what the message filled so that the form asks its question again."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.asides import ASIDE_ANSWERS, answer
from actions.complaints import ValidateComplaintForm
from actions.forms import ASIDE_INTENTS, answer_aside, asks_aside
from actions.gas import ValidateGasAccountForm


def _tracker(
    text: str,
    intent: str,
    requested_slot: str | None = "student_no",
    confidence: float = 0.95,
    slots: dict | None = None,
    events: list | None = None,
) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": confidence}}
    return Tracker(
        "web:alice",
        {"requested_slot": requested_slot, **(slots or {})},
        message,
        events or [],
        False,
        None,
        {"name": "complaint_form"} if requested_slot else {},
        "action_listen",
    )


def test_every_aside_question_has_an_answer():
    assert set(ASIDE_ANSWERS) == ASIDE_INTENTS


@pytest.mark.parametrize(
    ("text", "intent", "requested_slot", "confidence", "aside"),
    [
        ("课后看护几点结束", "ask_care_times", "guardian_phone", 0.95, True),
        ("你们营业厅几点关门", "ask_business_hall", "complaint_occurred", 0.95, True),
        ("转人工", "ask_contact", "complaint_category", 0.95, True),
        ("家里一股煤气味", "gas_leak", "leave_reason", 0.95, True),  # urgent, asked or not
        # Not in a form: the question is asked, not aside.
        ("课后看护几点结束", "ask_care_times", None, 0.95, False),
        # Answers that sound like these questions.
        ("今天上午 人民路营业厅", "ask_business_hall", "complaint_occurred", 0.97, False),
        ("就在这里联系我", "ask_contact", "complaint_contact", 0.88, False),
        ("有事打我电话吗 13900001111", "ask_contact", "complaint_contact", 0.95, False),
        # Not sure enough.
        ("营业厅几点开门", "ask_business_hall", "complaint_occurred", 0.6, False),
        ("发烧了", "inform", "leave_reason", 0.99, False),
    ],
)
def test_what_is_asked_aside(text, intent, requested_slot, confidence, aside):
    tracker = _tracker(text, intent, requested_slot, confidence)
    assert asks_aside(tracker) is aside


def test_a_gas_leak_is_not_an_aside_to_a_gas_question():
    tracker = _tracker("家里一股煤气味", "gas_leak", "gas_account_no")
    assert asks_aside(tracker, ValidateGasAccountForm.aside_intents) is False
    assert asks_aside(tracker, ValidateComplaintForm.aside_intents) is True


@pytest.mark.parametrize(
    ("intent", "response"),
    [
        ("gas_leak", "utter_gas_leak"),
        ("ask_gas_payment", "utter_gas_payment"),
        ("bot_challenge", "utter_iamabot"),
    ],
)
def test_an_aside_gets_the_answer_it_gets_outside_a_form(intent, response):
    dispatcher = CollectingDispatcher()
    asyncio.run(answer(dispatcher, _tracker("?", intent), {}))
    assert [message["response"] for message in dispatcher.messages] == [response]


def test_the_form_forgets_what_the_aside_filled_and_asks_again():
    # Rasa filled the requested slot (from_text) and a date from the question itself.
    tracker = _tracker(
        "燃气费怎么交?",
        "ask_gas_payment",
        requested_slot="complaint_occurred",
        slots={"complaint_occurred": "燃气费怎么交?"},
        events=[
            {"event": "user", "text": "燃气费怎么交?"},
            {"event": "slot", "name": "complaint_occurred", "value": "燃气费怎么交?"},
        ],
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateComplaintForm().run(dispatcher, tracker, {"forms": {}}))
    assert [message["response"] for message in dispatcher.messages] == ["utter_gas_payment"]
    assert events == [SlotSet("complaint_occurred", None)]


def test_an_aside_before_anything_was_filled_still_sets_the_requested_slot():
    # A slot set, even to None, keeps Rasa from rejecting the form.
    tracker = _tracker("你是机器人吗", "bot_challenge", requested_slot="complaint_staff")
    events = asyncio.run(answer_aside(CollectingDispatcher(), tracker, {"forms": {}}))
    assert events == [SlotSet("complaint_staff", None)]
