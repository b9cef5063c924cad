"""The one source of "now", so that rules about time can be tested at any moment.

`FROZEN_NOW` (an ISO timestamp with offset) freezes the clock for a whole process; it is
for end-to-end tests and demos only, and is logged loudly when set.
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)

_announced: set[str] = set()


def now() -> datetime:
    """The current time, timezone-aware (UTC unless FROZEN_NOW gives another offset)."""
    raw = os.environ.get("FROZEN_NOW")
    if raw:
        if raw not in _announced:
            logger.warning("the clock is frozen at %s (FROZEN_NOW)", raw)
            _announced.add(raw)
        return datetime.fromisoformat(raw)
    return datetime.now(timezone.utc)


def local_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def local_now() -> datetime:
    """Now in the service's time zone (Asia/Shanghai by default)."""
    return now().astimezone(local_zone())


def today() -> date:
    return local_now().date()


def as_utc(moment: datetime) -> datetime:
    """`moment` with a time zone: SQLite returns naive datetimes, and everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
