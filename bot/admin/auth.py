"""Dashboard accounts: argon2 password hashes, sign-in with throttling, CSRF tokens.

`MAX_FAILURES` wrong passwords for one user name within `FAILURE_WINDOW` lock that name
for `LOCKOUT` after the last of them, whether or not the name exists, so the answer
never tells which names do. A locked name is refused even with the right password;
attempts refused while locked are not counted, so a guesser cannot keep a name locked
for ever by trying on.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.admin.sessions import end_sessions
from bot.complaints.filing import to_utc
from bot.infra.clock import as_utc
from bot.models import DashboardLoginAttempt, DashboardUser

MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10
_hasher = PasswordHasher()
# Verified against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class DeskRole(str, enum.Enum):
    """What a desk account is for; `RIGHTS` says which pages each role opens."""

    AGENT = "agent"  # handles complaints
    ANALYST = "analyst"  # the operators' loop: conversations, review inbox, figures
    SUPERVISOR = "supervisor"  # both


class DeskRight(str, enum.Enum):
    COMPLAINTS = "complaints"  # the complaint list, a complaint, its steps, statistics, CSV
    OPERATIONS = "operations"  # conversations and transcripts, the review inbox, analytics


RIGHTS: dict[DeskRole, frozenset[DeskRight]] = {
    DeskRole.AGENT: frozenset({DeskRight.COMPLAINTS}),
    DeskRole.ANALYST: frozenset({DeskRight.OPERATIONS}),
    DeskRole.SUPERVISOR: frozenset({DeskRight.COMPLAINTS, DeskRight.OPERATIONS}),
}


def rights_of(user: DashboardUser) -> frozenset[DeskRight]:
    """What `user` may open; nothing for a role this version does not know."""
    try:
        return RIGHTS[DeskRole(user.role)]
    except ValueError:
        return frozenset()


class LoginOutcome(str, enum.Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: DashboardUser | None = None


class AccountError(ValueError):
    """A user name or password that cannot be used."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    display_name: str = "",
    role: DeskRole | None = None,
    department: str | None = None,
) -> DashboardUser:
    """Create a desk account (a complaint agent unless `role` says otherwise), or set a new
    password (and, if given, a role) for an existing one; `department`: the handoff queue
    the user answers (bot/handoff; "" for none)."""
    username = username.strip()
    if not username or len(username) > 64 or any(ch.isspace() for ch in username):
        raise AccountError("a user name is 1-64 characters without spaces")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    user = session.scalars(select(DashboardUser).where(DashboardUser.username == username)).first()
    if user is None:
        user = DashboardUser(username=username)
        session.add(user)
    user.password_hash = hash_password(password)
    user.display_name = (display_name or user.display_name or username)[:64]
    user.is_active = True
    if role is not None or not user.role:
        user.role = (role or DeskRole.AGENT).value
    if department is not None:
        user.department = department
    session.flush()
    return user


def grant_role(*, session: Session, username: str, role: DeskRole) -> bool:
    """Give `username` the role `role` (its pages change with its next request); False
    if there is no such user."""
    user = session.scalars(
        select(DashboardUser).where(DashboardUser.username == username.strip())
    ).first()
    if user is None:
        return False
    user.role = role.value
    session.flush()
    return True


def locked_until(*, session: Session, username: str, now: datetime) -> datetime | None:
    failures = [
        as_utc(moment)
        for moment in session.scalars(
            select(DashboardLoginAttempt.created_at)
            .where(
                DashboardLoginAttempt.username == username,
                DashboardLoginAttempt.succeeded.is_(False),
                DashboardLoginAttempt.created_at > to_utc(now) - FAILURE_WINDOW - LOCKOUT,
            )
            .order_by(DashboardLoginAttempt.created_at)
        )
    ]
    until = None
    for first, last in zip(failures, failures[MAX_FAILURES - 1 :], strict=False):
        if last - first <= FAILURE_WINDOW and last + LOCKOUT > as_utc(now):
            until = last + LOCKOUT
    return until


def authenticate(
    *, session: Session, username: str, password: str, client: str, now: datetime
) -> LoginResult:
    """Check a sign-in; every attempt that is checked is recorded."""
    username = username.strip()[:64]
    if locked_until(session=session, username=username, now=now) is not None:
        return LoginResult(LoginOutcome.LOCKED)
    user = session.scalars(select(DashboardUser).where(DashboardUser.username == username)).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and bool(user.is_active)
    except (VerificationError, InvalidHashError):
        ok = False
    session.add(
        DashboardLoginAttempt(
            username=username, client=client[:64], succeeded=ok, created_at=to_utc(now)
        )
    )
    if not ok or user is None:
        session.flush()
        return LoginResult(LoginOutcome.WRONG)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = to_utc(now)
    session.flush()
    return LoginResult(LoginOutcome.OK, user)


def session_stamp(user: DashboardUser) -> str:
    """Kept in the session cookie; it changes with the password, so a new password ends
    every session signed in with the old one."""
    return hashlib.sha256(user.password_hash.encode("utf-8")).hexdigest()[:32]


def signed_in_user(
    *, session: Session, username: str | None, stamp: str | None
) -> DashboardUser | None:
    """The user a session cookie names, if still active and the password unchanged since."""
    if not username or not stamp:
        return None
    user = session.scalars(select(DashboardUser).where(DashboardUser.username == username)).first()
    if user is None or not user.is_active:
        return None
    return user if hmac.compare_digest(session_stamp(user), stamp) else None


def deactivate_user(*, session: Session, username: str) -> bool:
    """Take away a user's access, signed-in sessions included; False if no such user."""
    user = session.scalars(
        select(DashboardUser).where(DashboardUser.username == username.strip())
    ).first()
    if user is None:
        return False
    user.is_active = False
    end_sessions(session=session, username=user.username)
    session.flush()
    return True


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
