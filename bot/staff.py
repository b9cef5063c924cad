"""Staff binding: one-time invite codes that bind a chat sender to a staff role.

An administrator runs `python -m bot staff invite --name 王芳 --role teacher`, which prints
a code such as ``K7QD-M9XA``; only its SHA-256 is stored. The staff member sends the code
in chat; it binds their sender id once, before it expires. Every attempt is recorded, and a
sender with too many failed attempts is locked out for a while (see `bot.identity`).
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.identity import is_locked_out, record_attempt
from bot.infra import clock
from bot.infra.clock import as_utc
from bot.infra.db import unit_of_work
from bot.models import StaffInvite, StaffMember, StaffRole, Teacher

# No 0/O, 1/I/L: codes are read aloud and typed from paper.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
DEFAULT_INVITE_HOURS = 72
ATTEMPT_KIND = "staff"

_CODE_IN_TEXT = re.compile(
    rf"(?<![A-Za-z0-9])([{CODE_ALPHABET}]{{4}})[-\s]?([{CODE_ALPHABET}]{{4}})(?![A-Za-z0-9])",
    re.IGNORECASE,
)

ROLE_NAMES = {
    StaffRole.STAFF: "工作人员",
    StaffRole.TEACHER: "教师",
    StaffRole.NURSE: "护士",
    StaffRole.SUPERVISOR: "主管",
}


class BindOutcome(str, enum.Enum):
    BOUND = "bound"
    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"
    LOCKED = "locked"


@dataclass(frozen=True)
class BindResult:
    outcome: BindOutcome
    member: StaffMember | None = None


def hash_code(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode("ascii")).hexdigest()


def normalize_code(code: str) -> str:
    """Upper case, no separators: "k7qd m9xa" and "K7QD-M9XA" are the same code."""
    return re.sub(r"[^A-Za-z0-9]", "", code).upper()


def find_code(text: str) -> str | None:
    """The invite code in a chat message, as XXXX-XXXX, or None."""
    for match in _CODE_IN_TEXT.finditer(text or ""):
        code = f"{match.group(1)}-{match.group(2)}".upper()
        if not code.replace("-", "").isdigit():
            return code
    return None


# At most this many characters beside an invite code ("绑定码 7K3X-SGDH") in a message that
# is the code.
_CODE_COMPANY_CHARS = 6


def is_invite_code(text: str) -> bool:
    """Whether `text` is an invite code, alone or with a few words ("码是7K3X-SGDH"), and
    asks nothing ("ABCD-2345 是这个吗" is a question)."""
    code = find_code(text)
    if code is None or re.search(r"[?？吗呢]", text):
        return False
    rest = re.sub(r"[\s\-]", "", text.upper()).replace(code.replace("-", ""), "", 1)
    return len(rest) <= _CODE_COMPANY_CHARS


def _new_code() -> str:
    while True:
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        # A letter in every code: a run of digits is an account or phone number.
        if not raw.isdigit():
            return f"{raw[:4]}-{raw[4:]}"


def create_invite(
    *,
    session: Session,
    name: str,
    role: StaffRole,
    hours: int = DEFAULT_INVITE_HOURS,
    now: datetime | None = None,
    teacher_id: int | None = None,
) -> tuple[StaffInvite, str]:
    """Store a new invite and return it with its code, which is not stored and shown once."""
    if not name.strip():
        raise ValueError("a staff member needs a name")
    if hours < 1:
        raise ValueError("an invite must be valid for at least one hour")
    code = _new_code()
    now = now or clock.now()
    invite = StaffInvite(
        code_hash=hash_code(code),
        name=name.strip(),
        role=role,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
        teacher_id=teacher_id,
    )
    session.add(invite)
    session.flush()
    return invite, code


def redeem_invite(
    *, session: Session, sender_id: str, code: str, now: datetime | None = None
) -> BindResult:
    """Bind `sender_id` with `code`. The outcome is returned, never raised, so that the
    attempt is recorded in the same transaction whatever happened."""
    now = now or clock.now()
    if is_locked_out(session=session, sender_id=sender_id, kind=ATTEMPT_KIND, now=now):
        return BindResult(BindOutcome.LOCKED)
    invite = session.scalars(
        select(StaffInvite).where(StaffInvite.code_hash == hash_code(code))
    ).first()
    outcome = BindOutcome.BOUND
    if invite is None:
        outcome = BindOutcome.INVALID
    elif invite.used_at is not None:
        outcome = BindOutcome.USED
    elif as_utc(invite.expires_at) <= now:
        outcome = BindOutcome.EXPIRED
    else:
        # Single use even when two senders race with the same code.
        claimed = session.execute(
            update(StaffInvite)
            .where(StaffInvite.id == invite.id, StaffInvite.used_at.is_(None))
            .values(used_at=now, used_by=sender_id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            outcome = BindOutcome.USED
    record_attempt(
        session=session,
        sender_id=sender_id,
        kind=ATTEMPT_KIND,
        succeeded=outcome is BindOutcome.BOUND,
        reason=outcome.value,
        now=now,
    )
    if outcome is not BindOutcome.BOUND or invite is None:
        return BindResult(outcome)
    member = session.scalars(select(StaffMember).where(StaffMember.sender_id == sender_id)).first()
    if member is None:
        member = StaffMember(sender_id=sender_id)
        session.add(member)
    member.name, member.role, member.invite_id, member.bound_at = (
        invite.name,
        invite.role,
        invite.id,
        now,
    )
    session.flush()
    if invite.teacher_id is not None:
        teacher = session.get(Teacher, invite.teacher_id)
        if teacher is not None:
            teacher.staff_member_id = member.id
            session.flush()
    return BindResult(BindOutcome.BOUND, member)


def teacher_of(*, session: Session, sender_id: str | None) -> Teacher | None:
    """The teacher record bound to this sender, if they are a bound teacher."""
    member = staff_member(session=session, sender_id=sender_id)
    if member is None:
        return None
    return session.scalars(select(Teacher).where(Teacher.staff_member_id == member.id)).first()


def staff_member(*, session: Session, sender_id: str | None) -> StaffMember | None:
    """The staff member bound to `sender_id`, or None for customers and unknown senders."""
    if not sender_id:
        return None
    return session.scalars(select(StaffMember).where(StaffMember.sender_id == sender_id)).first()


def list_staff(*, session: Session) -> list[StaffMember]:
    return list(session.scalars(select(StaffMember).order_by(StaffMember.bound_at)))


def revoke_staff(*, session: Session, sender_id: str) -> bool:
    """Unbind a sender; True if one was bound."""
    member = staff_member(session=session, sender_id=sender_id)
    if member is None:
        return False
    session.delete(member)
    session.flush()
    return True


@dataclass(frozen=True)
class StaffBinding:
    """What redeeming an invite code did; the member's name and role name once bound."""

    outcome: BindOutcome
    name: str = ""
    role_name: str = ""


def redeem_invite_code(*, sender_id: str, code: str) -> StaffBinding:
    """Bind `sender_id` with an invite code, in a unit of work of its own (the chat's
    staff binding; `redeem_invite` records the attempt whatever happens)."""
    with unit_of_work() as session:
        result = redeem_invite(session=session, sender_id=sender_id, code=code)
        member = result.member
        if member is None:
            return StaffBinding(result.outcome)
        return StaffBinding(result.outcome, member.name, ROLE_NAMES[member.role])


def is_staff(sender_id: str | None) -> bool:
    """Whether `sender_id` is bound as a staff member, in a unit of work of its own."""
    with unit_of_work() as session:
        return staff_member(session=session, sender_id=sender_id) is not None
