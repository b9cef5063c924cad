"""The desk's conversation index on a generated tracker store (SQLite and PostgreSQL): found
by channel, day, flow and outcome with the same classification as the figures, kept up to
date incrementally, and read back masked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from bot.analytics.conversations import (
    ConversationFilter,
    find_conversations,
    indexed_channels,
    read_conversation,
    refresh_index,
)
from bot.analytics.service import EVENTS, operators_report
from bot.infra.db import session_scope
from bot.models import ConversationSession
from tests.unit.test_analytics import NOW, TODAY, YESTERDAY, Conversation, traffic

PHONE = "13912345678"


def _write(engine: Engine, conversations: list[Conversation]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), [r for c in conversations for r in c.rows])


@pytest.fixture()
def tracker(engine: Engine) -> Engine:
    """Rasa's `events` table in the test's database, with the analytics tests' traffic."""
    EVENTS.metadata.create_all(engine)
    _write(engine, traffic())
    refresh_index(tracker=engine, engine=engine)
    return engine


def _find(engine: Engine, **filters) -> list[tuple[str, str]]:
    page = find_conversations(filters=ConversationFilter(**filters), engine=engine)
    return [(entry.channel, entry.outcome) for entry in page.entries]


def test_conversations_are_found_by_channel_day_flow_and_outcome_newest_first(
    tracker: Engine,
) -> None:
    assert _find(tracker) == [
        ("web", "not_understood"),  # today 10:00
        ("web", "abandoned"),  # today 09:00
        ("telegram", "completed"),  # yesterday 23:59
        ("web", "answered"),  # yesterday 10:00: policy questions
        ("web", "answered"),  # nine days ago
    ]
    assert _find(tracker, channel="telegram") == [("telegram", "completed")]
    assert _find(tracker, first_day=TODAY.date(), last_day=TODAY.date()) == [
        ("web", "not_understood"),
        ("web", "abandoned"),
    ]
    assert len(_find(tracker, first_day=YESTERDAY.date(), last_day=YESTERDAY.date())) == 2
    assert _find(tracker, flow="leave_form") == [("telegram", "completed")]
    assert _find(tracker, flow="policy") == [("web", "answered")]
    assert _find(tracker, outcome="abandoned") == [("web", "abandoned")]
    assert _find(tracker, outcome="not_understood") == [("web", "not_understood")]
    assert _find(tracker, outcome="handed_over") == []
    assert indexed_channels(engine=tracker) == ["telegram", "web"]


def test_pages_hold_the_newest_first(tracker: Engine) -> None:
    first = find_conversations(filters=ConversationFilter(), per_page=2, engine=tracker)
    last = find_conversations(filters=ConversationFilter(), page=3, per_page=2, engine=tracker)
    assert (first.total, first.pages, len(first.entries)) == (5, 3, 2)
    assert len(last.entries) == 1 and last.entries[0].started_at < first.entries[-1].started_at
    beyond = find_conversations(filters=ConversationFilter(), page=99, per_page=2, engine=tracker)
    assert beyond.page == 3


def test_the_index_counts_what_the_figures_count(tracker: Engine) -> None:
    figures = operators_report(days=7, now=NOW, engine=tracker, tracker_engine=tracker).as_json()
    week = find_conversations(
        filters=ConversationFilter(first_day=(TODAY - timedelta(days=6)).date()), engine=tracker
    )
    assert week.total == figures["conversations"]
    for flow, counted in figures["flows"].items():
        completed = find_conversations(
            filters=ConversationFilter(flow=flow, outcome="completed"), engine=tracker
        )
        abandoned = find_conversations(
            filters=ConversationFilter(flow=flow, outcome="abandoned"), engine=tracker
        )
        assert (completed.total, abandoned.total) == (counted["completed"], counted["abandoned"])
    not_understood = find_conversations(
        filters=ConversationFilter(outcome="not_understood"), engine=tracker
    )
    assert sum(e.not_understood for e in not_understood.entries) == figures["not_understood"]


def test_a_refresh_reads_only_what_was_written_since_and_a_conversation_may_go_on(
    tracker: Engine,
) -> None:
    assert refresh_index(tracker=tracker, engine=tracker) == 0
    # The not-understood conversation goes on and ends with a person; someone new writes.
    later = Conversation("web:d", "web", TODAY + timedelta(hours=11))
    later.rows = []  # the same session: no new session start
    later.user("ask_contact", "转人工").action("action_hand_to_person").bot(0.5).pause()
    _write(tracker, [later, Conversation("tg:f", "telegram", TODAY + timedelta(hours=12))])
    _write(tracker, [Conversation("tg:f", "telegram", TODAY).user("greet", "你好")])
    assert refresh_index(tracker=tracker, engine=tracker) == 2
    with session_scope(tracker) as session:
        assert session.scalar(select(func.count()).select_from(ConversationSession)) == 6
    assert _find(tracker, outcome="handed_over") == [("web", "handed_over")]
    report = operators_report(days=1, now=NOW, engine=tracker, tracker_engine=tracker)
    assert report.as_json()["handoffs"] == 1  # the figures count the same handoff
    assert _find(tracker, outcome="not_understood")[0] == ("web", "handed_over")


def test_a_transcript_shows_no_personal_data(tracker: Engine) -> None:
    booked = (
        "已为张秀英预约上门输液：12月8日上午，由东湖社区护理组的李护士护士上门。"
        "预约编号 SY20261208-48213，请记好；查询或取消请发送“查询预约 SY20261208-48213”"
        "或“取消预约 SY20261208-48213”。"
    )
    talk = (
        Conversation("wx:openid-1", "wechat", TODAY + timedelta(hours=13))
        .user("book_home_visit", f"我妈张秀英卧床,高血压,想约护士上门,电话{PHONE}")
        .slot("visit_patient_name", "张秀英")
        .slot("visit_phone", PHONE)
        .slot("visit_address", "幸福小区3栋201")
        .action("infusion_form")
        .loop("infusion_form")
        .bot(1.0, "utter_ask_visit_address", "请问上门地址是?")
        .user("inform", "幸福小区3栋201")
        .bot(1.0, "utter_visit_booked", booked)
        .user("nlu_fallback", "孩子叫王小明,学号2024010102,发烧了")
        .bot(0.5)
    )
    _write(tracker, [talk])
    refresh_index(tracker=tracker, engine=tracker)
    [entry] = find_conversations(
        filters=ConversationFilter(channel="wechat"), engine=tracker
    ).entries
    transcript = read_conversation(conversation_id=entry.id, tracker=tracker, engine=tracker)
    assert transcript is not None and transcript.available
    shown = "\n".join(message.text for message in transcript.messages)
    for private in ("张秀英", PHONE, "幸福小区", "王小明", "2024010102", "高血压", "卧床", "发烧"):
        assert private not in shown, private
    assert "预约编号 SY20261208-48213" in shown  # what is not personal stays readable
    assert "李护士" in shown
    speakers = [m.speaker for m in transcript.messages]
    assert speakers == ["user", "bot", "user", "bot", "user", "bot"]
    assert transcript.messages[-2].not_understood
    assert read_conversation(conversation_id=9999, tracker=tracker, engine=tracker) is None


def test_a_sender_id_is_shown_by_its_channel_and_last_characters_only() -> None:
    from bot.infra.privacy import mask_sender_id

    assert mask_sender_id("tg:5512345678") == "tg:***5678"
    assert mask_sender_id("wx:oAbCdEfGhIjKlMnOpQrStUvWxYz") == "wx:***WxYz"
    assert mask_sender_id("web:short") == "web:***"
    assert mask_sender_id("someone") == "***"
