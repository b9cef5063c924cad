"""Short follow-ups read against the task just answered (bot/dialogue/followups.py), on
event lists as Rasa stores them, and the action that replays such a message
(actions/followups.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import followups as followups_module
from actions.fallback import ActionOutOfScope
from actions.followups import ActionResolveFollowup
from actions.school import ActionCancelLeave
from bot.dialogue.followups import applied_events, carried_slots, last_task, resolve_followup
from bot.infra.db import DatabaseUnavailable

TODAY = date(2026, 11, 25)  # a Wednesday


def user(text: str, intent: str, confidence: float = 0.9) -> dict[str, Any]:
    ranked = {"name": intent, "confidence": confidence}
    return {
        "event": "user",
        "text": text,
        "parse_data": {"text": text, "intent": ranked, "intent_ranking": [ranked]},
        "input_channel": "rest",
        "metadata": {"channel": "web"},
        "message_id": "m-" + text,
    }


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def loop(name: str | None) -> dict[str, Any]:
    return {"event": "active_loop", "name": name}


LISTEN = action("action_listen")

LEAVE_RECORDED = [
    action("action_session_start"),
    {"event": "session_started"},
    LISTEN,
    user("孩子病了明天请假", "request_leave"),
    action("leave_form"),
    loop("leave_form"),
    slot("leave_dates", ["2026-11-26"]),
    slot("leave_reason", "生病"),
    slot("requested_slot", "leave_confirmed"),
    LISTEN,
    user("确认", "affirm"),
    action("leave_form"),
    slot("leave_student", "7"),
    slot("leave_confirmed", True),
    loop(None),
    slot("requested_slot", None),
    action("action_submit_leave"),
    slot("leave_student", None),
    slot("leave_reason", None),
    LISTEN,
]

GAS_BILL_ANSWERED = [
    LISTEN,
    user("户号31001007 后四位2007 查账单", "check_gas_bill"),
    action("gas_account_form"),
    loop("gas_account_form"),
    loop(None),
    slot("requested_slot", None),
    action("action_gas_answer"),
    slot("gas_request", None),
    LISTEN,
]

HALLS_ANSWERED = [
    LISTEN,
    user("燃气营业厅在哪", "ask_business_hall"),
    action("action_gas_business_halls"),
    LISTEN,
]
CARE_TIMES_ANSWERED = [
    LISTEN,
    user("看护几点结束", "ask_care_times"),
    action("action_care_times"),
    LISTEN,
]


def follow(before: list[dict[str, Any]], text: str, intent: str) -> str | None:
    return resolve_followup([*before, user(text, intent)], text, intent, TODAY)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("后天也请一天", "inform"),
        ("明天也请一天", "nlu_fallback"),
        ("周三呢", "inform"),
        ("那周五呢", "goodbye"),
    ],
)
def test_a_day_leaning_on_a_recorded_leave_asks_for_another_leave(text: str, intent: str) -> None:
    assert follow(LEAVE_RECORDED, text, intent) == "request_leave"


LEAVE_NOT_FOUND = [
    LISTEN,
    user("明天那个假帮我撤了 孩子牙不看了", "cancel_leave"),
    action("action_cancel_leave"),
    LISTEN,
]


@pytest.mark.parametrize(
    ("text", "intent", "resolved"),
    [
        ("哦 我记错了 是下礼拜二那个", "nlu_fallback", "cancel_leave"),
        ("周五那个也撤了", "inform", "cancel_leave"),
        ("下礼拜二", "inform", None),  # a day alone says nothing of cancelling
        ("哦 我记错了", "nlu_fallback", None),  # no day
    ],
)
def test_another_day_after_a_cancelled_leave_cancels_that_one(text, intent, resolved) -> None:
    assert follow(LEAVE_NOT_FOUND, text, intent) == resolved


def test_arrears_asked_after_a_gas_bill_asks_for_the_bill_again() -> None:
    assert follow(GAS_BILL_ANSWERED, "那我欠费不", "goodbye") == "check_gas_bill"


def test_usage_asked_after_a_gas_bill_asks_for_the_usage() -> None:
    assert follow(GAS_BILL_ANSWERED, "那用气量呢", "inform") == "check_gas_usage"


@pytest.mark.parametrize("text", ["星期天开门吗", "周三呢", "那周日呢"])
def test_a_day_asked_after_the_halls_hours_gets_the_halls_again(text: str) -> None:
    assert follow(HALLS_ANSWERED, text, "nlu_fallback") == "ask_business_hall"


def test_arrears_asked_after_the_halls_asks_for_the_bill() -> None:
    assert follow(HALLS_ANSWERED, "那我欠费不", "goodbye") == "check_gas_bill"


@pytest.mark.parametrize("text", ["周三呢", "那明天几点接", "那星河小学呢"])
def test_a_day_asked_after_the_care_times_gets_the_care_times_again(text: str) -> None:
    assert follow(CARE_TIMES_ANSWERED, text, "inform") == "ask_care_times"


@pytest.mark.parametrize("text", ["好的 再见", "谢谢 拜拜", "那就这样吧 再见"])
def test_a_farewell_after_an_answer_stays_a_farewell(text: str) -> None:
    assert follow(LEAVE_RECORDED, text, "goodbye") is None
    assert follow(GAS_BILL_ANSWERED, text, "goodbye") is None


@pytest.mark.parametrize("intent", ["nlu_fallback", "inform"])
def test_thanks_and_goodbye_the_nlu_could_not_place_are_seen_off(intent: str) -> None:
    assert follow(GAS_BILL_ANSWERED, "谢谢 再见", intent) == "goodbye"


def test_a_message_the_nlu_gave_a_service_is_left_to_that_service() -> None:
    assert follow(LEAVE_RECORDED, "周三呢", "ask_care_times") is None
    assert follow(GAS_BILL_ANSWERED, "那我欠费不", "set_arrears_reminder") is None


def test_a_short_message_with_nothing_of_the_task_is_not_a_follow_up() -> None:
    assert follow(LEAVE_RECORDED, "那好吧", "inform") is None
    assert follow(GAS_BILL_ANSWERED, "周三呢", "inform") is None
    assert follow(CARE_TIMES_ANSWERED, "那我欠费不", "goodbye") is None


def test_a_long_message_is_not_read_as_a_follow_up() -> None:
    text = "那我想问问周三的时候你们那边的人到底会不会过来呢"
    assert follow(HALLS_ANSWERED, text, "nlu_fallback") is None


def test_without_a_task_answered_nothing_is_a_follow_up() -> None:
    assert follow([LISTEN], "周三呢", "inform") is None


def test_a_follow_up_comes_right_after_the_answer() -> None:
    later = [*LEAVE_RECORDED, user("谢谢", "thank"), action("action_answer_thanks"), LISTEN]
    assert follow(later, "周三呢", "inform") == "request_leave"
    much_later = [*later, user("嗯", "affirm"), action("utter_anything_else"), LISTEN]
    assert follow(much_later, "周三呢", "inform") is None


def test_nothing_is_resolved_while_a_form_asks_its_questions() -> None:
    asking = [
        *LEAVE_RECORDED,
        user("我要投诉", "file_complaint"),
        action("complaint_form"),
        loop("complaint_form"),
        LISTEN,
    ]
    assert follow(asking, "周三呢", "inform") is None


def test_an_infusion_booking_is_never_a_task_to_follow_up() -> None:
    booked = [
        LISTEN,
        user("预约明天上门输液", "book_home_visit"),
        loop(None),
        action("action_submit_infusion"),
        LISTEN,
    ]
    assert follow(booked, "后天也约一次呢", "inform") is None
    assert last_task([*booked, user("后天呢", "inform")]) is None


def test_a_restart_forgets_the_task_answered_before() -> None:
    restarted = [*LEAVE_RECORDED, {"event": "restart"}, LISTEN]
    assert follow(restarted, "周三呢", "inform") is None


def test_a_reverted_message_is_gone_and_the_replayed_one_counts() -> None:
    events = [
        *GAS_BILL_ANSWERED,
        user("那我欠费不", "goodbye"),
        action("action_resolve_followup"),
        {"event": "rewind"},
    ]
    assert applied_events(events) == GAS_BILL_ANSWERED[:-1]
    task = last_task([*events, LISTEN, user("那我欠费不", "check_gas_bill")])
    assert task is not None and task.flow == "gas" and task.messages_since == 1


def test_another_leave_keeps_the_child_and_the_reason_of_the_leave_just_recorded() -> None:
    events = [*LEAVE_RECORDED, user("后天也请一天", "request_leave")]
    assert carried_slots(events, "后天也请一天", TODAY) == {
        "leave_student": "7",
        "leave_reason": "生病",
    }


def test_the_new_leave_form_starting_on_the_follow_up_still_sees_the_leave_before() -> None:
    started = [user("后天也请一天", "request_leave"), action("leave_form"), loop("leave_form")]
    kept = carried_slots([*LEAVE_RECORDED, *started], "后天也请一天", TODAY)
    assert kept == {"leave_student": "7", "leave_reason": "生病"}


def test_a_new_leave_of_its_own_keeps_nothing() -> None:
    assert (
        carried_slots([*LEAVE_RECORDED, user("下周一请假", "request_leave")], "下周一请假", TODAY)
        == {}
    )
    assert (
        carried_slots([LISTEN, user("后天也请一天", "request_leave")], "后天也请一天", TODAY) == {}
    )


def _tracker(events: list[dict[str, Any]]) -> Tracker:
    latest = events[-1]
    message = {**latest["parse_data"], "entities": []}
    return Tracker("rest:parent", {}, message, events, False, None, {}, "action_listen")


def test_the_action_replays_a_follow_up_with_the_resolved_intent(monkeypatch) -> None:
    monkeypatch.setenv("FROZEN_NOW", "2026-11-25T10:00:00+08:00")
    text = "那我欠费不"
    tracker = _tracker([*GAS_BILL_ANSWERED, user(text, "goodbye")])
    events = ActionResolveFollowup().run(CollectingDispatcher(), tracker, {})
    assert [e["event"] for e in events] == ["rewind", "action", "user"]
    assert events[1]["name"] == "action_listen"
    replay = events[2]
    assert replay["text"] == text
    assert replay["parse_data"]["intent"] == {"name": "check_gas_bill", "confidence": 1.0}
    assert replay["input_channel"] == "rest"
    assert replay["metadata"] == {"channel": "web"} and replay["message_id"] == "m-" + text


def test_a_leave_asked_for_that_the_nlu_took_for_a_cancellation_is_asked_again() -> None:
    text = "那明天的能请不 明天也去不了"
    tracker = _tracker([user(text, "cancel_leave", 0.64)])
    events = ActionCancelLeave().run(CollectingDispatcher(), tracker, {})
    assert [e["event"] for e in events] == ["rewind", "action", "user"]
    assert events[2]["parse_data"]["intent"] == {"name": "request_leave", "confidence": 1.0}


def test_the_action_does_nothing_when_the_message_is_no_follow_up() -> None:
    tracker = _tracker([*GAS_BILL_ANSWERED, user("好的 再见", "goodbye")])
    assert ActionResolveFollowup().run(CollectingDispatcher(), tracker, {}) == []


# --- a message the NLU did not read as a policy question --------------------------------


# Whether each search was told the NLU's unsure guess was a policy question.
leanings: list[bool] = []


def _asked(monkeypatch, answered: bool | Exception) -> list[str]:
    """Stand in for the policy search; returns the questions it was asked."""
    asked: list[str] = []
    leanings.clear()

    def regulations_answer(
        *,
        question: str,
        sender_id: str | None,
        previous: str | None = None,
        nlu_leans: bool = False,
    ) -> bool:
        asked.append(question if previous is None else f"{question} | {previous}")
        leanings.append(nlu_leans)
        if isinstance(answered, Exception):
            raise answered
        return answered

    monkeypatch.setattr(followups_module, "regulations_answer", regulations_answer)
    return asked


@pytest.mark.parametrize("intent", ["nlu_fallback", "out_of_scope"])
def test_a_message_the_regulations_answer_is_replayed_as_a_policy_question(
    monkeypatch, intent: str
) -> None:
    asked = _asked(monkeypatch, True)
    text = "坐柜台的想跟人倒个班咋弄"
    tracker = _tracker([LISTEN, user(text, intent, confidence=0.4)])
    action_class = ActionResolveFollowup if intent == "nlu_fallback" else ActionOutOfScope
    dispatcher = CollectingDispatcher()
    events = action_class().run(dispatcher, tracker, {})
    assert asked == [text]
    assert [e["event"] for e in events] == ["rewind", "action", "user"]
    assert events[2]["parse_data"]["intent"] == {"name": "ask_policy", "confidence": 1.0}
    assert dispatcher.messages == []  # the policy answer follows, nothing before it


@pytest.mark.parametrize(
    ("intent", "guess", "leans"),
    [
        ("nlu_fallback", "list_policies", True),
        ("nlu_fallback", "ask_policy", True),
        ("nlu_fallback", "bot_challenge", False),
        ("out_of_scope", "ask_policy", False),  # its guess is out of scope
    ],
)
def test_an_unsure_guess_of_a_policy_question_needs_only_a_clause_that_answers(
    monkeypatch, intent: str, guess: str, leans: bool
) -> None:
    _asked(monkeypatch, False)
    message = user("咱们厅里那个每周的会 是礼拜几开啊", intent, confidence=0.55)
    ranking = message["parse_data"]["intent_ranking"]
    message["parse_data"]["intent_ranking"] = [*ranking, {"name": guess, "confidence": 0.47}]
    followups_module.as_policy_question(_tracker([LISTEN, message]))
    assert leanings == [leans]


def test_a_message_the_regulations_do_not_answer_gets_the_usual_reply(monkeypatch) -> None:
    _asked(monkeypatch, False)
    tracker = _tracker([LISTEN, user("讲个笑话", "out_of_scope")])
    dispatcher = CollectingDispatcher()
    assert ActionOutOfScope().run(dispatcher, tracker, {}) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_out_of_scope"]
    assert ActionResolveFollowup().run(CollectingDispatcher(), tracker, {}) == []


def test_no_policy_search_for_a_service_intent_or_while_a_form_asks(monkeypatch) -> None:
    asked = _asked(monkeypatch, True)
    service = _tracker([LISTEN, user("明天请假", "request_leave")])
    assert followups_module.as_policy_question(service) == []
    in_form = _tracker([LISTEN, user("不知道", "nlu_fallback")])
    in_form.active_loop = {"name": "leave_form"}
    assert followups_module.as_policy_question(in_form) == []
    assert asked == []


def test_a_question_on_pay_the_regulations_do_not_cover_is_still_theirs(monkeypatch) -> None:
    _asked(monkeypatch, False)  # no clause answers it beyond doubt
    tracker = _tracker([LISTEN, user("周末加班 这加班费咋算的 给几倍工资啊", "nlu_fallback")])
    events = ActionResolveFollowup().run(CollectingDispatcher(), tracker, {})
    # Answered as a policy question: the answer says they do not cover it, and whom to ask.
    assert events[2]["parse_data"]["intent"]["name"] == "ask_policy"


def test_a_failed_policy_search_leaves_the_usual_reply(monkeypatch) -> None:
    _asked(monkeypatch, DatabaseUnavailable("down"))
    tracker = _tracker([LISTEN, user("坐柜台的想跟人倒个班咋弄", "out_of_scope")])
    dispatcher = CollectingDispatcher()
    assert ActionOutOfScope().run(dispatcher, tracker, {}) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_out_of_scope"]


def test_a_follow_up_of_a_policy_answer_is_judged_with_the_senders_own_last_question(
    monkeypatch,
) -> None:
    asked = _asked(monkeypatch, True)
    events = [
        LISTEN,
        user("服务器那屋里头能抽烟不", "ask_policy"),
        action("action_answer_policy"),
        slot("policy_context", "服务器那屋里头能抽烟不"),
        LISTEN,
        user("那吃东西呢", "out_of_scope"),
    ]
    tracker = _tracker(events)
    tracker.slots = {"policy_context": "服务器那屋里头能抽烟不"}
    events_out = ActionOutOfScope().run(CollectingDispatcher(), tracker, {})
    assert asked == ["那吃东西呢 | 服务器那屋里头能抽烟不"]
    assert events_out[2]["parse_data"]["intent"]["name"] == "ask_policy"


def test_a_gas_emergency_is_never_tried_as_a_policy_question(monkeypatch) -> None:
    asked = _asked(monkeypatch, True)
    tracker = _tracker([LISTEN, user("楼道里一股臭鸡蛋味儿 是不是漏气了 能开灯不", "nlu_fallback")])
    assert followups_module.as_policy_question(tracker) == []
    assert asked == []


def test_a_gas_emergency_read_as_a_policy_question_gets_what_to_do_now() -> None:
    from actions.policies import ActionAnswerPolicy

    tracker = _tracker(
        [LISTEN, user("楼道里一股臭鸡蛋味儿 是不是漏气了 俺想开灯瞅瞅行不", "ask_policy")]
    )
    dispatcher = CollectingDispatcher()
    ActionAnswerPolicy().run(dispatcher, tracker, {})
    responses = [m["response"] for m in dispatcher.messages]
    assert len(responses) == 1 and responses[0].startswith("utter_gas_leak")


def test_a_complaint_read_as_a_policy_question_no_rule_answers_is_filed_as_one(
    monkeypatch,
) -> None:
    from actions import policies
    from bot.policies.service import PolicyReply, Referral

    def nothing_answers(**_: Any) -> PolicyReply:
        return PolicyReply(None, (), Referral("物业服务中心", "0571-5555-0404"), False)

    monkeypatch.setattr(policies, "answer_policy", nothing_answers)
    text = "投诉物业 俺们小区晚上保安老不在岗 谁都能进来"
    tracker = _tracker([LISTEN, user(text, "ask_policy", confidence=1.0)])
    events = policies.ActionAnswerPolicy().run(CollectingDispatcher(), tracker, {})
    assert [e["event"] for e in events] == ["rewind", "action", "user"]
    assert events[2]["parse_data"]["intent"] == {"name": "file_complaint", "confidence": 1.0}
    # A question about complaints gets the answer that no rule covers it, and whom to ask.
    question = _tracker([LISTEN, user("投诉一般多久能有人管啊", "ask_policy")])
    dispatcher = CollectingDispatcher()
    events = policies.ActionAnswerPolicy().run(dispatcher, question, {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_policy_no_answer"]


# --- a plain request the NLU was unsure of ------------------------------------------------


def test_an_unsure_message_plainly_asking_for_a_service_is_replayed_with_it(monkeypatch) -> None:
    _asked(monkeypatch, False)  # no clause answers it
    text = "您好 麻烦您 我家厨房那个燃气表好像坏了 做饭的时候那个数字一点都不转 想请师傅来看看"
    tracker = _tracker([LISTEN, user(text, "nlu_fallback", confidence=0.55)])
    events = ActionResolveFollowup().run(CollectingDispatcher(), tracker, {})
    assert [e["event"] for e in events] == ["rewind", "action", "user"]
    assert events[2]["parse_data"]["intent"] == {"name": "report_meter_fault", "confidence": 1.0}
    # A question about such a thing is left to the two-stage fallback's buttons.
    question = _tracker([LISTEN, user("燃气表坏了修要收钱不", "nlu_fallback", confidence=0.5)])
    assert ActionResolveFollowup().run(CollectingDispatcher(), question, {}) == []


def test_a_plain_leave_request_read_as_a_bare_answer_is_replayed_as_one() -> None:
    text = "赶紧的我在开车 许佳怡下周三看护不去了 去少年宫比赛 学号2023010305 手机19900001026"
    tracker = _tracker([LISTEN, user(text, "inform", confidence=0.78)])
    events = ActionResolveFollowup().run(CollectingDispatcher(), tracker, {})
    assert events[2]["parse_data"]["intent"] == {"name": "request_leave", "confidence": 1.0}
