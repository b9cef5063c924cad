"""Complaints and praise in chat, against a running Rasa server and action server.

The action server's clock is frozen at 2026-11-25 15:45 in Shanghai, so tickets are
TS20261125-NNNNN.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from bot.complaints import workflow
from bot.complaints.catalog import get_catalog
from bot.complaints.filing import ComplaintDraft, file_complaint
from bot.infra.db import create_engine, session_scope
from bot.models import (
    Complaint,
    ComplaintFinding,
    Praise,
    StaffMember,
    StaffRole,
    SurveyAnswer,
)
from bot.notify import Delivery, DeliveryStatus
from tests.e2e.conftest import FROZEN_NOW, new_sender, texts

pytestmark = pytest.mark.e2e
NOW = datetime.fromisoformat(FROZEN_NOW)


def complaints_of(assistant, sender: str) -> list[Complaint]:
    engine = create_engine(assistant.database_url)
    try:
        with session_scope(engine) as session:
            return list(session.scalars(select(Complaint).where(Complaint.sender_id == sender)))
    finally:
        engine.dispose()


def in_database(assistant, work):
    engine = create_engine(assistant.database_url)
    try:
        with session_scope(engine) as session:
            return work(session)
    finally:
        engine.dispose()


def file_directly(assistant, sender: str) -> str:
    def work(session) -> str:
        complaint = file_complaint(
            session=session,
            draft=ComplaintDraft("health", "quality", "上门输液的护士迟到了两个小时"),
            sender_id=sender,
            channel="rest",
            now=NOW,
            catalog=get_catalog(),
        )
        return str(complaint.ticket_no)

    return str(in_database(assistant, work))


def test_a_complaint_is_read_asked_confirmed_and_only_then_logged(assistant):
    sender = new_sender()
    first = texts(assistant.say("我要投诉,抄表员态度很差,还对我大声嚷嚷", sender))
    # Department, category and what happened come from the first message.
    assert "什么时间" in first and "地点" in first
    assert "不知道" in texts(assistant.say("昨天下午 在幸福小区3幢", sender))
    assert "手机号" in texts(assistant.say("不知道", sender))
    summary = texts(assistant.say("13900001111", sender))
    for part in ("燃气服务", "服务态度", "抄表员态度很差", "幸福小区", "13900001111", "确认"):
        assert part in summary
    assert complaints_of(assistant, sender) == []
    filed = texts(assistant.say("确认", sender))
    [complaint] = complaints_of(assistant, sender)
    assert complaint.ticket_no.startswith("TS20261125-")
    assert complaint.ticket_no in filed and "24 小时" in filed
    assert (complaint.department, complaint.category) == ("gas", "attitude")
    assert complaint.contact == "13900001111" and complaint.occurred.startswith("昨天下午")


def test_a_question_asked_aside_is_answered_and_the_complaint_goes_on(assistant):
    sender = new_sender()
    assistant.say("我要投诉,抄表员态度很差", sender)
    aside = texts(assistant.say("你们营业厅几点关门", sender))
    assert "营业厅" in aside and "17:30" in aside  # the demo halls' hours
    assert "什么时间" in aside  # and the form asks its question again
    assert "不知道" in texts(assistant.say("昨天下午 在幸福小区3幢", sender))
    assistant.say("不知道", sender)
    summary = texts(assistant.say("13900001111", sender))
    assert "幸福小区" in summary and "营业厅几点关门" not in summary
    assistant.say("确认", sender)
    [complaint] = complaints_of(assistant, sender)
    assert complaint.occurred.startswith("昨天下午")


def test_a_complaint_not_confirmed_is_not_logged(assistant):
    sender = new_sender()
    assistant.say("营业厅的收费员多收了我50块钱 不给票据", sender)
    assistant.say("今天上午 人民路营业厅", sender)
    assistant.say("不清楚", sender)
    assert "确认" in texts(assistant.say("就在这里联系我", sender))
    answer = texts(assistant.say("/deny", sender))
    assert "没有提交" in answer
    assert complaints_of(assistant, sender) == []


def test_an_empty_complaint_is_asked_for_what_happened(assistant):
    sender = new_sender()
    asked = assistant.say("我要投诉", sender)
    assert "哪项服务" in texts(asked)
    buttons = {b["title"] for reply in asked for b in reply.get("buttons", [])}
    assert {"燃气服务", "课后看护", "社区卫生服务中心", "物业服务"} <= buttons
    assert "哪一类" in texts(assistant.say("物业服务", sender))
    assert "发生了什么" in texts(assistant.say("服务质量", sender))
    assert "内容太少" in texts(assistant.say("差", sender))
    assert "什么时间" in texts(assistant.say("小区电梯坏了一个月没人修", sender))
    assert complaints_of(assistant, sender) == []


def test_status_is_told_only_to_the_complainant(assistant):
    owner, stranger = new_sender(), new_sender()
    ticket = file_directly(assistant, owner)
    own = texts(assistant.say(f"我的投诉处理得怎么样了 {ticket}", owner))
    assert ticket in own and "等待分派" in own
    refused = texts(assistant.say(f"我的投诉处理得怎么样了 {ticket}", stranger))
    assert "没有找到" in refused
    assert "护士" not in refused and "等待分派" not in refused
    unknown = texts(assistant.say("我的投诉处理得怎么样了 TS20991231-99999", owner))
    assert "没有找到" in unknown
    listing = texts(assistant.say("我的投诉处理得怎么样了", owner))
    assert ticket in listing


def test_a_supervisor_lists_open_complaints_and_opens_one(assistant):
    supervisor, customer = new_sender(), new_sender()
    ticket = file_directly(assistant, new_sender())
    in_database(
        assistant,
        lambda session: session.add(
            StaffMember(sender_id=supervisor, name="王主管", role=StaffRole.SUPERVISOR)
        ),
    )
    assert "只对绑定的主管开放" in texts(assistant.say("有哪些待处理的投诉", customer))
    listing = texts(assistant.say("有哪些待处理的投诉", supervisor))
    assert "未办结投诉" in listing and ticket in listing
    detail = texts(assistant.say(f"查询投诉 {ticket}", supervisor))
    assert "社区卫生服务中心" in detail and "护士迟到" in detail


def test_praise_is_logged_and_thanked_humbly(assistant):
    sender = new_sender()
    answer = texts(assistant.say("今天上门输液的王护士特别耐心,表扬一下", sender))
    assert "继续努力" in answer
    [praise] = in_database(
        assistant,
        lambda session: [
            (p.department, p.staff_named)
            for p in session.scalars(select(Praise).where(Praise.sender_id == sender))
        ],
    )
    assert praise == ("health", "王护士")


def test_the_survey_answer_after_a_close_is_stored(assistant):
    sender = new_sender()
    ticket = file_directly(assistant, sender)

    def close(session) -> None:
        complaint = session.scalars(select(Complaint).where(Complaint.ticket_no == ticket)).one()
        for step in (
            lambda: workflow.assign(
                session=session,
                complaint=complaint,
                assignee="王主管",
                actor="admin:wang",
                expected_version=complaint.version,
                now=NOW,
            ),
            lambda: workflow.record_finding(
                session=session,
                complaint=complaint,
                finding=ComplaintFinding.SUBSTANTIATED,
                responsible_staff="护士 李",
                actor="admin:wang",
                expected_version=complaint.version,
                now=NOW,
            ),
            lambda: workflow.resolve(
                session=session,
                complaint=complaint,
                resolution="已调整排班,护士当面致歉",
                actor="admin:wang",
                expected_version=complaint.version,
                now=NOW,
            ),
            lambda: workflow.close(
                session=session,
                complaint=complaint,
                actor="admin:wang",
                expected_version=complaint.version,
                now=NOW,
                catalog=get_catalog(),
                deliver=lambda sender_id, text: Delivery(DeliveryStatus.NO_CHANNEL),
            ),
        ):
            step()

    in_database(assistant, close)
    status = texts(assistant.say(f"投诉进度 {ticket}", sender))
    assert "已办结" in status and "当面致歉" in status
    answer = texts(assistant.say("给5分", sender))
    assert ticket in answer and "5 分" in answer
    scores = in_database(
        assistant,
        lambda session: list(
            session.scalars(select(SurveyAnswer.score).where(SurveyAnswer.sender_id == sender))
        ),
    )
    assert scores == [5]
    assert "没有需要您评价" in texts(assistant.say("5分", sender))
