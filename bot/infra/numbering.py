"""Booking and ticket numbers that cannot be guessed in sequence.

A number reads as before (prefix, local day, five digits: SY20261125-48213), but the five
digits are drawn at random among those not used that day, so knowing one number tells
nothing about the others. The numbers are not a secret: every look-up still checks who
may see the record (`bot.visits.booking.may_see`, `complaint_for_sender`, `reports_of`).
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

DIGITS = 5
_TRIES = 50


def random_number(session: Session, column: Any, prefix: str, day: date) -> str:
    """`prefix` + day + 5 random digits, not yet in `column` (a unique column).

    Call it before the unit of work's first write where you can (on SQLite a read inside a
    write transaction that others wait on cannot wait its turn); pending objects are not
    flushed by it."""
    for _ in range(_TRIES):
        number = f"{prefix}{day:%Y%m%d}-{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
        with session.no_autoflush:
            taken = session.scalar(select(column).where(column == number).limit(1))
        if taken is None:
            return number
    raise RuntimeError(f"no free {prefix} number left for {day}")
