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
