"""The operators' figures on a generated tracker store whose answers are known, on SQLite
and PostgreSQL; closed days are stored and not read again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from bot.analytics.figures import percentile
from bot.analytics.service import EVENTS, operators_report
from bot.infra.db import session_scope
from bot.models import AnalyticsDay

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 6, 15, 0, tzinfo=ZONE)
TODAY = NOW.replace(hour=0, minute=0)
YESTERDAY = TODAY - timedelta(days=1)


class Conversation:
    """Writes one sender's events as Rasa's SQL tracker store writes them."""

    def __init__(self, sender: str, channel: str, start: datetime) -> None:
        self.sender, self.channel, self.at = sender, channel, start.timestamp()
        self.rows: list[dict[str, Any]] = []
        self.action("action_session_start")
        self._row("session_started", {})
        self.action("action_listen")

    def _row(self, kind: str, data: dict[str, Any], **columns: Any) -> Conversation:
        data = {"event": kind, "timestamp": self.at, **data}
        self.rows.append(
            {
                "sender_id": self.sender,
                "type_name": kind,
                "timestamp": self.at,
                "intent_name": columns.get("intent"),
                "action_name": columns.get("action"),
                "data": json.dumps(data, ensure_ascii=False),
            }
        )
        return self

    def wait(self, seconds: float) -> Conversation:
        self.at += seconds
        return self

    def user(self, intent: str, text: str) -> Conversation:
        parse = {"intent": {"name": intent, "confidence": 0.9}, "text": text}
        data = {"text": text, "parse_data": parse, "input_channel": self.channel}
        return self._row("user", data, intent=intent)

    def action(self, name: str) -> Conversation:
        return self._row("action", {"name": name}, action=name)

    def bot(self, seconds: float, utter: str | None = None, text: str = "…") -> Conversation:
        self.wait(seconds)
        return self._row("bot", {"text": text, "metadata": {"utter_action": utter}})

    def pause(self) -> Conversation:
        """A person takes the conversation over (Rasa's ConversationPaused)."""
        return self._row("pause", {})

    def slot(self, name: str, value: Any) -> Conversation:
        return self._row("slot", {"name": name, "value": value})

    def loop(self, name: str | None) -> Conversation:
        return self._row("active_loop", {"name": name})


def traffic() -> list[Conversation]:
    """Four conversations in the last seven days and one before them."""
    policy = (
        Conversation("web:a", "web", YESTERDAY + timedelta(hours=10))
        .user("greet", "你好")
        .action("utter_greet")
        .bot(0.5, "utter_greet")
        .user("ask_policy", "抄表多久一次")
        .action("action_answer_policy")
        .bot(1.5, "utter_policy_no_answer")
        .user("ask_policy", "燃气费怎么交")
        .action("action_answer_policy")
        .bot(1.0)
    )
    # A leave asked for before midnight and submitted after it.
    leave = (
        Conversation("tg:b", "telegram", YESTERDAY + timedelta(hours=23, minutes=59))
        .user("request_leave", "我要请假")
        .action("leave_form")
        .loop("leave_form")
        .bot(1.0)
        .wait(120)
        .user("inform", "明天")
        .action("leave_form")
        .loop(None)
        .action("action_submit_leave")
        .bot(2.0)
    )
    stopped = (
        Conversation("web:c", "web", TODAY + timedelta(hours=9))
        .user("complain", "我要投诉")
        .action("complaint_form")
        .loop("complaint_form")
        .bot(1.0)
        .user("stop", "不办了")
        .action("action_deactivate_loop")
        .loop(None)
        .bot(3.0, "utter_ok")
    )
    unplaced = (
        Conversation("web:d", "web", TODAY + timedelta(hours=10))
        .user("nlu_fallback", "嗯嗯那个")
        .action("action_default_ask_affirmation")
        .bot(0.5)
        .user("out_of_scope", "/out_of_scope")
        .action("utter_out_of_scope")
        .bot(0.5, "utter_out_of_scope")
    )
    old = Conversation("web:e", "web", TODAY - timedelta(days=9)).user("greet", "在吗")
    return [old, policy, leave, stopped, unplaced]


@pytest.fixture()
def tracker(engine: Engine) -> Iterator[Engine]:
    """Rasa's `events` table, filled with `traffic()`, in the test's database."""
    EVENTS.metadata.create_all(engine)
    rows = [row for conversation in traffic() for row in conversation.rows]
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), rows)
    yield engine


