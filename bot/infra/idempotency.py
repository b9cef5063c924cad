"""Keys that make a write idempotent.

A confirmed complaint or booking is written once however often its confirmation arrives:
the Rasa server may time out waiting for the action server and the user confirm again, a
button may be pressed twice, a process may die between the write and the answer. The
row stores the key of the request; the key is unique in the database, so a repeat finds
the row that exists (also when two repeats race) and answers with it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

logger = logging.getLogger(__name__)

T = TypeVar("T")


def request_key(kind: str, sender_id: str, day: date, *fields: object) -> str:
    """The SHA-256 of what makes a request the same request: its kind, who asked, the
    local day it was made and what it says. The same words from the same sender on the
    same day are one request."""
    payload = json.dumps(
        [kind, sender_id, day.isoformat(), *[str(field) for field in fields]],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def retry_on_conflict(unit_of_work: Callable[[], T]) -> T:
    """Run a unit of work (its own session and transaction); run it once more if it lost a
    race on a unique request key, when the second run finds the winner's row."""
    try:
        return unit_of_work()
    except IntegrityError:
        logger.info("a repeated request lost a race on its key; looking up the winner")
        return unit_of_work()
