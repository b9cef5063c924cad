"""Replies a form cannot take as its answer: questions asked aside (answered by the form's
validation, which forgets what the message filled so that the form asks its question
again), a name or a forgotten number where a number is asked for."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import policies
from actions.asides import ASIDE_ANSWERS, answer
from actions.complaints import ValidateComplaintForm
from actions.forms import ASIDE_INTENTS, HANDOVERS, answer_aside, aside_intent, asks_aside
from actions.gas import ValidateGasAccountForm
from actions.school import ValidateLeaveForm
from actions.visits import ValidateCareForm, ValidateInfusionForm
from bot.policies.service import PolicyReply


def _tracker(
    text: str,
    intent: str,
    requested_slot: str | None = "student_no",
    confidence: float = 0.95,
    slots: dict | None = None,
    events: list | None = None,
) -> Tracker:
    ranked = {"name": intent, "confidence": confidence}
    message = {"text": text, "intent": ranked, "intent_ranking": [ranked]}
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


def test_every_aside_question_and_handed_over_request_has_an_answer():
    handed_over = {*HANDOVERS, *ValidateInfusionForm.handovers}
    assert set(ASIDE_ANSWERS) == ASIDE_INTENTS | handed_over


@pytest.mark.parametrize(
    ("text", "intent", "requested_slot", "confidence", "aside"),
    [
        ("课后看护几点结束", "ask_care_times", "guardian_phone", 0.95, True),
        ("你们营业厅几点关门", "ask_business_hall", "complaint_occurred", 0.95, True),
        ("转人工", "ask_contact", "complaint_category", 0.95, True),
        ("家里一股煤气味", "gas_leak", "leave_reason", 0.95, True),  # urgent, asked or not
        # Asked the dialect way, ending in its "not".
        ("滨江路那个营业厅礼拜天开门不", "ask_business_hall", "gas_account_no", 0.98, True),
        # A question on the regulations: answered from them, then the form goes on.
        ("请假是不是要提前跟老师说?", "ask_policy", "student_no", 0.99, True),
        # Not in a form: the question is asked, not aside.
        ("课后看护几点结束", "ask_care_times", None, 0.95, False),
        # Answers that sound like these questions.
        ("今天上午 人民路营业厅", "ask_business_hall", "complaint_occurred", 0.97, False),
        ("就在这里联系我", "ask_contact", "complaint_contact", 0.88, False),
        ("有事打我电话吗 13900001111", "ask_contact", "complaint_contact", 0.95, False),
        # Not sure enough.
        ("人民路营业厅那个收费员是谁", "ask_business_hall", "complaint_occurred", 0.6, False),
        ("发烧了", "inform", "leave_reason", 0.99, False),
        # ...unless the message says it is a question aside.
        ("等下 先问一句 营业厅礼拜天开门不", "ask_business_hall", "gas_account_no", 0.62, True),
        ("对了 营业厅那个人叫啥", "ask_business_hall", "complaint_occurred", 0.4, False),
        # The hours asked in so many words, whatever the NLU made of them.
        ("营业厅几点开门", "ask_business_hall", "complaint_occurred", 0.6, True),
        (
            "等下 先问一句 人民路那个营业厅礼拜天开门不",
            "file_complaint",
            "gas_account_no",
            0.81,
            True,
        ),
        ("那看护几点结束啊", "request_leave", "leave_reason", 0.7, True),
        # An answer that only names a hall and its opening is no question.
        ("昨天下午在人民路营业厅开门的时候", "file_complaint", "complaint_occurred", 0.9, False),
    ],
)
def test_what_is_asked_aside(text, intent, requested_slot, confidence, aside):
    tracker = _tracker(text, intent, requested_slot, confidence)
    assert asks_aside(tracker) is aside


def test_what_happened_told_against_the_rules_stays_the_complaint():
    tracker = _tracker("营业员上班玩手机 这合规定吗", "ask_policy", "complaint_description")
    assert asks_aside(tracker, ValidateComplaintForm.aside_intents) is False
    assert asks_aside(tracker, ValidateLeaveForm.aside_intents) is True


def test_a_policy_answer_aside_remembers_its_question_for_a_follow_up(monkeypatch):
    def answered(*, question, sender_id, previous, department):
        assert (question, sender_id, previous) == ("请假要提前说吗?", "web:alice", None)
        return PolicyReply(best=None, related=(), referral=None, staff_only=False, context=question)

    monkeypatch.setattr(policies, "answer_policy", answered)
    tracker = _tracker("请假要提前说吗?", "ask_policy", requested_slot="leave_date")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(answer_aside(dispatcher, tracker, {"forms": {}}))
    assert events == [
        SlotSet("policy_context", "请假要提前说吗?"),
        SlotSet("leave_date", None),
    ]
    assert [m["response"] for m in dispatcher.messages] == ["utter_policy_no_answer_no_contact"]


def test_a_question_asked_in_so_many_words_is_answered_as_it_asks_not_as_read():
    tracker = _tracker(
        "等下 先问一句 人民路那个营业厅礼拜天开门不", "file_complaint", "gas_account_no", 0.81
    )
    assert aside_intent(tracker, frozenset(ASIDE_ANSWERS)) == "ask_business_hall"
    # What the NLU was sure of, as an aside, stays what is answered.
    sure = _tracker("请假是不是要提前跟老师说?", "ask_policy", "student_no", 0.99)
    assert aside_intent(sure, frozenset(ASIDE_ANSWERS)) == "ask_policy"


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
    # The emergency number comes from the directory; without one the steps still go out.
    said = [message["response"] for message in dispatcher.messages]
    assert len(said) == 1 and said[0].startswith(response)


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


@pytest.mark.parametrize(
    ("reply", "response"),
    [
        ("学号忘了", "utter_student_no_where"),
        ("不知道学号", "utter_student_no_where"),
        ("李浩然", "utter_student_no_not_name"),
        ("孩子叫李浩然", "utter_student_no_not_name"),
        ("2024", "utter_student_no_invalid"),
        ("好的", "utter_student_no_invalid"),
    ],
)
def test_a_reply_that_is_not_a_student_number_is_told_what_is_needed(reply, response):
    dispatcher = CollectingDispatcher()
    tracker = _tracker(reply, "inform", requested_slot="student_no")
    slots = ValidateLeaveForm().validate_student_no(reply, dispatcher, tracker, {})
    assert slots == {"student_no": None}
    assert [message["response"] for message in dispatcher.messages] == [response]


def test_a_full_width_student_number_is_read():
    tracker = _tracker("２０２４０１０１０２", "inform", requested_slot="student_no")
    slots = ValidateLeaveForm().validate_student_no(
        "２０２４０１０１０２", CollectingDispatcher(), tracker, {}
    )
    assert slots == {"student_no": "2024010102"}


def test_a_forgotten_account_number_is_explained_not_taken_as_stop():
    dispatcher = CollectingDispatcher()
    tracker = _tracker("户号不记得了", "deny", requested_slot="gas_account_no")
    slots = ValidateGasAccountForm().validate_gas_account_no(
        "户号不记得了", dispatcher, tracker, {}
    )
    assert slots == {"gas_account_no": None}
    assert [message["response"] for message in dispatcher.messages] == [
        "utter_gas_account_no_where"
    ]


def test_no_more_leave_in_the_middle_of_the_form_stops_it():
    dispatcher = CollectingDispatcher()
    tracker = _tracker("不请了", "cancel_leave", requested_slot="student_no")
    slots = ValidateLeaveForm().validate_student_no("不请了", dispatcher, tracker, {})
    assert slots == {"student_no": None, "leave_blocked": True}
    assert [message["response"] for message in dispatcher.messages] == ["utter_leave_abandoned"]


def test_a_service_added_while_the_name_is_asked_joins_the_others_and_no_name_is_taken():
    text = "对了 再加个送饭 她自己做饭也费劲"
    tracker = _tracker(
        text,
        "elderly_care",
        requested_slot="visit_patient_name",
        slots={"care_items": "助浴", "visit_patient_name": text},
        events=[
            {"event": "user", "text": text},
            {"event": "slot", "name": "visit_patient_name", "value": text},
        ],
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateCareForm().run(dispatcher, tracker, {"forms": {}}))
    assert events == [SlotSet("care_items", "助餐、助浴"), SlotSet("visit_patient_name", None)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_care_items_added"]


@pytest.mark.parametrize(
    ("reply", "name"),
    [("王秀英", "王秀英"), ("她叫王秀英", "王秀英"), ("阿依古丽·买买提", "阿依古丽·买买提")],
)
def test_a_name_is_a_name(reply, name):
    tracker = _tracker(reply, "inform", requested_slot="visit_patient_name")
    slots = ValidateCareForm().validate_visit_patient_name(
        reply, CollectingDispatcher(), tracker, {}
    )
    assert slots == {"visit_patient_name": name}


def test_a_sentence_is_no_name():
    reply = "她自己做饭也费劲想找人帮忙"
    dispatcher = CollectingDispatcher()
    tracker = _tracker(reply, "inform", requested_slot="visit_patient_name")
    slots = ValidateCareForm().validate_visit_patient_name(reply, dispatcher, tracker, {})
    assert slots == {"visit_patient_name": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_visit_name_invalid"]


def test_a_complaint_that_turns_out_to_be_praise_logs_praise_and_files_nothing(monkeypatch):
    from actions import complaints

    logged: list[str] = []

    def praise_from_chat(*, sender_id, channel, text, now, catalog):
        logged.append(text)
        return 7, "property"

    monkeypatch.setattr(complaints.service, "praise_from_chat", praise_from_chat)
    text = "不对不对 说岔了 不是投诉 是表扬 他昨天帮俺把丢的钱包送回来了"
    tracker = _tracker(
        text,
        "give_praise",
        requested_slot="complaint_category",
        slots={"complaint_department": "property"},
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateComplaintForm().run(dispatcher, tracker, {"forms": {}}))
    assert logged == [f"物业服务:{text}"]
    assert [m["response"] for m in dispatcher.messages] == ["utter_praise_thanks"]
    assert SlotSet("complaint_blocked", True) in events


@pytest.mark.parametrize(
    ("text", "unbinds"),
    [
        ("这个我不清楚", False),
        ("解绑", True),
        ("/unbind_gas_account", True),
        ("房子卖了 户号解绑一下", True),
    ],
)
def test_an_account_is_unbound_only_when_asked_in_words_or_by_button(monkeypatch, text, unbinds):
    from actions import gas

    calls: list[str | None] = []

    def unbind(*, sender_id, account_no):
        calls.append(account_no)
        return SimpleNamespace(unbound=None, choices=())

    monkeypatch.setattr(gas.service, "unbind", unbind)
    dispatcher = CollectingDispatcher()
    gas.ActionGasUnbind().run(dispatcher, _tracker(text, "unbind_gas_account", None), {})
    assert bool(calls) is unbinds
    if not unbinds:
        assert [m["response"] for m in dispatcher.messages] == ["utter_default"]


# --- a gas emergency, and requests that end the form --------------------------------------


def test_a_gas_emergency_in_other_words_is_warned_of_and_the_question_asked_again():
    # Read as a gas leak, but not surely enough to be answered as a question aside.
    text = "等下 先问个别的 燃气抢修电话多少 邻居家好像有股味"
    tracker = _tracker(text, "gas_leak", requested_slot="student_no", confidence=0.6)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateLeaveForm().run(dispatcher, tracker, {"forms": {}}))
    said = [message["response"] for message in dispatcher.messages]
    assert len(said) == 1 and said[0].startswith("utter_gas_leak")
    assert events == [SlotSet("student_no", None)]
    # Said to stop as well: warned all the same.
    stop = _tracker("算了不请了 家里好像漏气了", "cancel_leave", requested_slot="student_no")
    dispatcher = CollectingDispatcher()
    asyncio.run(ValidateLeaveForm().run(dispatcher, stop, {"forms": {}}))
    assert dispatcher.messages[0]["response"].startswith("utter_gas_leak")


def test_a_gas_emergency_told_as_a_complaint_is_warned_of_and_kept_as_its_answer():
    text = "上回来修完 楼道里还是有股味"
    tracker = _tracker(text, "file_complaint", requested_slot="complaint_description")
    dispatcher = CollectingDispatcher()
    asyncio.run(ValidateComplaintForm().run(dispatcher, tracker, {"forms": {}}))
    assert dispatcher.messages[0]["response"].startswith("utter_gas_leak")
    assert not ValidateComplaintForm.emergency_is_aside


@pytest.mark.parametrize(
    ("text", "intent", "requested_slot", "hands_over"),
    [
        ("单号是TS20261125-16136", "check_complaint_status", "complaint_department", True),
        ("咋样了", "check_complaint_status", "complaint_department", True),
        # Read so, but not asking that: it answers the form.
        ("服务态度", "check_complaint_status", "complaint_category", False),
        # Cancelling a booking ends only a visit form (tests/unit/test_reschedule_form.py).
        ("护士说好来又取消了", "cancel_booking", "complaint_description", False),
    ],
)
def test_a_request_another_service_answers_at_once_ends_the_form(
    monkeypatch, text, intent, requested_slot, hands_over
):
    monkeypatch.setitem(ASIDE_ANSWERS, intent, "utter_handed_over")
    tracker = _tracker(text, intent, requested_slot=requested_slot, confidence=0.58)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateComplaintForm().run(dispatcher, tracker, {"forms": {}}))
    said = [message["response"] for message in dispatcher.messages]
    assert ("utter_handed_over" in said) is hands_over
    if hands_over:
        assert said == ["utter_handed_over"]
        assert SlotSet("complaint_blocked", True) in events
        assert SlotSet("requested_slot", None) in events


@pytest.mark.parametrize(
    ("text", "praise"),
    [
        ("不对不对 说岔了 不是投诉 是表扬 他昨天帮俺把丢的钱包送回来了", True),
        ("修得是真仔细 一分钱没收 算了 投诉不提了 我要表扬这个马师傅", True),
        ("不投诉了 想给小王点个赞", True),
        ("算了 不投诉了", False),
        ("算了 谢谢", False),
        ("态度是挺好 但我还是要投诉他迟到", False),
    ],
)
def test_a_complaint_turns_to_praise_only_when_praise_is_asked_for(text, praise):
    from actions.complaints import turns_to_praise

    assert turns_to_praise(text) is praise
