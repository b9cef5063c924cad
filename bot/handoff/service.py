"""A person takes over (转人工): the queue, the customer's messages, the desk's steps.

One function per use case, each in its own unit of work, returning plain data. The queue
is the database (bot/models/handoff.py), so every Rasa server and every desk process
shares it. Steps that two people may take at once are conditional UPDATEs on the row's
state (a claim succeeds only on a row still waiting; closing for idleness only on a row
untouched since it was read), so exactly one of them wins.

Messages to the customer leave after the transaction that records them: Telegram and
WeChat through `deliver` (bot.notify: the Bot API, the customer-service message API);
the web chat reads them from the database through its push connection (delivery "push").
A channel that refuses one (blocked bot, WeChat's 48-hour window, errcode 45015) is
recorded on the entry and on the conversation, for the agent to see.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.complaints.catalog import get_catalog
from bot.directory import find_department
from bot.handoff.desks import Desks, get_desks
from bot.infra.clock import as_utc, local_zone
from bot.infra.db import DatabaseUnavailable, get_engine, unit_of_work
from bot.infra.numbering import random_number
from bot.models import HandoffConversation, HandoffEntry, HandoffStatus
from bot.notify import Delivery, DeliveryStatus, channel_of

logger = logging.getLogger(__name__)

Deliver = Callable[[str, str], Delivery]
# Resumes the sender's Rasa conversation (ConversationResumed); True when it did.
Resume = Callable[[str], bool]

OPEN = (HandoffStatus.QUEUED.value, HandoffStatus.HELD.value, HandoffStatus.MESSAGE.value)
MAX_TEXT = 2000  # characters of one message kept or sent
PUSH = "push"  # the web chat's push connection reads it


class NotHolder(RuntimeError):
    """The agent does not hold this conversation (another does, or it is closed)."""


class NoSuchHandoff(LookupError):
    """No handoff conversation with that id or reference."""


@contextmanager
def _reading(engine: Engine | None) -> Iterator[Connection]:
    """A connection for a read on a hot path (every message, every push poll): no ORM
    session, several times cheaper; a failed database leaves as DatabaseUnavailable."""
    try:
        with (engine or get_engine()).connect() as connection:
            yield connection
    except SQLAlchemyError as error:
        raise DatabaseUnavailable(type(error).__name__) from error


def _utc(moment: datetime) -> datetime:
    """Everything is stored in UTC: SQLite keeps a datetime's clock time without its offset."""
    return moment.astimezone(timezone.utc)


# --- The customer's side (actions and the Rasa server's relay) ---


@dataclass(frozen=True)
class HandoffTicket:
    """What the customer is told when handed to a person."""

    reference: str
    department: str
    department_name: str
    phone: str
    status: str  # queued, or message (out of staffed hours)
    ahead: int  # conversations ahead in the queue
    wait_minutes: int
    hours: str  # the staffed hours, as the customer reads them
    reply_by: str  # out of hours: when they will hear back (local, "12月7日 11:00")
    already: bool  # the sender was already waiting


def department_for(text: str, flow_department: str | None, desks: Desks | None = None) -> str:
    """The desk a request goes to: the service the message names, else the flow under way,
    else the default desk (the customer service centre)."""
    desks = desks or get_desks()
    named = get_catalog().guess_department(text)
    for code in (named, flow_department):
        if code and code in desks.hours:
            return code
    return desks.default_department


def _ahead(session: Session, conversation: HandoffConversation) -> int:
    return int(
        session.scalar(
            select(func.count(HandoffConversation.id)).where(
                HandoffConversation.department == conversation.department,
                HandoffConversation.status == HandoffStatus.QUEUED.value,
                or_(
                    HandoffConversation.queued_at < conversation.queued_at,
                    (HandoffConversation.queued_at == conversation.queued_at)
                    & (HandoffConversation.id < conversation.id),
                ),
            )
        )
        or 0
    )


