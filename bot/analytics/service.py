"""The operators' figures over the last days: closed days summed once and stored
(`analytics_day`), so that each run reads only the tracker events of the days not stored
yet (and the day before them, for conversations under way at midnight) and today's.

The tracker store is Rasa's `events` table (its own database, TRACKER_DATABASE_URL); the
stored days and the satisfaction survey are in the service database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError

from bot.analytics.figures import DayFigures, EventRow, day_figures, percentile
from bot.infra.clock import as_utc, local_zone
from bot.infra.db import DatabaseUnavailable, get_engine, unit_of_work
from bot.infra.settings import get_settings
from bot.models import AnalyticsDay, SurveyAnswer

logger = logging.getLogger(__name__)

LOW_SATISFACTION = 2  # a score of 1 or 2 (of 5) is a complaint handled badly
TOP_INTENTS = 10
_BATCH = 2000

# Rasa's `events` table, the columns read here (rasa.core.tracker_store.SQLTrackerStore).
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


@dataclass
class Report:
    """The figures of `first`..`last` (local days), as `as_json` prints them."""

    first: date
    last: date
    total: DayFigures
    per_channel: dict[str, DayFigures]
    per_day: dict[date, DayFigures]
    satisfaction: list[int] = field(default_factory=list)
    days_read: int = 0  # days whose tracker events this run read (the others were stored)

    def as_json(self) -> dict[str, Any]:
        total = self.total
        latencies = sorted(total.latencies_ms)
        scores = self.satisfaction
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "conversations": total.conversations,
            "user_messages": total.user_messages,
            "containment_rate": _rate(total.conversations - total.handoffs, total.conversations),
            "not_understood": total.not_understood,
            "not_understood_rate": _rate(total.not_understood, total.user_messages),
            "handoffs": total.handoffs,
            "handoff_rate": _rate(total.handoffs, total.conversations),
            "handoff_note": "a handoff is a conversation a person took over (转人工)",
            "flows": {
                name: {
                    **vars(flow),
                    "completion_rate": _rate(flow.completed, flow.started),
                    "abandonment_rate": _rate(flow.abandoned, flow.started),
                }
                for name, flow in sorted(total.flows.items())
            },
            "top_intents": total.intents.most_common(TOP_INTENTS),
            "policy_questions": {
                "asked": total.policy_asked,
                "answered": total.policy_asked - total.policy_not_answered,
                "not_answered": total.policy_not_answered,
            },
            "satisfaction": {
                "answers": len(scores),
                "mean": round(sum(scores) / len(scores), 2) if scores else None,
                "low": sum(1 for score in scores if score <= LOW_SATISFACTION),
            },
            "latency_ms": {
                "replies": len(latencies),
                "p50": percentile(latencies, 0.5),
                "p95": percentile(latencies, 0.95),
            },
            "per_channel": {
                channel: _brief(figures) for channel, figures in sorted(self.per_channel.items())
            },
            "per_day": {day.isoformat(): _brief(f) for day, f in sorted(self.per_day.items())},
        }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _brief(figures: DayFigures) -> dict[str, Any]:
    return {
        "conversations": figures.conversations,
        "user_messages": figures.user_messages,
        "not_understood": figures.not_understood,
    }


def operators_report(
    *,
    days: int,
    now: datetime,
    engine: Engine | None = None,
    tracker_engine: Engine | None = None,
) -> Report:
    """The figures of the last `days` local days up to `now` (today included); closed days
    not stored yet are computed from the tracker store and stored."""
    if days < 1:
        raise ValueError("days must be at least 1")
    zone = local_zone()
    today = as_utc(now).astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    stored = _stored_days(first, today, engine)
    missing = [first + timedelta(n) for n in range(days - 1) if first + timedelta(n) not in stored]
    read_from = missing[0] if missing else today
    tracker = tracker_engine if tracker_engine is not None else default_tracker_engine()
    computed = _compute(tracker, read_from, today, zone)
    _store(
        {key: figures for key, figures in computed.items() if key[0] in missing},
        missing,
        engine,
    )
    per_key: dict[tuple[date, str], DayFigures] = {}
    for day, channels in stored.items():
        for channel, figures in channels.items():
            per_key[(day, channel)] = figures
    per_key.update({key: f for key, f in computed.items() if key[0] in missing or key[0] == today})
    report = Report(
        first=first,
        last=today,
        total=DayFigures(),
        per_channel={},
        per_day={first + timedelta(n): DayFigures() for n in range(days)},
        satisfaction=_scores(first, today, zone, engine),
        days_read=(today - read_from).days + 1,
    )
    for (day, channel), figures in sorted(per_key.items()):
        report.total.add(figures)
        report.per_day.setdefault(day, DayFigures()).add(figures)
        if channel:
            report.per_channel.setdefault(channel, DayFigures()).add(figures)
    return report


def default_tracker_engine(url: str | None = None) -> Engine | None:
    """The tracker store's engine (default: TRACKER_DATABASE_URL); None while its SQLite
    file does not exist."""
    url = url or get_settings().tracker_database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return None  # no conversation stored yet
    return get_engine(url)


def _start(day: date, zone: ZoneInfo) -> float:
    return datetime.combine(day, time(), tzinfo=zone).timestamp()


def _compute(
    tracker: Engine | None, first: date, last: date, zone: ZoneInfo
) -> dict[tuple[date, str], DayFigures]:
    """The figures of `first`..`last`, from the events of those days and the day before."""
    if tracker is None:
        return {}
    count_from = _start(first, zone)
    rows = _event_rows(tracker, count_from - 86400, _start(last + timedelta(1), zone))
    return day_figures(rows, zone=zone, count_from=count_from)


def _event_rows(tracker: Engine, start: float, end: float) -> Iterator[EventRow]:
    """The events written between `start` and `end` (Unix times), in the order written."""
    return _read(tracker, 0, EVENTS.c.timestamp >= start, EVENTS.c.timestamp < end)


def event_rows_after(tracker: Engine, after: int, senders: Any) -> Iterator[EventRow]:
    """The events after the id `after` of the senders selected by `senders` (a SELECT of
    sender ids), in the order written."""
    return _read(tracker, after, EVENTS.c.sender_id.in_(senders))


def _read(tracker: Engine, after: int, *conditions: Any) -> Iterator[EventRow]:
    """The events matching `conditions` after the id `after`, read in batches by id."""
    columns = [EVENTS.c[name] for name in ("id", "sender_id", "type_name", "timestamp")]
    query = (
        select(*columns, EVENTS.c.intent_name, EVENTS.c.action_name, EVENTS.c.data)
        .where(*conditions)
        .order_by(EVENTS.c.id)
        .limit(_BATCH)
    )
    while True:
        with tracker.connect() as connection:
            batch = connection.execute(query.where(EVENTS.c.id > after)).all()
        for row in batch:
            yield EventRow(
                id=row.id,
                sender_id=row.sender_id,
                type_name=row.type_name,
                timestamp=float(row.timestamp),
                intent_name=row.intent_name,
                action_name=row.action_name,
                data=json.loads(row.data or "{}"),
            )
        if len(batch) < _BATCH:
            return
        after = batch[-1].id


def _stored_days(
    first: date, today: date, engine: Engine | None
) -> dict[date, dict[str, DayFigures]]:
    with unit_of_work(engine) as session:
        rows = session.scalars(
            select(AnalyticsDay).where(AnalyticsDay.day >= first, AnalyticsDay.day < today)
        ).all()
        found: dict[date, dict[str, DayFigures]] = {}
        for row in rows:
            found.setdefault(row.day, {})[row.channel] = DayFigures.from_json(
                json.loads(row.figures)
            )
    return found


def _store(
    computed: dict[tuple[date, str], DayFigures], days: list[date], engine: Engine | None
) -> None:
    """Store closed days' figures; a day without traffic gets an empty row, so that it is
    not read again. Another run storing the same days first is fine: its figures are the
    same."""
    if not days:
        return
    try:
        with unit_of_work(engine) as session:
            for day in days:
                channels = {c: f for (d, c), f in computed.items() if d == day} or {
                    "": DayFigures()
                }
                for channel, figures in channels.items():
                    session.add(
                        AnalyticsDay(
                            day=day, channel=channel, figures=json.dumps(figures.as_json())
                        )
                    )
    except DatabaseUnavailable as error:
        if not isinstance(error.__cause__, IntegrityError):
            raise
        logger.info("analytics days stored by another run meanwhile")


def _scores(first: date, last: date, zone: ZoneInfo, engine: Engine | None) -> list[int]:
    """The satisfaction scores (1-5) given from `first` to `last` (local days)."""
    # Compared in UTC, as stored: SQLite compares the text, without the offset.
    start = datetime.combine(first, time(), tzinfo=zone).astimezone(timezone.utc)
    end = datetime.combine(last + timedelta(1), time(), tzinfo=zone).astimezone(timezone.utc)
    with unit_of_work(engine) as session:
        return list(
            session.scalars(
                select(SurveyAnswer.score).where(
                    SurveyAnswer.created_at >= start, SurveyAnswer.created_at < end
                )
            ).all()
        )
