"""Binding a chat sender to a gas account: 户号, then the last 4 digits of the phone on file.

Nothing about an account is revealed before both match: an unknown 户号 and wrong digits
get the same answer. An account is bound to one sender at a time; a second sender who
knows the digits is told to have the first unbind, or to come to the business hall.
Attempts count towards the shared lock-outs (`bot.identity`): per sender, and per 户号
across all senders; when a 户号 gets locked, whoever holds it is told (`alert_senders`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.identity import (
    TARGET_MAX_FAILURES,
    is_locked_out,
    is_target_locked,
    record_attempt,
    target_failures,
)
from bot.models import GasAccount, GasAccountBinding
from bot.reading import find_last_four, numbers_in, to_digits

ATTEMPT_KIND = "gas_account"
ACCOUNT_NO_LENGTH = 8
ACCOUNT_NO = re.compile(rf"(?<!\d)\d{{{ACCOUNT_NO_LENGTH}}}(?!\d)")
_NOT_DIGIT = re.compile(r"\D")


class BindOutcome(str, enum.Enum):
    BOUND = "bound"
    ALREADY = "already"
    NO_MATCH = "no_match"
    BOUND_ELSEWHERE = "bound_elsewhere"
    LOCKED = "locked"
    # Too many failures on this 户号 from anyone: online binding paused (bind at the hall).
    TARGET_LOCKED = "target_locked"


@dataclass(frozen=True)
class BindResult:
    outcome: BindOutcome
    account_id: int | None = None
    # Senders holding the account, to be told that binding it was just locked.
    alert_senders: tuple[str, ...] = ()


def find_account_no(text: str) -> str | None:
    """The 8-digit 户号 in `text`, however written ("3100 1006", full-width digits,
    "三一零零一零零六"), beside other numbers or not."""
    found = numbers_in(text, min_length=ACCOUNT_NO_LENGTH, max_length=ACCOUNT_NO_LENGTH)
    return found[0] if found else None


def find_phone_digits(text: str) -> str | None:
    """The last 4 digits of a phone number, given alone or as the whole number; the 户号
    given in the same message ("31001006 尾号2006") is not taken for them."""
    account_no = find_account_no(text)
    rest = to_digits(text).replace(account_no, " ") if account_no else text
    return find_last_four(rest)


def _digits_match(on_file: str, last4: str) -> bool:
    return len(last4) == 4 and _NOT_DIGIT.sub("", on_file).endswith(last4)


def bind_account(
    *,
    session: Session,
    sender_id: str,
    account_no: str,
    phone_last4: str,
    now: datetime,
    channel: str = "",
) -> BindResult:
    """Bind `sender_id` to the account if the phone on file ends with `phone_last4`."""
    if is_locked_out(session=session, sender_id=sender_id, kind=ATTEMPT_KIND, now=now):
        return BindResult(BindOutcome.LOCKED)
    account_no = account_no.strip()[: ACCOUNT_NO_LENGTH * 2]
    if is_target_locked(
        session=session, sender_id=sender_id, kind=ATTEMPT_KIND, target=account_no, now=now
    ):
        return BindResult(BindOutcome.TARGET_LOCKED)
    account = session.scalars(select(GasAccount).where(GasAccount.account_no == account_no)).first()
    matched = account is not None and _digits_match(account.phone, phone_last4)
    binding = None
    if account is not None and matched:
        binding = session.scalars(
            select(GasAccountBinding).where(GasAccountBinding.account_id == account.id)
        ).first()
    elsewhere = binding is not None and binding.sender_id != sender_id
    record_attempt(
        session=session,
        sender_id=sender_id,
        kind=ATTEMPT_KIND,
        # Knowing the digits is not a failed guess, even when another sender holds the account.
        succeeded=matched,
        reason="bound_elsewhere" if elsewhere else ("bound" if matched else "no_match"),
        now=now,
        target=account_no,
    )
    if account is None or not matched:
        failures = target_failures(session=session, kind=ATTEMPT_KIND, target=account_no, now=now)
        if failures >= TARGET_MAX_FAILURES:
            holders = () if account is None else _holders(session, account.id)
            return BindResult(BindOutcome.TARGET_LOCKED, alert_senders=holders)
        return BindResult(BindOutcome.NO_MATCH)
    if elsewhere:
        return BindResult(BindOutcome.BOUND_ELSEWHERE)
    if binding is not None:
        return BindResult(BindOutcome.ALREADY, account.id)
    session.add(
        GasAccountBinding(sender_id=sender_id, account_id=account.id, channel=channel, bound_at=now)
    )
    session.flush()
    return BindResult(BindOutcome.BOUND, account.id)


def _holders(session: Session, account_id: int) -> tuple[str, ...]:
    return tuple(
        session.scalars(
            select(GasAccountBinding.sender_id).where(GasAccountBinding.account_id == account_id)
        )
    )


def bindings_of(*, session: Session, sender_id: str | None) -> list[GasAccountBinding]:
    """This sender's bound accounts, by 户号."""
    if not sender_id:
        return []
    return list(
        session.scalars(
            select(GasAccountBinding)
            .join(GasAccount, GasAccount.id == GasAccountBinding.account_id)
            .where(GasAccountBinding.sender_id == sender_id)
            .order_by(GasAccount.account_no)
        )
    )


def bound_account(
    *, session: Session, sender_id: str | None, account_id: int | str | None
) -> GasAccount | None:
    """The account `account_id` if this sender holds it; never another sender's."""
    for binding in bindings_of(session=session, sender_id=sender_id):
        if str(binding.account_id) == str(account_id):
            return binding.account
    return None


def unbind_accounts(
    *, session: Session, sender_id: str, account_id: int | str | None = None
) -> int:
    """Remove this sender's bindings (to one account, or all); returns how many."""
    removed = 0
    for binding in bindings_of(session=session, sender_id=sender_id):
        if account_id is None or str(binding.account_id) == str(account_id):
            session.delete(binding)
            removed += 1
    session.flush()
    return removed


def mask_account_no(account_no: str) -> str:
    """E.g. 31000107 -> 3100****07: enough to tell accounts apart, not to bind one."""
    return f"{account_no[:4]}****{account_no[-2:]}" if len(account_no) > 6 else "****"


def describe_account(account: GasAccount) -> str:
    """How a bound customer sees one of their accounts: 户号 and a short address."""
    return f"{account.account_no}({account.address})"
