"""Rasa's SQL tracker store with its database work off the event loop.

Rasa 3.6's `SQLTrackerStore` declares `retrieve` and `save` async but runs its SQLAlchemy
queries (blocking) right on the Rasa server's event loop: while one conversation's events
are read or written, no other message is parsed or answered. Here the same queries, on the
same tables, run in a worker thread, so the server goes on with other conversations while
PostgreSQL (or SQLite) answers. A conversation's own messages are still handled one at a
time: Rasa holds the conversation's lock (the lock store) around retrieve and save.

endpoints.yml (the keys are those of Rasa's `type: SQL`):

    tracker_store:
      type: bot.tracker_store.ThreadedSQLTrackerStore
      dialect: postgresql
      url: 127.0.0.1
      db: rasa
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)


class ThreadedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` whose queries run in a worker thread (`asyncio.to_thread`)."""

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        events = await asyncio.to_thread(
            self._read_events, sender_id, fetch_events_from_all_sessions
        )
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _read_events(self, sender_id: str, fetch_events_from_all_sessions: bool) -> list[Any]:
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            return [json.loads(row.data) for row in rows]

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        # Nothing else touches this tracker while it is saved: Rasa awaits the save under
        # the conversation's lock, and every message works on a tracker of its own.
        await asyncio.to_thread(self._write_new_events, tracker)

    def _write_new_events(self, tracker: DialogueStateTracker) -> None:
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
        logger.debug("tracker of %s stored", tracker.sender_id)