def _ticket(
    session: Session, conversation: HandoffConversation, desks: Desks, now: datetime, already: bool
) -> HandoffTicket:
    department = find_department(session=session, code=conversation.department)
    hours = desks.hours_of(conversation.department)
    ahead = _ahead(session, conversation) if conversation.status == HandoffStatus.QUEUED else 0
    reply_by = ""
    if conversation.status == HandoffStatus.MESSAGE.value:
        answer_at = hours.next_opening(now) + timedelta(hours=desks.reply_within_hours)
        reply_by = f"{answer_at.month}月{answer_at.day}日 {answer_at:%H:%M}"
    return HandoffTicket(
        reference=conversation.reference,
        department=conversation.department,
        department_name=department.name if department else conversation.department,
        phone=department.phone if department else "",
        status=conversation.status,
        ahead=ahead,
        wait_minutes=(ahead + 1) * desks.average_minutes,
        hours=hours.label,
        reply_by=reply_by,
        already=already,
    )


def request_handoff(
    *,
    sender_id: str,
    text: str,
    question: str,
    flow_department: str | None,
    reason: str,
    now: datetime,
    engine: Engine | None = None,
) -> HandoffTicket:
    """Put the sender in the queue of the department their request is about (or, outside
    its staffed hours, take a message, 留言). A sender already waiting keeps their place."""
    now = _utc(now)
    desks = get_desks()
    code = department_for(text, flow_department, desks)
    with unit_of_work(engine) as session:
        existing = session.scalars(
            select(HandoffConversation)
            .where(HandoffConversation.sender_id == sender_id, HandoffConversation.silent)
            .order_by(HandoffConversation.id.desc())
        ).first()
        if existing is not None:
            return _ticket(session, existing, desks, now, already=True)
        staffed = desks.hours_of(code).staffed_at(now)
        prefix = "RG" if staffed else "LY"
        local_day = as_utc(now).astimezone(local_zone()).date()
        conversation = HandoffConversation(
            reference=random_number(session, HandoffConversation.reference, prefix, local_day),
            sender_id=sender_id,
            department=code,
            status=(HandoffStatus.QUEUED if staffed else HandoffStatus.MESSAGE).value,
            reason=reason,
            question=question[:MAX_TEXT],
            silent=True,
            resumed=False,
            queued_at=now,
            last_activity_at=now,
            created_at=now,
        )
        session.add(conversation)
        session.flush()
        _note(session, conversation, f"转人工（{reason}）：{text[:200]}", now)
        return _ticket(session, conversation, desks, now, already=False)


@dataclass(frozen=True)
class ActiveHandoff:
    """A sender's handoff as the Rasa server's relay needs it."""

    id: int
    status: str
    silent: bool
    resumed: bool


def active_for_sender(*, sender_id: str, engine: Engine | None = None) -> ActiveHandoff | None:
    """The sender's handoff that keeps the assistant silent, or whose end the Rasa
    conversation has not been told yet; None for nearly every message (one indexed read)."""
    with _reading(engine) as connection:
        row = connection.execute(
            select(
                HandoffConversation.id,
                HandoffConversation.status,
                HandoffConversation.silent,
                HandoffConversation.resumed,
            )
            .where(
                HandoffConversation.sender_id == sender_id,
                or_(HandoffConversation.silent, HandoffConversation.resumed.is_(False)),
            )
            .order_by(HandoffConversation.id.desc())
            .limit(1)
        ).first()
    return ActiveHandoff(row.id, row.status, row.silent, row.resumed) if row else None


def record_customer_message(
    *, conversation_id: int, text: str, now: datetime, engine: Engine | None = None
) -> bool:
    """Keep a message the customer sent while a person has the conversation; True when it
    is the first of a message left out of hours (the customer is told it arrived)."""
    now = _utc(now)
    with unit_of_work(engine) as session:
        conversation = session.get(HandoffConversation, conversation_id)
        if conversation is None:
            raise NoSuchHandoff(str(conversation_id))
        first = conversation.status == HandoffStatus.MESSAGE.value and not _has_customer_entry(
            session, conversation_id
        )
        session.add(
            HandoffEntry(
                conversation_id=conversation.id,
                sender_id=conversation.sender_id,
                kind="customer",
                text=text[:MAX_TEXT],
                created_at=now,
            )
        )
        conversation.last_activity_at = now
        if text.strip():
            conversation.question = text[:MAX_TEXT]
        return first


