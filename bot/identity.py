"""Binding attempts and lock-outs, shared by every kind of binding (staff, account, student).

A sender with `MAX_FAILURES` failed attempts of one kind within `FAILURE_WINDOW` may not
try that kind again for `LOCKOUT` after the last of them. Attempts refused during a
lock-out are recorded too, but do not extend it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.clock import as_utc
from bot.models import BindingAttempt

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=30)
LOCKED_REASON = "locked"


def record_attempt(
    *,
    session: Session,
    sender_id: str,
    kind: str,
    succeeded: bool,
    reason: str = "",
    now: datetime | None = None,
) -> None:
    session.add(
        BindingAttempt(
            sender_id=sender_id,
            kind=kind,
            succeeded=succeeded,
            reason=reason,
            created_at=now or clock.now(),
        )
    )
    session.flush()


def locked_until(
    *, session: Session, sender_id: str, kind: str, now: datetime | None = None
) -> datetime | None:
    """When the sender's lock-out for `kind` ends, or None if they are not locked out."""
    now = now or clock.now()
    failures = [
        as_utc(moment)
        for moment in session.scalars(
            select(BindingAttempt.created_at)
            .where(
                BindingAttempt.sender_id == sender_id,
                BindingAttempt.kind == kind,
                BindingAttempt.succeeded.is_(False),
                BindingAttempt.reason != LOCKED_REASON,
                BindingAttempt.created_at > now - FAILURE_WINDOW - LOCKOUT,
            )
            .order_by(BindingAttempt.created_at)
        )
    ]
    until = None
    for first, last in zip(failures, failures[MAX_FAILURES - 1 :], strict=False):
        if last - first <= FAILURE_WINDOW and last + LOCKOUT > now:
            until = last + LOCKOUT
    return until


def is_locked_out(
    *, session: Session, sender_id: str, kind: str, now: datetime | None = None
) -> bool:
    """Whether the sender may not try to bind `kind` now; a refused try is recorded."""
    now = now or clock.now()
    if locked_until(session=session, sender_id=sender_id, kind=kind, now=now) is None:
        return False
    record_attempt(
        session=session,
        sender_id=sender_id,
        kind=kind,
        succeeded=False,
        reason=LOCKED_REASON,
        now=now,
    )
    return True
