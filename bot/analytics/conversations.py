"""The desk's conversations: an index of the tracker store's conversations, kept up to
date incrementally, searched by channel, day, flow and outcome, and a conversation's
transcript, masked.

The index (`conversation_session`, in the service database) holds for each conversation
its sender, channel, first and last event, counts and outcome, summed with the figures'
classification (bot/analytics/sessions.py); no text. `refresh_index` reads only the
events of senders who wrote since the last refresh, from the start of each one's latest
indexed conversation (it may have gone on), so that a refresh after a day of traffic
reads that day. The transcript is read from the tracker store when a conversation is
opened and masked for reading (bot/analytics/transcript.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.analytics.figures import NOT_UNDERSTOOD_INTENTS, SUBMIT_ACTIONS
from bot.analytics.service import EVENTS, event_rows_after
from bot.analytics.sessions import POLICY_FLOW, Outcome, SessionSummary, sessions
from bot.analytics.transcript import masked_bot_text, masked_user_text, personal_values
from bot.infra.clock import as_utc, local_zone
from bot.infra.db import DatabaseUnavailable, unit_of_work
from bot.infra.privacy import mask_sender_id
from bot.models import ConversationSession

logger = logging.getLogger(__name__)

FLOWS = (*SUBMIT_ACTIONS, POLICY_FLOW)
OUTCOMES = (
    Outcome.COMPLETED,
    Outcome.ABANDONED,
    Outcome.HANDED_OVER,
    Outcome.NOT_UNDERSTOOD,
)
PER_PAGE = 50
MAX_TRANSCRIPT_EVENTS = 2000
_SENDERS_PER_READ = 500  # senders per IN (...) list: SQLite's limit on parameters is 999+


@dataclass(frozen=True)
class ConversationFilter:
    """What the desk's conversation list is narrowed to; empty values narrow nothing."""

    channel: str = ""
    first_day: date | None = None  # local days, both included
    last_day: date | None = None
    flow: str = ""  # a form of FLOWS, or POLICY_FLOW
    outcome: str = ""  # an Outcome of OUTCOMES: conversations that had it


@dataclass(frozen=True)
class ConversationEntry:
    id: int
    sender: str  # masked
    channel: str
    started_at: datetime
    last_at: datetime
    user_messages: int
    not_understood: int
    flows: tuple[str, ...]
    outcome: str


@dataclass(frozen=True)
class ConversationPage:
    entries: list[ConversationEntry]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class Said:
    """One message of a transcript, masked."""

    speaker: str  # "user" or "bot"
    text: str
    at: datetime
    intent: str = ""  # a user message's intent
    not_understood: bool = False


@dataclass(frozen=True)
class ConversationTranscript:
    entry: ConversationEntry
    messages: list[Said]
    available: bool  # False when the tracker store no longer has (or never had) it


def refresh_index(*, tracker: Engine | None, engine: Engine | None = None) -> int:
    """Index the conversations written since the last refresh; how many were (re)written.
    Two refreshes at once are fine: the second one's rows collide and it leaves them."""
    if tracker is None:
        return 0
    with unit_of_work(engine) as session:
        watermark = session.scalar(select(func.max(ConversationSession.last_event_id))) or 0
    with tracker.connect() as connection:
        senders = list(
            connection.execute(
                select(EVENTS.c.sender_id).where(EVENTS.c.id > watermark).distinct()
            ).scalars()
        )
    written = 0
    for start in range(0, len(senders), _SENDERS_PER_READ):
        written += _refresh(tracker, senders[start : start + _SENDERS_PER_READ], engine)
    logger.info("conversation index: %d conversation(s) written", written)
    return written


def _refresh(tracker: Engine, senders: list[str], engine: Engine | None) -> int:
    with unit_of_work(engine) as session:
        # Each sender's latest indexed conversation may have gone on: it is read again.
        resume = dict(
            session.execute(
                select(ConversationSession.sender_id, func.max(ConversationSession.first_event_id))
                .where(ConversationSession.sender_id.in_(senders))
                .group_by(ConversationSession.sender_id)
            ).all()
        )
    lowest = min((resume.get(sender, 0) for sender in senders), default=0)
    rows = (
        row
        for row in event_rows_after(tracker, max(lowest - 1, 0), senders)
        if row.id >= resume.get(row.sender_id, 0)
    )
    found = sessions(rows)
    try:
        with unit_of_work(engine) as session:
            for sender, first in resume.items():
                session.execute(
                    delete(ConversationSession).where(
                        ConversationSession.sender_id == sender,
                        ConversationSession.first_event_id >= first,
                    )
                )
            session.add_all(_row(summary) for summary in found)
    except DatabaseUnavailable as error:
        if not isinstance(error.__cause__, IntegrityError):
            raise
        logger.info("conversation index: written by another refresh meanwhile")
        return 0
    return len(found)


