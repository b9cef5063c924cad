"""A message not understood that may speak of leaking gas gets what to do now, in both
stages of the fallback (the buttons, then the person), and nothing else gets the steps."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionAskAffirmation
from actions.handoff import ActionDefaultFallback
from tests.formdriver import domain


def _user(text: str, ranking: list[tuple[str, float]]) -> dict[str, Any]:
    ranked = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    parse = {"text": text, "intent": ranked[0], "intent_ranking": ranked, "entities": []}
    return {"event": "user", "text": text, "parse_data": parse}


def _tracker(*users: dict[str, Any], loop: str | None = None) -> Tracker:
    return Tracker(
        "web:fallback-gas",
        {},
        users[-1]["parse_data"],
        list(users),
        False,
        None,
        {"name": loop} if loop else {},
        "action_listen",
    )


def _responses(action: Any, tracker: Tracker) -> list[str]:
    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker, domain())
    return [str(message.get("response")) for message in dispatcher.messages]


UNSURE = [("nlu_fallback", 0.55), ("affirm", 0.46), ("deny", 0.13)]


def test_a_strong_smell_after_the_word_gas_is_warned_of_before_the_buttons(service_database):
    tracker = _tracker(_user("燃汽", UNSURE), _user("味儿好冲😰😰", UNSURE))
    said = _responses(ActionAskAffirmation(), tracker)
    assert said[0] == "utter_gas_leak"
    assert said[1].startswith("utter_ask_affirmation")


def test_a_gas_leak_guessed_below_the_bar_is_warned_of(service_database):
    guessed = [("nlu_fallback", 0.55), ("gas_leak", 0.52), ("out_of_scope", 0.42)]
    said = _responses(ActionAskAffirmation(), _tracker(_user("味儿好冲😰😰", guessed)))
    assert said[0] == "utter_gas_leak"


def test_the_person_taking_over_comes_after_the_steps(service_database):
    tracker = _tracker(
        _user("燃汽", UNSURE),
        _user("味儿好冲😰😰", UNSURE),
        loop="action_two_stage_fallback",
    )
    said = _responses(ActionDefaultFallback(), tracker)
    assert said[:2] == ["utter_gas_leak", "utter_handoff_after_fallback"]


@pytest.mark.parametrize(
    ("earlier", "text"),
    [("投诉你们助餐", "送的午饭味道太重了"), ("你好", "嗯嗯嗯")],
)
def test_nothing_else_gets_the_steps(service_database, earlier, text):
    tracker = _tracker(_user(earlier, UNSURE), _user(text, UNSURE))
    assert "utter_gas_leak" not in _responses(ActionAskAffirmation(), tracker)


def _bot(response: str) -> dict[str, Any]:
    return {"event": "bot", "text": "…", "metadata": {"utter_action": response}}


LEAK = _user("后厨一股煤气味儿😱😱 要不要先把排风扇开开", [("gas_leak", 0.98)])


def test_a_question_not_understood_during_a_leak_gets_everyone_out_first(service_database):
    guests = _user("外面客人还在吃饭呢 要让他们先出去吗", [("out_of_scope", 0.9)])
    tracker = _tracker(LEAK, _bot("utter_gas_leak"), guests)
    from actions.fallback import ActionOutOfScope

    assert _responses(ActionOutOfScope(), tracker) == ["utter_gas_leak_again"]


def test_the_phone_asked_for_during_a_leak_is_the_emergency_line(service_database):
    from actions.contact import ActionContact

    phone = _user("你们电话多少 我出去打", [("ask_contact", 0.9)])
    tracker = _tracker(LEAK, _bot("utter_gas_leak"), phone)
    assert _responses(ActionContact(), tracker) == ["utter_contact_emergency"]


def test_long_after_the_leak_the_phone_list_is_the_usual_one(service_database):
    from actions.contact import ActionContact

    later = [_user(text, [("inform", 0.9)]) for text in ("好了", "师傅来过了", "谢谢")]
    phone = _user("你们电话多少", [("ask_contact", 0.9)])
    tracker = _tracker(LEAK, _bot("utter_gas_leak"), *later, phone)
    assert _responses(ActionContact(), tracker) == ["utter_contact_departments"]
