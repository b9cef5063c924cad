"""The conversation suite's own logic, on canned bot replies: what the person answers,
which button they press, and when the bot is caught asking again or going round in circles."""

from __future__ import annotations

from typing import Any

from tests.conversations.person import (
    BotTurn,
    Conversation,
    Person,
    Watch,
    asked_facts,
    is_confirmation,
)
from tests.conversations.runner import HERE, load_conversations, summarize, verdict


def conversation(**overrides: Any) -> Conversation:
    raw: dict[str, Any] = {
        "id": "c",
        "flow": "leave",
        "persona": "家长",
        "goal": "请假",
        "facts": {
            "student_no": "2024010102",
            "phone": "19900001003",
            "date": "明天",
            "reason": "看牙",
        },
        "turns": ["我要请假"],
        "expect": [{"leave": {"student_no": "2024010102", "date": "2026-11-26"}}],
    }
    raw.update(overrides)
    return Conversation.parse(raw)


def bot(*texts: str, buttons: list[tuple[str, str]] | None = None) -> BotTurn:
    replies: list[dict[str, Any]] = [{"text": text} for text in texts]
    if buttons:
        replies.append({"buttons": [{"title": t, "payload": p} for t, p in buttons]})
    return BotTurn.from_replies(replies)


def test_a_question_is_answered_with_the_fact_it_asks_for() -> None:
    person = Person.of(conversation())
    person.opening()
    reply = person.next_message(bot("好的,请告诉我孩子的学号。"))
    assert reply is not None and reply.text == "2024010102"
    assert person.next_message(bot("请问是哪一天不参加看护?")).text == "明天"  # type: ignore[union-attr]


def test_a_question_asking_two_facts_gets_both_in_the_order_asked() -> None:
    assert asked_facts("请发送燃气户号和登记手机的后四位?") == ["account_no", "phone_last4"]
    person = Person.of(
        conversation(facts={"account_no": "31001001", "phone_last4": "2001"}, turns=["查燃气费"])
    )
    person.opening()
    reply = person.next_message(bot("请发送燃气户号和登记手机的后四位?"))
    assert reply is not None and reply.text == "31001001 2001"


def test_a_fact_the_bot_repeats_back_is_not_taken_as_asked() -> None:
    assert asked_facts("好的,户号3100****,请问手机后四位是多少?") == ["phone_last4"]


def test_an_unknown_fact_is_answered_with_not_knowing_not_with_another_fact() -> None:
    person = Person.of(conversation())
    person.opening()
    reply = person.next_message(bot("请问您的燃气户号是多少?"))
    assert reply is not None and reply.text == "这个我不清楚"


def test_the_button_that_fits_the_person_is_pressed_with_its_payload() -> None:
    person = Person.of(conversation(choose=["请假"]))
    person.opening()
    turn = bot(
        "您好,想办理什么?",
        buttons=[("查燃气费", "/check_gas_bill"), ("课后看护请假", "/request_leave")],
    )
    reply = person.next_message(turn)
    assert reply is not None and reply.text == "/request_leave"


def test_a_button_naming_one_of_the_persons_facts_is_pressed() -> None:
    person = Person.of(conversation(facts={"child": "黄宇轩", "date": "后天"}))
    person.opening()
    turn = bot("请问给哪个孩子请假?", buttons=[("黄宇航", "/a"), ("黄宇轩", "/b")])
    assert person.next_message(turn).text == "/b"  # type: ignore[union-attr]


def test_a_confirmation_is_accepted_unless_the_person_means_to_cancel() -> None:
    turn = bot(
        "请确认:明天(11月26日)请假,原因:看牙。对吗?",
        buttons=[("确认", "/affirm"), ("取消", "/deny")],
    )
    assert is_confirmation(turn)
    person = Person.of(conversation())
    person.opening()
    assert person.next_message(turn).text == "/affirm"  # type: ignore[union-attr]
    cancelling = Person.of(conversation(facts={"confirm": "不要了 取消"}))
    cancelling.opening()
    assert cancelling.next_message(turn).text == "/deny"  # type: ignore[union-attr]


def test_a_confirmation_summary_naming_facts_is_not_read_as_asking_them() -> None:
    person = Person.of(conversation())
    person.opening()
    reply = person.next_message(bot("学生李浩然,日期明天,原因看牙,确认提交吗?"))
    assert reply is not None and reply.why == "confirms"


def test_a_planned_message_waits_for_the_words_it_follows() -> None:
    person = Person.of(
        conversation(
            turns=["孩子明天请假", {"say": "不对,是后天", "after": "确认|对吗", "gives": ["date"]}]
        )
    )
    person.opening()
    assert person.next_message(bot("请问孩子的学号?")).text == "2024010102"  # type: ignore[union-attr]
    reply = person.next_message(bot("明天请假,对吗?"))
    assert reply is not None and reply.text == "不对,是后天"
    assert "date" in person.given


def test_answers_given_as_a_list_are_used_in_turn() -> None:
    person = Person.of(conversation(answers={"学号": ["2024010222", "2024010102"]}))
    person.opening()
    assert person.next_message(bot("请问孩子的学号?")).text == "2024010222"  # type: ignore[union-attr]
    assert person.next_message(bot("学号和手机不匹配,请再输入学号?")).text == "2024010102"  # type: ignore[union-attr]


def test_facts_in_a_message_count_as_given_full_width_digits_too() -> None:
    person = Person.of(conversation(turns=["学号２０２４０１０１０２ 明天请假"]))
    person.opening()
    assert {"student_no", "date"} <= person.given


def test_a_question_for_a_fact_already_given_is_a_reask() -> None:
    watch = Watch()
    watch.see(bot("请问孩子的学号是多少?"), {"student_no"}, 2)
    watch.see(bot("请问哪天请假?"), {"student_no"}, 3)
    assert [r["fact"] for r in watch.reasks] == ["student_no"]