def _has_customer_entry(session: Session, conversation_id: int) -> bool:
    return (
        session.scalar(
            select(HandoffEntry.id)
            .where(HandoffEntry.conversation_id == conversation_id, HandoffEntry.kind == "customer")
            .limit(1)
        )
        is not None
    )


def customer_returns(*, conversation_id: int, now: datetime, engine: Engine | None = None) -> None:
    """The customer goes back to the assistant: out of the queue (a person holding it is
    told in the desk); a message left out of hours stays for the staff."""
    now = _utc(now)
    with unit_of_work(engine) as session:
        conversation = session.get(HandoffConversation, conversation_id)
        if conversation is None or not conversation.silent:
            return
        conversation.silent = False
        conversation.last_activity_at = now
        keep_message = conversation.status == HandoffStatus.MESSAGE.value and _has_customer_entry(
            session, conversation_id
        )
        if not keep_message and conversation.status in OPEN:
            _close_row(conversation, "customer", "customer", now)
        conversation.version += 1
        _note(session, conversation, "客户返回智能助手", now)


def mark_resumed(*, conversation_id: int, engine: Engine | None = None) -> None:
    """The Rasa conversation was resumed after the assistant's silence ended."""
    with unit_of_work(engine) as session:
        session.execute(
            update(HandoffConversation)
            .where(HandoffConversation.id == conversation_id, HandoffConversation.silent.is_(False))
            .values(resumed=True)
        )


# --- The desk's side ---


@dataclass(frozen=True)
class HandoffSummary:
    id: int
    reference: str
    sender_id: str
    channel: str
    department: str
    status: str
    reason: str
    question: str
    silent: bool
    queued_at: datetime
    waited_minutes: int
    claimed_by: str
    claimed_name: str
    channel_problem: str
    version: int


@dataclass(frozen=True)
class EntryView:
    id: int
    kind: str
    author_name: str
    text: str
    delivery: str
    delivery_detail: str
    at: datetime


@dataclass(frozen=True)
class HandoffDetail:
    summary: HandoffSummary
    entries: list[EntryView]