def test_the_figures_of_the_last_week_are_those_of_the_generated_conversations(
    tracker: Engine,
) -> None:
    figures = operators_report(days=7, now=NOW, engine=tracker, tracker_engine=tracker).as_json()
    assert figures["conversations"] == 4
    assert figures["user_messages"] == 9
    assert figures["not_understood"] == 2
    assert figures["not_understood_rate"] == round(2 / 9, 4)
    assert figures["handoffs"] == 0 and figures["containment_rate"] == 1.0
    assert figures["flows"]["leave_form"] == {
        "started": 1,
        "completed": 1,
        "abandoned": 0,
        "completion_rate": 1.0,
        "abandonment_rate": 0.0,
    }
    complaint = figures["flows"]["complaint_form"]
    assert (complaint["started"], complaint["completed"], complaint["abandoned"]) == (1, 0, 1)
    assert figures["policy_questions"] == {"asked": 2, "answered": 1, "not_answered": 1}
    assert tuple(figures["top_intents"][0]) == ("ask_policy", 2)
    assert figures["latency_ms"] == {"replies": 9, "p50": 1000, "p95": 3000}
    assert figures["per_channel"]["web"]["conversations"] == 3
    assert figures["per_channel"]["telegram"] == {
        "conversations": 1,
        "user_messages": 2,
        "not_understood": 0,
    }
    assert figures["per_day"][YESTERDAY.date().isoformat()]["conversations"] == 2
    assert figures["per_day"][TODAY.date().isoformat()]["user_messages"] == 5


def test_closed_days_are_stored_once_and_their_events_not_read_again(tracker: Engine) -> None:
    first = operators_report(days=7, now=NOW, engine=tracker, tracker_engine=tracker)
    assert first.days_read == 7
    with session_scope(tracker) as session:
        stored = session.scalars(select(AnalyticsDay.day).distinct()).all()
    assert len(stored) == 6  # the closed days; today is computed on every run
    # Yesterday's events gone from the tracker store: its stored figures still count.
    with tracker.begin() as connection:
        connection.execute(delete(EVENTS).where(EVENTS.c.timestamp < TODAY.timestamp() - 3600))
    again = operators_report(days=7, now=NOW, engine=tracker, tracker_engine=tracker)
    assert again.days_read == 1
    assert again.as_json()["conversations"] == 4
    assert again.as_json()["per_day"] == first.as_json()["per_day"]


def test_a_longer_window_reaches_the_older_conversation(tracker: Engine) -> None:
    figures = operators_report(days=30, now=NOW, engine=tracker, tracker_engine=tracker)
    assert figures.as_json()["conversations"] == 5
    assert len(figures.per_day) == 30


def test_percentiles_are_the_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([10, 20, 30, 40], 0.5) == 20
    assert percentile([10, 20, 30, 40], 0.95) == 40


def test_satisfaction_counts_the_survey_scores_given_in_the_window(tracker: Engine) -> None:
    from bot.complaints.catalog import get_catalog
    from bot.complaints.filing import ComplaintDraft, file_complaint
    from bot.models import SurveyAnswer

    with session_scope(tracker) as session:
        for number, (score, given) in enumerate(
            ((5, TODAY + timedelta(hours=1)), (2, YESTERDAY), (1, TODAY - timedelta(days=20)))
        ):
            complaint = file_complaint(
                session=session,
                draft=ComplaintDraft("gas", "attitude", f"态度不好{number}"),
                sender_id=f"web:{number}",
                channel="web",
                now=given,
                catalog=get_catalog(),
            )
            session.add(
                SurveyAnswer(
                    complaint_id=complaint.id,
                    sender_id="web:x",
                    score=score,
                    created_at=given.astimezone(timezone.utc),  # stored in UTC
                )
            )
    figures = operators_report(days=7, now=NOW, engine=tracker, tracker_engine=tracker).as_json()
    assert figures["satisfaction"] == {"answers": 2, "mean": 3.5, "low": 1}
    # 01:00 local today is 17:00 UTC the day before: still counted as today.
    today_only = operators_report(days=1, now=NOW, engine=tracker, tracker_engine=tracker)
    assert today_only.satisfaction == [5]


def test_the_command_prints_the_same_figures_as_json(tracker: Engine, monkeypatch, capsys) -> None:
    from bot.cli import main
    from bot.infra import db
    from bot.infra import settings as bot_settings

    url = tracker.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    monkeypatch.setenv("FROZEN_NOW", NOW.isoformat())
    bot_settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    try:
        assert main(["analytics", "--days", "7", "--json"]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert main(["analytics", "--days", "0"]) == 2
    finally:
        db.get_engine(url).dispose()
        db.get_engine.cache_clear()
        bot_settings.get_settings.cache_clear()
    assert printed["conversations"] == 4
    assert printed["flows"]["complaint_form"]["abandoned"] == 1
