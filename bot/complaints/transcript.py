"""A complainant's conversation, read from Rasa's SQL tracker store for the dashboard.

Rasa keeps one row per event in its `events` table (`sender_id`, `type_name`,
`timestamp`, `data` as JSON). Only what was said is shown: user and bot messages.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.db import get_engine

logger = logging.getLogger(__name__)
MAX_MESSAGES = 200


@dataclass(frozen=True)
class Message:
    speaker: str  # "user" or "bot"
    text: str
    at: datetime


@dataclass(frozen=True)
class Transcript:
    messages: list[Message]
    available: bool
    reason: str = ""


def read_transcript(
    *, tracker_url: str, sender_id: str, until: datetime | None = None
) -> Transcript:
    """The last messages of `sender_id` up to `until`; unavailable if the store is not."""
    url = make_url(tracker_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return Transcript([], available=False, reason="no tracker store file")
    query = (
        "SELECT type_name, timestamp, data FROM events "
        "WHERE sender_id = :sender AND type_name IN ('user', 'bot')"
    )
    params: dict[str, object] = {"sender": sender_id, "limit": MAX_MESSAGES}
    if until is not None:
        query += " AND timestamp <= :until"
        params["until"] = until.timestamp()
    try:
        with get_engine(tracker_url).connect() as connection:
            rows = connection.execute(text(query + " ORDER BY id DESC LIMIT :limit"), params).all()
    except SQLAlchemyError as error:
        logger.warning("tracker store unavailable: %s", type(error).__name__)
        return Transcript([], available=False, reason=type(error).__name__)
    messages = []
    for type_name, timestamp, data in reversed(rows):
        try:
            said = str(json.loads(data or "{}").get("text") or "")
        except ValueError:
            said = ""
        moment = datetime.fromtimestamp(float(timestamp or 0), tz=timezone.utc)
        messages.append(Message(str(type_name), said, moment))
    return Transcript(messages, available=True)