def test_a_confirmation_repeating_given_facts_is_not_a_reask() -> None:
    watch = Watch()
    watch.see(bot("学号2024010102,明天请假,确认吗?"), {"student_no", "date"}, 2)
    assert watch.reasks == []


def test_the_same_prompt_three_times_in_a_row_is_a_loop_twice_is_not() -> None:
    watch = Watch()
    watch.see(bot("我没有看懂日期,请再说一次?"), set(), 1)
    watch.see(bot("我没有看懂日期,请再说一次?"), set(), 2)
    assert not watch.loop
    watch.see(bot("我没有看懂日期,请再说一次?"), set(), 3)
    assert watch.loop


def test_a_prompt_coming_back_after_another_is_not_a_loop() -> None:
    watch = Watch()
    for text in ["请问学号?", "请问哪天?", "请问学号?", "请问哪天?"]:
        watch.see(bot(text), set(), 1)
    assert not watch.loop


def test_the_verdict_fails_on_unsafe_outcomes_loops_and_low_completion() -> None:
    summary = {"unsafe_outcomes": 0, "loops": 0, "task_completion": 0.96}
    assert verdict(summary, 0.95) == []
    assert verdict({**summary, "task_completion": 0.5}, 0.95) == ["task completion 50.0% < 95%"]
    assert verdict({**summary, "unsafe_outcomes": 1, "loops": 2}, 0.0) == [
        "1 unsafe outcome(s)",
        "2 loop(s)",
    ]


def test_the_summary_counts_turns_per_completed_task() -> None:
    from tests.conversations.runner import Result

    def result(passed: bool, turns: int, loop: bool = False) -> Result:
        return Result("x", "leave", "g", passed, turns, [], loop, False, [], [])

    summary = summarize([result(True, 4), result(True, 6), result(False, 20, loop=True)])
    assert summary["task_completion"] == round(2 / 3, 4)
    assert summary["turns_per_task"] == 5.0
    assert summary["loops"] == 1


def test_the_suite_has_at_least_80_conversations_covering_every_flow() -> None:
    conversations = load_conversations()
    assert len(conversations) >= 80
    flows = {c.flow for c in conversations}
    for flow in [
        "gas_bill",
        "meter_fault",
        "leave",
        "leave_cancel",
        "leave_list",
        "student_binding",
        "infusion",
        "elderly_care",
        "booking_check",
        "booking_change",
        "complaint",
        "complaint_status",
        "praise",
        "policy",
        "staff_binding",
        "out_of_scope",
        "gas_emergency",
    ]:
        assert flow in flows, flow


def test_the_button_saying_the_persons_answer_best_wins_over_one_inside_it() -> None:
    person = Person.of(conversation(facts={"health": "没有过敏 也没有别的禁忌"}))
    person.opening()
    turn = bot("病人有没有过敏或禁忌?", buttons=[("有过敏", "/allergic"), ("没有过敏", "/none")])
    assert person.next_message(turn).text == "/none"  # type: ignore[union-attr]


def test_safety_advice_mentioning_confirmation_is_not_a_question() -> None:
    turn = bot("请注意安全!\n1. 关闭阀门;\n2. 打开门窗通风。\n在确认安全前请不要回到室内。")
    assert not is_confirmation(turn)
    person = Person.of(conversation(turns=["闻到煤气味"]))
    person.opening()
    assert person.next_message(turn) is None


def test_a_person_who_lacks_the_fact_takes_the_reply_the_bot_offers() -> None:
    person = Person.of(conversation(facts={"description": "态度差"}))
    person.opening()
    reply = person.next_message(
        bot("如果您知道涉及的工作人员姓名或工号,请告诉我;不知道可以回复“不知道”。")
    )
    assert reply is not None and reply.text == "不知道"


def test_the_bots_which_service_buttons_are_answered_by_the_persons_flow() -> None:
    person = Person.of(conversation(flow="elderly_care", facts={}, turns=["陪我外公聊聊天"]))
    person.opening()
    turn = bot(
        "请问您是想办理下面哪一项?",
        buttons=[
            ("申请居家养老上门服务", "/care"),
            ("燃气表故障报修", "/fault"),
            ("都不是", "/no"),
        ],
    )
    assert person.next_message(turn).text == "/care"  # type: ignore[union-attr]


def test_a_fact_named_in_passing_is_not_answered_with_the_one_asked() -> None:
    assert asked_facts("请问要输的是什么药?请把医嘱上的药名都写上。") == ["drug"]


def test_a_fact_given_wrong_on_purpose_may_be_asked_again() -> None:
    watch = Watch(allow_reask=("phone_last4",))
    watch.see(bot("请再告诉我手机号码后 4 位。"), {"phone_last4"}, 2)
    assert watch.reasks == []


def test_nobody_types_the_same_answer_a_third_time() -> None:
    person = Person.of(conversation())
    person.sent.append(person.opening().text)
    question = bot("请问孩子的学号?")
    for _ in range(2):
        reply = person.next_message(question)
        assert reply is not None and reply.text == "2024010102"
        person.sent.append(reply.text)
    assert person.next_message(question) is None


def test_nothing_more_is_said_once_then_the_person_leaves() -> None:
    person = Person.of(conversation())
    person.opening()
    assert person.next_message(bot("好的。请问还有什么可以帮您?")).text == "没有了"  # type: ignore[union-attr]
    assert person.next_message(bot("好的。请问还有什么可以帮您?")) is None


def test_the_conversations_still_failing_are_kept_valid_and_apart() -> None:
    still_failing = load_conversations(HERE / "open")
    assert still_failing
    assert not {c.id for c in still_failing} & {c.id for c in load_conversations()}
