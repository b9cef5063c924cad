"""Rasa's SQL tracker store, with its database work off the event loop and lighter.

Rasa 3.6's `SQLTrackerStore` declares `retrieve` and `save` async but runs its queries
(blocking) on the Rasa server's event loop, through the ORM: per turn a session, an ORM
query to read the conversation, another to count what is stored, an ORM flush to add the
new events and a rollback on close. While that runs, no other message is parsed or
answered, and under load the ORM's bookkeeping is a quarter of the server's CPU time
(`make bench`). Here the same two statements run as plain SQLAlchemy Core statements
(compiled once, cached) in worker threads: the server goes on with other conversations
while the database answers (SQLite, which writes one at a time anyway, gets one thread).
The table, its rows and the session rule (`retrieve` returns the events from the latest
session start on) are Rasa's, so either store reads what the other wrote. A
conversation's own messages are still handled one at a time: Rasa holds the
conversation's lock (the lock store) around retrieve and save.

endpoints.yml (the keys are those of Rasa's `type: SQL`):

    tracker_store:
      type: bot.infra.tracker_store.ThreadedSQLTrackerStore
      dialect: postgresql
      url: 127.0.0.1
      db: rasa
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses
from sqlalchemy import and_, bindparam, create_engine, func, insert, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Select

from bot.dialogue.tracker import StateCachingTracker
from bot.infra.keys import private_file

logger = logging.getLogger(__name__)

T = TypeVar("T")


def _session_events(table: Any, sender: Any, columns: list[Any]) -> Select:
    """The rows of `sender`'s latest session (all rows when no session was started),
    in the order they were written; Rasa's own rule (`SQLTrackerStore._event_query`)."""
    session_start = (
        select(func.max(table.c.timestamp))
        .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name)
        .scalar_subquery()
    )
    return (
        select(*columns)
        .where(
            and_(
                table.c.sender_id == sender,
                or_(table.c.timestamp >= session_start, session_start.is_(None)),
            )
        )
        .order_by(table.c.id)
    )


@lru_cache(maxsize=1)
def _event_classes() -> dict[str, type[Event]]:
    """Event type name -> class, the first found as `Event.resolve_by_type` finds it."""
    classes: dict[str, type[Event]] = {}
    for cls in all_subclasses(Event):
        classes.setdefault(cls.type_name, cls)
    return classes


def deserialise_events(stored: list[dict[str, Any]]) -> list[Event]:
    """`rasa.shared.core.events.deserialise_events`, without walking every Event subclass
    for every event (a twentieth of the Rasa server's time in `make bench`)."""
    found = []
    for data in stored:
        if "event" not in data:
            continue
        cls = _event_classes().get(data["event"])
        event = cls._from_parameters(data) if cls else Event.from_parameters(data)
        if event is not None:
            found.append(event)
    return found


class ThreadedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` whose reads and writes are Core statements in worker threads."""

    engine: Engine

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        engine: Engine = self.engine
        database = engine.url.database
        if engine.dialect.name == "sqlite" and database and database != ":memory:":
            private_file(Path(database))  # what users said: for no other local user
            # SQLAlchemy 1.4 opens a new connection to a SQLite file for every statement
            # (NullPool): two per message. Kept and reused instead, as 2.0 does.
            engine.dispose()
            engine = create_engine(
                engine.url, poolclass=QueuePool, connect_args={"check_same_thread": False}
            )
            self.engine = engine
            self.sessionmaker = sessionmaker(bind=engine)
        table = self.SQLEvent.__table__
        sender = bindparam("sender_id")
        self._read_session = _session_events(table, sender, [table.c.data])
        self._read_all = (
            select(table.c.data).where(table.c.sender_id == sender).order_by(table.c.id)
        )
        self._count_session = select(func.count()).select_from(
            _session_events(table, sender, [table.c.id]).subquery()
        )
        self._insert = insert(table)
        # SQLite takes one writer at a time: its work goes to one thread, in turn, rather
        # than to threads that would wait on the file's lock. Other databases: the loop's
        # default pool of threads, each with a connection of the engine's pool.
        self._executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracker-store")
            if self.engine.dialect.name == "sqlite"
            else None
        )

    async def _in_thread(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        query = self._read_all if fetch_events_from_all_sessions else self._read_session
        events = await self._in_thread(self._read_events, query, sender_id)
        if not self.domain or not events:
            return None
        return StateCachingTracker.from_events(sender_id, events, self.domain.slots)

    def init_tracker(self, sender_id: str) -> DialogueStateTracker:
        """A new conversation's tracker (Rasa's `TrackerStore.init_tracker`, of the kind
        that works out its past states once per event)."""
        return StateCachingTracker(
            sender_id, self.domain.slots, max_event_history=self.max_event_history
        )

    def _read_events(self, query: Select, sender_id: str) -> list[Event]:
        with self.engine.connect() as connection:
            rows = connection.execute(query, {"sender_id": sender_id}).scalars().all()
        return deserialise_events([json.loads(data) for data in rows])

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        # Nothing else touches this tracker while it is saved: Rasa awaits the save under
        # the conversation's lock, and every message works on a tracker of its own.
        await self._in_thread(self._write_new_events, tracker)

    def _write_new_events(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        with self.engine.begin() as connection:
            stored = connection.execute(self._count_session, {"sender_id": sender_id}).scalar()
            rows = [_row(sender_id, event.as_dict()) for event in list(tracker.events)[stored:]]
            if rows:
                connection.execute(self._insert, rows)
        logger.debug("tracker of %s stored (%d new events)", sender_id, len(rows))


def _row(sender_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A row of Rasa's `events` table, filled as `SQLTrackerStore.save` fills it."""
    return {
        "sender_id": sender_id,
        "type_name": data.get("event"),
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
