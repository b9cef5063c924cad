"""Policy questions in chat: citations, no-answer, and staff-only rules for bound staff."""

from __future__ import annotations

import pytest

from bot.infra.db import create_engine, session_scope
from bot.models import StaffRole
from bot.staff import create_invite
from tests.e2e.conftest import new_sender, texts

pytestmark = pytest.mark.e2e


def make_invite(assistant, name="李娜", role=StaffRole.STAFF) -> str:
    engine = create_engine(assistant.database_url)
    with session_scope(engine) as session:
        _, code = create_invite(session=session, name=name, role=role)
    engine.dispose()
    return code


def test_staff_member_binds_then_reads_a_staff_only_rule(assistant):
    sender = new_sender()
    before = texts(assistant.say("服务器密码要多久改?", sender))
    assert "机房管理制度" not in before and "定期更改" not in before
    # Told that the answer is for verified staff, not that there is none.
    assert "内部管理制度" in before and "绑定员工" in before

    bound = texts(assistant.say(f"我是信息科的,员工绑定码 {make_invite(assistant)}", sender))
    assert "绑定成功" in bound
    assert "李娜" in bound

    answer = texts(assistant.say("服务器密码要多久改?", sender))
    assert "《机房管理制度》(服务管理制度14) 第3.4条" in answer
    assert "定期更改服务器密码" in answer
    listing = texts(assistant.say("有哪些制度", sender))
    assert "《机房管理制度》" in listing


def test_a_code_binds_only_once(assistant):
    code = make_invite(assistant)
    assert "绑定成功" in texts(assistant.say(f"绑定码 {code}", new_sender()))
    assert "已经使用过" in texts(assistant.say(f"绑定码 {code}", new_sender()))


def test_a_wrong_code_is_refused_politely(assistant):
    answer = texts(assistant.say("员工绑定 WXYZ-2345"))
    assert "对不起" in answer
    assert "无效" in answer


def test_a_question_the_regulations_do_not_answer_gets_no_invented_answer(assistant):
    answer = texts(assistant.say("按制度规定员工每年体检几次?"))
    assert "没有找到" in answer
    assert "根据《" not in answer
    assert "电话" in answer


def test_related_clauses_are_offered_when_relevant(assistant):
    answer = texts(assistant.say("营业员上班要提前几分钟到岗?"))
    assert "《营业大厅管理制度》(服务管理制度7) 第二条第4款" in answer
    assert "10分钟" in answer


def test_an_answer_starts_with_a_plain_sentence_then_quotes_the_clause(assistant):
    answer = texts(assistant.say("营业员上班能吃零食吗?"))
    assert answer.startswith("不可以。")
    assert "根据《营业大厅管理制度》(服务管理制度7) 第二条第10款" in answer
    assert "“营业员上班期间一律不准在营业厅内吃零食" in answer


def test_a_follow_up_question_uses_the_previous_answer(assistant):
    sender = new_sender()
    first = texts(assistant.say("抄表管理制度里 居民用户的燃气表多久抄一次?", sender))
    assert "《抄表管理制度》(服务管理制度7) 第4条" in first
    follow_up = texts(assistant.say("那商业用户呢", sender))
    assert follow_up.startswith("商业客户每月22日至23日抄表")
    assert "第5条" in follow_up