def _row(summary: SessionSummary) -> ConversationSession:
    return ConversationSession(
        sender_id=summary.sender_id,
        first_event_id=summary.first_event_id,
        last_event_id=summary.last_event_id,
        channel=summary.channel[:32],
        started_at=datetime.fromtimestamp(summary.started_at, tz=timezone.utc),
        last_at=datetime.fromtimestamp(summary.last_at, tz=timezone.utc),
        user_messages=summary.user_messages,
        not_understood=summary.not_understood,
        completed=summary.completed,
        abandoned=summary.abandoned,
        handoffs=summary.handoffs,
        policy_not_answered=summary.policy_not_answered,
        flows=" " + " ".join(sorted(summary.flows)) + " " if summary.flows else "",
        outcome=summary.outcome.value,
    )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=local_zone()).astimezone(timezone.utc)


def find_conversations(
    *,
    filters: ConversationFilter,
    page: int = 1,
    per_page: int = PER_PAGE,
    engine: Engine | None = None,
) -> ConversationPage:
    """The indexed conversations that `filters` select, newest first, one page of them."""
    table = ConversationSession
    conditions = []
    if filters.channel:
        conditions.append(table.channel == filters.channel)
    if filters.first_day is not None:
        conditions.append(table.started_at >= _local_midnight(filters.first_day))
    if filters.last_day is not None:
        conditions.append(table.started_at < _local_midnight(filters.last_day + timedelta(1)))
    if filters.flow:
        conditions.append(table.flows.contains(f" {filters.flow} ", autoescape=True))
    if filters.outcome:
        column = {
            Outcome.COMPLETED.value: table.completed,
            Outcome.ABANDONED.value: table.abandoned,
            Outcome.HANDED_OVER.value: table.handoffs,
            Outcome.NOT_UNDERSTOOD.value: table.not_understood,
        }[filters.outcome]
        conditions.append(column > 0)
    with unit_of_work(engine) as session:
        total = session.scalar(select(func.count()).select_from(table).where(*conditions)) or 0
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        found = session.scalars(
            select(table)
            .where(*conditions)
            .order_by(table.started_at.desc(), table.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
        entries = [_entry(row) for row in found]
    return ConversationPage(entries=entries, total=total, page=page, pages=pages)


def indexed_channels(*, engine: Engine | None = None) -> list[str]:
    """The channels the index has seen, for the filter's choices."""
    with unit_of_work(engine) as session:
        return sorted(
            channel
            for channel in session.scalars(select(ConversationSession.channel).distinct())
            if channel
        )


def _entry(row: ConversationSession) -> ConversationEntry:
    return ConversationEntry(
        id=row.id,
        sender=mask_sender_id(row.sender_id),
        channel=row.channel,
        started_at=as_utc(row.started_at),
        last_at=as_utc(row.last_at),
        user_messages=row.user_messages,
        not_understood=row.not_understood,
        flows=tuple(row.flows.split()),
        outcome=row.outcome,
    )


def read_conversation(
    *, conversation_id: int, tracker: Engine | None, engine: Engine | None = None
) -> ConversationTranscript | None:
    """The conversation `conversation_id` with what was said in it, masked; None if the
    index has no such conversation."""
    with unit_of_work(engine) as session:
        row = session.get(ConversationSession, conversation_id)
        if row is None:
            return None
        entry = _entry(row)
        sender, first, last = row.sender_id, row.first_event_id, row.last_event_id
    if tracker is None:
        return ConversationTranscript(entry, [], available=False)
    query = (
        select(EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.intent_name, EVENTS.c.data)
        .where(
            EVENTS.c.sender_id == sender,
            EVENTS.c.id >= first,
            EVENTS.c.id <= last,
            EVENTS.c.type_name.in_(["user", "bot", "slot"]),
        )
        .order_by(EVENTS.c.id)
        .limit(MAX_TRANSCRIPT_EVENTS)
    )
    with tracker.connect() as connection:
        events = [
            (kind, float(timestamp), intent or "", json.loads(data or "{}"))
            for kind, timestamp, intent, data in connection.execute(query)
        ]
    known = personal_values(data for kind, _, _, data in events if kind == "slot")
    messages = []
    for kind, timestamp, intent, data in events:
        said = str(data.get("text") or "")
        moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
        if kind == "user":
            messages.append(
                Said(
                    "user",
                    masked_user_text(said, known),
                    moment,
                    intent=intent,
                    not_understood=intent in NOT_UNDERSTOOD_INTENTS,
                )
            )
        elif kind == "bot" and said:
            utter = str((data.get("metadata") or {}).get("utter_action") or "")
            messages.append(Said("bot", masked_bot_text(said, utter, known), moment))
    return ConversationTranscript(entry, messages, available=bool(events))
