"""A complainant's conversation, read from Rasa's SQL tracker store for the dashboard.

Rasa keeps one row per event in its `events` table (`sender_id`, `type_name`,
`timestamp`, `data` as JSON). Only what was said is shown, masked: user and bot messages
of the session in which the complaint was filed, up to its filing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.infra.db import get_engine
from bot.infra.privacy import mask_personal_data

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
    *,
    tracker_url: str,
    sender_id: str,
    until: datetime | None = None,
    marker: str | None = None,
) -> Transcript:
    """What `sender_id` and the assistant said, masked (`bot.infra.privacy`); unavailable if the
    store is not.

    With `marker` (the complaint's ticket number) or `until` (when it was filed): only the
    conversation session in which the complaint was filed, up to the assistant's answer
    that gave the ticket (or up to `until`): a supervisor reviewing a complaint has no
    business with what the complainant said before or after it about other matters."""
    url = make_url(tracker_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return Transcript([], available=False, reason="no tracker store file")
    params: dict[str, object] = {"sender": sender_id, "limit": MAX_MESSAGES}
    try:
        with get_engine(tracker_url).connect() as connection:
            bounds = ""
            if marker is not None or until is not None:
                end_id = _end_of_filing(connection, params, marker, until)
                if end_id is None:
                    return Transcript([], available=True, reason="nothing before the filing")
                start_id = connection.execute(
                    text(
                        "SELECT MAX(id) FROM events WHERE sender_id = :sender "
                        "AND type_name = 'session_started' AND id <= :end_id"
                    ),
                    {**params, "end_id": end_id},
                ).scalar()
                params.update(end_id=end_id, start_id=start_id or 0)
                bounds = " AND id >= :start_id AND id <= :end_id"
            rows = connection.execute(
                text(
                    "SELECT type_name, timestamp, data FROM events "
                    "WHERE sender_id = :sender AND type_name IN ('user', 'bot')"
                    + bounds
                    + " ORDER BY id DESC LIMIT :limit"
                ),
                params,
            ).all()
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
        messages.append(Message(str(type_name), mask_personal_data(said), moment))
    return Transcript(messages, available=True)


def _end_of_filing(
    connection: Connection,
    params: dict[str, object],
    marker: str | None,
    until: datetime | None,
) -> int | None:
    """The id of the assistant's message that gave the ticket, else the last event up to
    `until`; None if neither is there."""
    if marker:
        found = connection.execute(
            text(
                "SELECT MIN(id) FROM events WHERE sender_id = :sender "
                "AND type_name = 'bot' AND data LIKE :marker"
            ),
            {**params, "marker": f"%{marker}%"},
        ).scalar()
        if found is not None:
            return int(found)
    if until is None:
        return None
    found = connection.execute(
        text("SELECT MAX(id) FROM events WHERE sender_id = :sender AND timestamp <= :until"),
        {**params, "until": until.timestamp()},
    ).scalar()
    return None if found is None else int(found)
