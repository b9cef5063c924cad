"""When the meter reader comes next (抄表管理制度 4 and 5).

Commercial meters are read on the 22nd-23rd of every month; residential meters once a
month; residential meters hung indoors (户内挂表) once a quarter. The regulation fixes the
commercial dates, so they do not move for weekends. Residential dates follow the last
reading the reader actually saw, a month (or a quarter) on, kept within short months.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from datetime import date

from bot.models import GasAccountKind, MeterLocation

COMMERCIAL_DAYS = (22, 23)


class ReadingCycle(str, enum.Enum):
    COMMERCIAL_MONTHLY = "commercial_monthly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


@dataclass(frozen=True)
class NextReading:
    cycle: ReadingCycle
    earliest: date | None  # None: no reading on record to count from
    latest: date | None


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def reading_cycle(kind: GasAccountKind, location: MeterLocation) -> ReadingCycle:
    if kind is GasAccountKind.COMMERCIAL:
        return ReadingCycle.COMMERCIAL_MONTHLY
    return ReadingCycle.QUARTERLY if location is MeterLocation.INDOOR else ReadingCycle.MONTHLY


def next_reading(
    *,
    kind: GasAccountKind,
    location: MeterLocation,
    last_read_on: date | None,
    today: date,
) -> NextReading:
    """The next reading on or after `today` for a meter of this kind and place."""
    cycle = reading_cycle(kind, location)
    if cycle is ReadingCycle.COMMERCIAL_MONTHLY:
        first, last = COMMERCIAL_DAYS
        month_start = today.replace(day=1)
        if today.day > last:
            month_start = add_months(month_start, 1)
        return NextReading(cycle, month_start.replace(day=first), month_start.replace(day=last))
    if last_read_on is None:
        return NextReading(cycle, None, None)
    step = 3 if cycle is ReadingCycle.QUARTERLY else 1
    periods = 1
    while add_months(last_read_on, step * periods) < today:
        periods += 1
    expected = add_months(last_read_on, step * periods)
    return NextReading(cycle, expected, expected)
