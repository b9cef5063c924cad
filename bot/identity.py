"""Binding attempts and lock-outs, shared by every kind of binding (staff, account, student).

Two counters, both in the database:

- per sender: a sender with `MAX_FAILURES` failed attempts of one kind within
  `FAILURE_WINDOW` may not try that kind again for `LOCKOUT` after the last of them;
- per target (the account or the student an attempt names, whoever sends it, on any
  channel): `TARGET_MAX_FAILURES` failed attempts on one target within `TARGET_WINDOW`
  lock online binding for that target until staff unlock it (`python -m bot gas unlock
  ACCOUNT`, `python -m bot school unlock STUDENT_NO`) or the failures age out of the
  window. A guesser with a fresh sender per try (new web chat cookies, many Telegram
  accounts) meets this one: four digits cannot be tried through.

An unknown target is counted like a known one, so a lock-out says nothing about whether
the account exists. Attempts refused during a lock-out are recorded too, but do not
count: a guesser cannot keep a target locked for ever by trying on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.infra import clock
from bot.infra.clock import as_utc
from bot.models import BindingAttempt

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=30)
TARGET_MAX_FAILURES = 5
TARGET_WINDOW = timedelta(hours=24)
LOCKED_REASON = "locked"
TARGET_LOCKED_REASON = "target_locked"
UNLOCKED_REASON = "unlocked"
NOT_COUNTED = (LOCKED_REASON, TARGET_LOCKED_REASON, UNLOCKED_REASON)


def record_attempt(
    *,
    session: Session,
    sender_id: str,
    kind: str,
    succeeded: bool,
    reason: str = "",
    now: datetime | None = None,
    target: str | None = None,
) -> None:
    session.add(
        BindingAttempt(
            sender_id=sender_id,
            kind=kind,
            target=target,
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
                BindingAttempt.reason.not_in(NOT_COUNTED),
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
    locked = locked_until(session=session, sender_id=sender_id, kind=kind, now=now) is not None
    return _refused_if(
        locked, session=session, sender_id=sender_id, kind=kind, reason=LOCKED_REASON, now=now
    )


def _refused_if(
    locked: bool,
    *,
    session: Session,
    sender_id: str,
    kind: str,
    reason: str,
    now: datetime,
    target: str | None = None,
) -> bool:
    """`locked`, after recording the refused try (a reason that is never counted)."""
    if locked:
        record_attempt(
            session=session,
            sender_id=sender_id,
            kind=kind,
            succeeded=False,
            reason=reason,
            now=now,
            target=target,
        )
    return locked


def target_failures(
    *, session: Session, kind: str, target: str, now: datetime | None = None
) -> int:
    """Failed attempts on `target` within `TARGET_WINDOW`, since staff last unlocked it."""
    now = now or clock.now()
    since = now - TARGET_WINDOW
    unlocked = session.scalar(
        select(func.max(BindingAttempt.created_at)).where(
            BindingAttempt.kind == kind,
            BindingAttempt.target == target,
            BindingAttempt.reason == UNLOCKED_REASON,
        )
    )
    if unlocked is not None and as_utc(unlocked) > as_utc(since):
        since = as_utc(unlocked)
    return int(
        session.scalar(
            select(func.count(BindingAttempt.id)).where(
                BindingAttempt.kind == kind,
                BindingAttempt.target == target,
                BindingAttempt.succeeded.is_(False),
                BindingAttempt.reason.not_in(NOT_COUNTED),
                BindingAttempt.created_at > since,
            )
        )
        or 0
    )


def target_locked(*, session: Session, kind: str, target: str, now: datetime | None = None) -> bool:
    """Whether online binding for `target` is locked (staff unlock it, or it expires)."""
    return target_failures(session=session, kind=kind, target=target, now=now) >= (
        TARGET_MAX_FAILURES
    )


def is_target_locked(
    *, session: Session, sender_id: str, kind: str, target: str, now: datetime | None = None
) -> bool:
    """`target_locked`; a refused try is recorded (not counted)."""
    now = now or clock.now()
    locked = target_locked(session=session, kind=kind, target=target, now=now)
    return _refused_if(
        locked,
        session=session,
        sender_id=sender_id,
        kind=kind,
        reason=TARGET_LOCKED_REASON,
        now=now,
        target=target,
    )


def unlock_target(
    *, session: Session, kind: str, target: str, actor: str, now: datetime | None = None
) -> bool:
    """Staff lift a target's lock-out; the failures before it no longer count. Returns
    whether it was locked."""
    now = now or clock.now()
    was_locked = target_locked(session=session, kind=kind, target=target, now=now)
    record_attempt(
        session=session,
        sender_id=actor,
        kind=kind,
        succeeded=True,
        reason=UNLOCKED_REASON,
        now=now,
        target=target,
    )
    return was_locked
