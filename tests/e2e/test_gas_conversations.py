"""Gas customers in chat, against a running Rasa server and action server.

Each test uses its own demo accounts (data/demo/gas.yml), since the servers and their
database live for the whole session: 31001004 赵丽华 (…2004, two bills unpaid),
31001002 李秀英 (…2002), 31001006/31001008/31001009/31001010/31001011 paid up,
32002001 兴旺面馆 (commercial).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.infra.db import create_engine, session_scope
from bot.models import (
    BindingAttempt,
    GasAccount,
    GasAccountBinding,
    MeterFaultReport,
)
from tests.e2e.conftest import new_sender, texts

pytestmark = pytest.mark.e2e


def query(assistant, statement):
    engine = create_engine(assistant.database_url)
    try:
        with session_scope(engine) as session:
            return session.execute(statement).all()
    finally:
        engine.dispose()


def bindings(assistant, sender: str) -> list[str]:
    rows = query(
        assistant,
        select(GasAccount.account_no)
        .join(GasAccountBinding, GasAccountBinding.account_id == GasAccount.id)
        .where(GasAccountBinding.sender_id == sender),
    )
    return sorted(row[0] for row in rows)


def bind(assistant, sender: str, account_no: str, digits: str) -> str:
    assistant.say("绑定燃气户号", sender)
    assistant.say(account_no, sender)
    return texts(assistant.say(digits, sender))


def test_bind_then_bill_reveals_nothing_before_the_second_factor(assistant):
    sender = new_sender()
    asked = texts(assistant.say("我想查燃气费", sender))
    assert "户号" in asked
    digits = texts(assistant.say("31001004", sender))
    assert "后 4 位" in digits
    for private in ("赵丽华", "建设路", "欠费", "元"):
        assert private not in digits
    bill = texts(assistant.say("2004", sender))
    assert "验证成功" in bill
    assert "户号 31001004" in bill and "当前欠费" in bill
    assert "2026-10" in bill and "方" in bill and "第一档" in bill
    assert "最近一次抄表" in bill
    assert bindings(assistant, sender) == ["31001004"]
    # Bound now: the next question is answered straight away.
    usage = texts(assistant.say("最近半年用气", sender))
    assert "最近 6 个月" in usage and usage.count("· 2026-") == 6


def test_wrong_digits_and_an_unknown_account_get_the_same_answer(assistant):
    sender = new_sender()
    assistant.say("查一下燃气费", sender)
    assistant.say("31001002", sender)
    wrong = texts(assistant.say("0000", sender))
    assistant.say("99999999", sender)
    unknown = texts(assistant.say("2002", sender))
    assert wrong == unknown
    assert "未能匹配" in wrong and "李秀英" not in wrong
    assert bindings(assistant, sender) == []


def test_a_malformed_account_number_is_explained(assistant):
    sender = new_sender()
    assistant.say("查气费", sender)
    answer = texts(assistant.say("我的户号是123", sender))
    assert "8 位数字" in answer
    assert "不查了" in answer
    assert "已为您取消" in texts(assistant.say("不查了", sender))


def test_five_wrong_tries_lock_binding(assistant):
    sender = new_sender()
    assistant.say("查燃气费", sender)
    for _ in range(5):
        assistant.say("31001006", sender)
        assistant.say("0000", sender)
    assistant.say("查燃气费", sender)
    assistant.say("31001006", sender)
    locked = texts(assistant.say("2006", sender))
    assert "30 分钟后再试" in locked
    assert bindings(assistant, sender) == []
    reasons = [
        row[0]
        for row in query(
            assistant,
            select(BindingAttempt.reason).where(BindingAttempt.sender_id == sender),
        )
    ]
    assert reasons.count("no_match") == 5 and "locked" in reasons


def test_someone_elses_account_is_never_shown(assistant):
    owner, other = new_sender(), new_sender()
    assert "验证成功" in bind(assistant, owner, "31001008", "2008")
    # Another sender, bound to an account of their own, names the owner's account.
    assert "验证成功" in bind(assistant, other, "31001009", "2009")
    answer = texts(assistant.say("帮我查一下户号31001008的燃气费", other))
    assert "后 4 位" in answer and "31001008(" not in answer
    refused = texts(assistant.say("0000", other))
    assert "未能匹配" in refused and "当前欠费" not in refused and "账户余额" not in refused
    # Knowing the digits is not enough while the owner holds it.
    assistant.say("查燃气费 户号31001008", other)
    elsewhere = texts(assistant.say("2008", other))
    assert "另一个聊天账号" in elsewhere
    assert bindings(assistant, other) == ["31001009"]


def test_several_accounts_are_chosen_by_button_and_one_can_be_unbound(assistant):
    sender = new_sender()
    bind(assistant, sender, "31001010", "2010")
    bind(assistant, sender, "32002001", "2017")
    assert bindings(assistant, sender) == ["31001010", "32002001"]
    replies = assistant.say("查燃气费", sender)
    buttons = [b["payload"] for r in replies for b in r.get("buttons", [])]
    assert buttons == ["31001010", "32002001"]
    bill = texts(assistant.say("32002001", sender))
    assert "户号 32002001" in bill and "兴旺面馆" not in bill
    schedule = texts(assistant.say("我们店每个月哪天抄表", sender))
    assert "22 日至 23 日" in schedule and "2026-12-22" in schedule
    unbound = texts(assistant.say("解绑 32002001", sender))
    assert "已解除户号 32002001" in unbound
    assert bindings(assistant, sender) == ["31001010"]


def test_a_faulty_meter_is_reported_with_a_ticket_and_its_status_shown(assistant):
    sender = new_sender()
    bind(assistant, sender, "31001011", "2011")
    answer = texts(assistant.say("燃气表走得特别快 家里最近都没怎么做饭", sender))
    assert "工单号 BX20261125-" in answer and "走快" in answer
    rows = query(
        assistant,
        select(MeterFaultReport.ticket_no, MeterFaultReport.kind).where(
            MeterFaultReport.sender_id == sender
        ),
    )
    [(ticket, kind)] = rows
    assert kind.value == "fast" and ticket in answer
    status = texts(assistant.say("我的报修怎么样了", sender))
    assert ticket in status and "已受理" in status


def test_arrears_reminders_can_be_turned_on_and_off(assistant):
    sender = new_sender()
    bind(assistant, sender, "31001012", "2012")

    def enabled() -> bool:
        [(flag,)] = query(
            assistant,
            select(GasAccountBinding.reminders_enabled).where(
                GasAccountBinding.sender_id == sender
            ),
        )
        return bool(flag)

    assert not enabled()
    assert "已为户号 31001012 开启欠费提醒" in texts(assistant.say("开启欠费提醒", sender))
    assert enabled()
    assert "关闭欠费提醒" in texts(assistant.say("不要再给我发欠费提醒了", sender))
    assert not enabled()


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("燃气费怎么交", "生活缴费"),
        ("你能帮我交一下燃气费吗", "不代收任何费用"),
        ("燃气营业厅在哪", "演示市人民路 88 号"),
        ("家里有燃气味", "打开门窗通风"),
        ("你们几号来抄表", "22 日至 23 日"),
    ],
)
def test_gas_information_without_an_account(assistant, message, expected):
    assert expected in texts(assistant.say(message))


def test_a_gas_leak_in_the_middle_of_verification_comes_first(assistant):
    sender = new_sender()
    assistant.say("查燃气费", sender)
    answer = texts(assistant.say("等等 厨房里好像有燃气味", sender))
    assert "打开门窗通风" in answer and "没有识别到户号" not in answer