def _summary(conversation: HandoffConversation, now: datetime) -> HandoffSummary:
    waited = as_utc(now) - as_utc(conversation.queued_at)
    return HandoffSummary(
        id=conversation.id,
        reference=conversation.reference,
        sender_id=conversation.sender_id,
        channel=channel_of(conversation.sender_id),
        department=conversation.department,
        status=conversation.status,
        reason=conversation.reason,
        question=conversation.question,
        silent=conversation.silent,
        queued_at=conversation.queued_at,
        waited_minutes=max(0, int(waited.total_seconds() // 60)),
        claimed_by=conversation.claimed_by,
        claimed_name=conversation.claimed_name,
        channel_problem=conversation.channel_problem,
        version=conversation.version,
    )


@dataclass(frozen=True)
class Inbox:
    waiting: list[HandoffSummary]  # queued, oldest first
    messages: list[HandoffSummary]  # left out of hours, oldest first
    held: list[HandoffSummary]  # held by a person (the agent's own first)


def inbox(*, department: str, agent: str, now: datetime, engine: Engine | None = None) -> Inbox:
    """The open conversations of a department ("" for every department), oldest first."""
    with unit_of_work(engine) as session:
        query = (
            select(HandoffConversation)
            .where(HandoffConversation.status.in_(OPEN))
            .order_by(HandoffConversation.queued_at, HandoffConversation.id)
        )
        if department:
            query = query.where(
                or_(
                    HandoffConversation.department == department,
                    HandoffConversation.claimed_by == agent,
                )
            )
        rows = [_summary(row, now) for row in session.scalars(query)]
    held = [row for row in rows if row.status == HandoffStatus.HELD.value]
    held.sort(key=lambda row: row.claimed_by != agent)
    return Inbox(
        waiting=[row for row in rows if row.status == HandoffStatus.QUEUED.value],
        messages=[row for row in rows if row.status == HandoffStatus.MESSAGE.value],
        held=held,
    )


def list_open(*, now: datetime, engine: Engine | None = None) -> list[HandoffSummary]:
    """Every conversation waiting for or held by a person (`python -m bot handoff list`)."""
    with unit_of_work(engine) as session:
        return [
            _summary(row, now)
            for row in session.scalars(
                select(HandoffConversation)
                .where(HandoffConversation.status.in_(OPEN))
                .order_by(HandoffConversation.queued_at, HandoffConversation.id)
            )
        ]


def handoff_detail(
    *, conversation_id: int, now: datetime, engine: Engine | None = None
) -> HandoffDetail | None:
    with unit_of_work(engine) as session:
        conversation = session.get(HandoffConversation, conversation_id)
        if conversation is None:
            return None
        entries = [
            EntryView(
                e.id, e.kind, e.author_name, e.text, e.delivery, e.delivery_detail, e.created_at
            )
            for e in session.scalars(
                select(HandoffEntry)
                .where(HandoffEntry.conversation_id == conversation_id)
                .order_by(HandoffEntry.id)
            )
        ]
        return HandoffDetail(_summary(conversation, now), entries)


def find_by_reference(*, reference: str, engine: Engine | None = None) -> int | None:
    with unit_of_work(engine) as session:
        found = session.scalar(
            select(HandoffConversation.id).where(HandoffConversation.reference == reference)
        )
        return int(found) if found is not None else None


class ClaimOutcome(str, enum.Enum):
    CLAIMED = "claimed"
    TAKEN = "taken"  # another agent was first
    CLOSED = "closed"


def claim(
    *,
    conversation_id: int,
    agent: str,
    agent_name: str,
    now: datetime,
    deliver: Deliver,
    engine: Engine | None = None,
) -> ClaimOutcome:
    """Take a waiting conversation. Of two agents claiming at once exactly one wins: the
    UPDATE only changes a row that is still waiting, and the database applies one first."""
    now = _utc(now)
    with unit_of_work(engine) as session:
        won = session.execute(
            update(HandoffConversation)
            .where(
                HandoffConversation.id == conversation_id,
                HandoffConversation.status.in_(
                    (HandoffStatus.QUEUED.value, HandoffStatus.MESSAGE.value)
                ),
            )
            .values(
                status=HandoffStatus.HELD.value,
                claimed_by=agent,
                claimed_name=agent_name,
                claimed_at=now,
                last_activity_at=now,
                version=HandoffConversation.version + 1,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        conversation = session.get(HandoffConversation, conversation_id)
        if conversation is None:
            raise NoSuchHandoff(str(conversation_id))
        if won != 1:
            return ClaimOutcome.CLOSED if conversation.status not in OPEN else ClaimOutcome.TAKEN
        _note(session, conversation, f"{agent_name} 接入", now, author=agent, name=agent_name)
        pending = None
        if conversation.silent:
            department = find_department(session=session, code=conversation.department)
            text = get_desks().message(
                "joined",
                department=department.name if department else "",
                agent=agent_name,
            )
            pending = _outgoing(session, conversation, "system", text, now, agent, agent_name)
    if pending is not None:
        _deliver(pending, deliver, engine)
    return ClaimOutcome.CLAIMED


def _holding(session: Session, conversation_id: int, agent: str) -> HandoffConversation:
    conversation = session.get(HandoffConversation, conversation_id)
    if conversation is None:
        raise NoSuchHandoff(str(conversation_id))
    if conversation.status != HandoffStatus.HELD.value or conversation.claimed_by != agent:
        raise NotHolder(conversation.reference)
    return conversation


@dataclass(frozen=True)
class SentMessage:
    entry_id: int
    delivery: str
    detail: str


def reply(
    *,
    conversation_id: int,
    agent: str,
    agent_name: str,
    text: str,
    now: datetime,
    deliver: Deliver,
    engine: Engine | None = None,
) -> SentMessage:
    """Send the agent's reply to the customer's channel, with the agent's name. The text
    is sent as plain text everywhere (no markup is ever interpreted)."""
    now = _utc(now)
    text = text.strip()[:MAX_TEXT]
    if not text:
        raise ValueError("empty reply")
    with unit_of_work(engine) as session:
        conversation = _holding(session, conversation_id, agent)
        conversation.last_activity_at = now
        pending = _outgoing(session, conversation, "agent", text, now, agent, agent_name)
    return _deliver(pending, deliver, engine)


def transfer(
    *,
    conversation_id: int,
    agent: str,
    agent_name: str,
    department: str,
    now: datetime,
    deliver: Deliver,
    engine: Engine | None = None,
) -> None:
    """Hand the conversation on to another department's queue, keeping its place in time
    (handed on, never bounced: 主动联系相关部门人员接待，不得踢皮球)."""
    now = _utc(now)
    desks = get_desks()
    if department not in desks.hours:
        raise ValueError(f"no desk {department!r}")
    with unit_of_work(engine) as session:
        conversation = _holding(session, conversation_id, agent)
        target = find_department(session=session, code=department)
        conversation.department = department
        conversation.status = HandoffStatus.QUEUED.value
        conversation.claimed_by = conversation.claimed_name = ""
        conversation.last_activity_at = now
        conversation.version += 1
        _note(session, conversation, f"转给 {department}", now, author=agent, name=agent_name)
        pending = None
        if conversation.silent:
            text = desks.message("transferred", department=target.name if target else department)
            pending = _outgoing(session, conversation, "system", text, now, agent, agent_name)
    if pending is not None:
        _deliver(pending, deliver, engine)


def close(
    *,
    conversation_id: int,
    actor: str,
    actor_name: str,
    now: datetime,
    deliver: Deliver,
    resume: Resume,
    reason: str = "agent",
    require_holder: bool = True,
    engine: Engine | None = None,
) -> bool:
    """Close (hand back): the assistant answers the customer again and says so. False when
    it was closed already. An agent closes what they hold; operators (`require_holder`
    False) close anything open."""
    now = _utc(now)
    with unit_of_work(engine) as session:
        if require_holder:
            conversation = _holding(session, conversation_id, actor)
        else:
            conversation = session.get(HandoffConversation, conversation_id)
            if conversation is None:
                raise NoSuchHandoff(str(conversation_id))
            if conversation.status not in OPEN:
                return False
        was_silent = conversation.silent
        _close_row(conversation, actor, reason, now)
        conversation.silent = False
        conversation.version += 1
        _note(session, conversation, f"结束（{reason}）", now, author=actor, name=actor_name)
        pending = None
        if was_silent:
            text = get_desks().message("handed_back")
            pending = _outgoing(session, conversation, "system", text, now, actor, actor_name)
        sender_id, conversation_key = conversation.sender_id, conversation.id
    if pending is not None:
        _deliver(pending, deliver, engine)
    if was_silent:
        _resume(sender_id, conversation_key, resume, engine)
    return True


def expire_idle(
    *, now: datetime, deliver: Deliver, resume: Resume, engine: Engine | None = None
) -> list[str]:
    """Give back to the assistant every silent conversation idle for the desks' idle time,
    politely; the references of those it gave back. Run by the desk every half minute and
    by `python -m bot handoff sweep`: of two processes sweeping at once, one gives each back."""
    now = _utc(now)
    desks = get_desks()
    cutoff = now - timedelta(minutes=desks.idle_minutes)
    with unit_of_work(engine) as session:
        idle = list(
            session.execute(
                select(HandoffConversation.id, HandoffConversation.last_activity_at).where(
                    HandoffConversation.silent,
                    HandoffConversation.last_activity_at < cutoff,
                )
            )
        )
    expired = []
    for conversation_id, last_activity in idle:
        with unit_of_work(engine) as session:
            won = session.execute(
                update(HandoffConversation)
                .where(
                    HandoffConversation.id == conversation_id,
                    HandoffConversation.silent,
                    HandoffConversation.last_activity_at == last_activity,
                )
                .values(silent=False, version=HandoffConversation.version + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if won != 1:
                continue
            conversation = session.get(HandoffConversation, conversation_id)
            assert conversation is not None
            keep_message = conversation.status == HandoffStatus.MESSAGE.value and (
                _has_customer_entry(session, conversation_id)
            )
            if not keep_message:
                _close_row(conversation, "system", "idle", now)
            _note(session, conversation, "长时间无消息，交回智能助手", now)
            pending = _outgoing(
                session, conversation, "system", desks.message("idle"), now, "system", ""
            )
            sender_id, reference = conversation.sender_id, conversation.reference
        _deliver(pending, deliver, engine)
        _resume(sender_id, conversation_id, resume, engine)
        expired.append(reference)
    return expired


# --- The web chat's push connection ---


@dataclass(frozen=True)
class PushedMessage:
    id: int
    text: str
    author_name: str
    kind: str


def latest_entry_id(*, sender_id: str, engine: Engine | None = None) -> int:
    with _reading(engine) as connection:
        return int(
            connection.scalar(
                select(func.max(HandoffEntry.id)).where(HandoffEntry.sender_id == sender_id)
            )
            or 0
        )


def pushes_after(
    *, sender_id: str, after_id: int, engine: Engine | None = None
) -> list[PushedMessage]:
    """What the desk said to a web chat customer after entry `after_id`, in order."""
    with _reading(engine) as connection:
        return [
            PushedMessage(row.id, row.text, row.author_name, row.kind)
            for row in connection.execute(
                select(
                    HandoffEntry.id, HandoffEntry.text, HandoffEntry.author_name, HandoffEntry.kind
                )
                .where(
                    HandoffEntry.sender_id == sender_id,
                    HandoffEntry.id > after_id,
                    HandoffEntry.delivery == PUSH,
                )
                .order_by(HandoffEntry.id)
                .limit(50)
            )
        ]


# --- Shared steps ---


def _close_row(conversation: HandoffConversation, actor: str, reason: str, now: datetime) -> None:
    conversation.status = HandoffStatus.CLOSED.value
    conversation.closed_at = now
    conversation.closed_by = actor
    conversation.close_reason = reason


def _note(
    session: Session,
    conversation: HandoffConversation,
    text: str,
    now: datetime,
    author: str = "",
    name: str = "",
) -> None:
    session.add(
        HandoffEntry(
            conversation_id=conversation.id,
            sender_id=conversation.sender_id,
            kind="note",
            author=author,
            author_name=name,
            text=text,
            created_at=now,
        )
    )


@dataclass(frozen=True)
class _Pending:
    entry_id: int
    conversation_id: int
    sender_id: str
    text: str  # as the customer's channel shows it


def _outgoing(
    session: Session,
    conversation: HandoffConversation,
    kind: str,
    text: str,
    now: datetime,
    author: str,
    author_name: str,
) -> _Pending:
    """Record a message to the customer; web chat customers get it through the push
    connection, the others once the transaction is committed (`_deliver`)."""
    web = channel_of(conversation.sender_id) == "web"
    entry = HandoffEntry(
        conversation_id=conversation.id,
        sender_id=conversation.sender_id,
        kind=kind,
        author=author,
        author_name=author_name if kind == "agent" else "",
        text=text,
        delivery=PUSH if web else "",
        created_at=now,
    )
    session.add(entry)
    session.flush()
    shown = text
    if kind == "agent" and not web:
        shown = get_desks().message("agent_prefix", agent=author_name) + text
    return _Pending(entry.id, conversation.id, conversation.sender_id, shown)


def _deliver(pending: _Pending, deliver: Deliver, engine: Engine | None) -> SentMessage:
    if channel_of(pending.sender_id) == "web":
        return SentMessage(pending.entry_id, PUSH, "")
    try:
        delivery = deliver(pending.sender_id, pending.text)
    except Exception:  # a channel failing must not lose the record of what was said
        logger.exception("handoff delivery to a %s sender failed", channel_of(pending.sender_id))
        delivery = Delivery(DeliveryStatus.FAILED, "exception")
    detail = delivery.detail[:200]
    with unit_of_work(engine) as session:
        entry = session.get(HandoffEntry, pending.entry_id)
        if entry is not None:
            entry.delivery, entry.delivery_detail = delivery.status.value, detail
        if delivery.status is not DeliveryStatus.SENT:
            conversation = session.get(HandoffConversation, pending.conversation_id)
            if conversation is not None:
                conversation.channel_problem = f"{delivery.status.value}: {detail}"[:200]
    return SentMessage(pending.entry_id, delivery.status.value, detail)


def _resume(sender_id: str, conversation_id: int, resume: Resume, engine: Engine | None) -> None:
    try:
        resumed = resume(sender_id)
    except Exception:  # the Rasa server resumes it on the next message instead
        logger.exception("resuming a conversation after a handoff failed")
        resumed = False
    if resumed:
        mark_resumed(conversation_id=conversation_id, engine=engine)
