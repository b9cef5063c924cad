"""Gas customer use cases, one function each: binding accounts, bills, usage, meter
faults, reminders, business halls and the reading schedule.

Each function opens its own unit of work (`bot.infra.db.unit_of_work`), applies the rules of
`bot.gas` and returns plain data that stays valid after the session is closed; a failed
database leaves as `bot.infra.db.DatabaseUnavailable`. A function about one account answers
None when the sender does not hold that account: never another sender's account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.gas.accounts import BindResult, bind_account, bindings_of, bound_account, unbind_accounts
from bot.gas.billing import last_actual_reading, statement, usage_history
from bot.gas.faults import report_fault, reports_of
from bot.gas.halls import list_halls
from bot.gas.reminders import set_reminders
from bot.gas.schedule import NextReading, next_reading
from bot.gas.wording import reading_line, statement_text, usage_text
from bot.infra.db import unit_of_work
from bot.models import FaultState, MeterFaultKind, MeterLocation


@dataclass(frozen=True)
class HeldAccount:
    """An account the sender holds a binding to."""

    account_id: int
    account_no: str
    address: str


@dataclass(frozen=True)
class BillAnswer:
    """The account's statement, worded for the customer."""

    details: str
    has_arrears: bool


@dataclass(frozen=True)
class UsageAnswer:
    """Usage over the months asked (`months` is 0 when no bill is on record)."""

    account_no: str
    months: int
    details: str
    last_reading: str


@dataclass(frozen=True)
class FaultFiled:
    """A meter fault report just filed."""

    ticket_no: str
    account_no: str
    kind: MeterFaultKind


@dataclass(frozen=True)
class FaultStatus:
    """One of the sender's meter fault reports."""

    ticket_no: str
    account_no: str
    kind: MeterFaultKind
    state: FaultState
    resolution: str


@dataclass(frozen=True)
class Unbinding:
    """What unbinding did: the account unbound, or the accounts to choose from when the
    request fits several; neither when nothing (that fits) is bound."""

    unbound: str | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class HallInfo:
    """A business hall; `own` when one of the sender's accounts belongs to it."""

    name: str
    address: str
    phone: str
    opening_hours: str
    services: str
    own: bool


@dataclass(frozen=True)
class AccountSchedule:
    """When an account's meter is next read."""

    account_no: str
    upcoming: NextReading


def held_accounts(*, sender_id: str | None) -> list[HeldAccount]:
    """The accounts this sender holds, by 户号."""
    with unit_of_work() as session:
        return [
            HeldAccount(b.account_id, b.account.account_no, b.account.address)
            for b in bindings_of(session=session, sender_id=sender_id)
        ]


def bind_account_by_phone(
    *, sender_id: str, account_no: str, phone_last4: str, now: datetime, channel: str
) -> BindResult:
    """Bind the sender to the account if the phone on file ends in `phone_last4`
    (`bind_account`)."""
    with unit_of_work() as session:
        return bind_account(
            session=session,
            sender_id=sender_id,
            account_no=account_no,
            phone_last4=phone_last4,
            now=now,
            channel=channel,
        )


def bill(*, sender_id: str, account_id: str | None, today: date) -> BillAnswer | None:
    """The statement of a held account: bills, payments, arrears, the last reading."""
    with unit_of_work() as session:
        account = bound_account(session=session, sender_id=sender_id, account_id=account_id)
        if account is None:
            return None
        state = statement(session=session, account=account)
        return BillAnswer(statement_text(state, today), bool(state.arrears_fen))


def usage(*, sender_id: str, account_id: str | None, months: int) -> UsageAnswer | None:
    """A held account's usage over the last `months` billed months."""
    with unit_of_work() as session:
        account = bound_account(session=session, sender_id=sender_id, account_id=account_id)
        if account is None:
            return None
        bills = usage_history(session=session, account=account, months=months)
        if not bills:
            return UsageAnswer(account.account_no, 0, "", "")
        state = statement(session=session, account=account)
        return UsageAnswer(
            account.account_no, len(bills), usage_text(bills), reading_line(state.last_reading)
        )


def file_fault(
    *, sender_id: str, account_id: str | None, description: str, now: datetime
) -> FaultFiled | None:
    """File a meter fault report for a held account (`report_fault`)."""
    with unit_of_work() as session:
        account = bound_account(session=session, sender_id=sender_id, account_id=account_id)
        if account is None:
            return None
        report = report_fault(
            session=session,
            account=account,
            sender_id=sender_id,
            description=description,
            now=now,
        )
        return FaultFiled(report.ticket_no, account.account_no, report.kind)


def fault_reports(
    *, sender_id: str, account_id: str | None, ticket_no: str | None
) -> list[FaultStatus] | None:
    """The sender's fault reports (the one numbered `ticket_no`, or all), newest first;
    asked about a held account."""
    with unit_of_work() as session:
        if bound_account(session=session, sender_id=sender_id, account_id=account_id) is None:
            return None
        return [
            FaultStatus(r.ticket_no, r.account.account_no, r.kind, r.state, r.resolution or "")
            for r in reports_of(session=session, sender_id=sender_id, ticket_no=ticket_no)
        ]


def switch_reminders(*, sender_id: str, account_id: str | None, enabled: bool) -> str | None:
    """Turn the arrears reminders for a held account on or off; its 户号."""
    with unit_of_work() as session:
        account = bound_account(session=session, sender_id=sender_id, account_id=account_id)
        if account is None:
            return None
        set_reminders(session=session, sender_id=sender_id, enabled=enabled, account_id=account.id)
        return str(account.account_no)


def held_account_numbers(*, sender_id: str, account_id: str | None) -> list[str] | None:
    """The 户号 the sender holds, once `account_id` is confirmed held (after binding)."""
    with unit_of_work() as session:
        if bound_account(session=session, sender_id=sender_id, account_id=account_id) is None:
            return None
        return [b.account.account_no for b in bindings_of(session=session, sender_id=sender_id)]


def unbind(*, sender_id: str, account_no: str | None) -> Unbinding:
    """Remove the binding to the account named, or to the only one held."""
    with unit_of_work() as session:
        bindings = bindings_of(session=session, sender_id=sender_id)
        if account_no:
            bindings = [b for b in bindings if b.account.account_no == account_no]
        if len(bindings) != 1:
            return Unbinding(choices=tuple(b.account.account_no for b in bindings))
        unbound = bindings[0].account.account_no
        unbind_accounts(session=session, sender_id=sender_id, account_id=bindings[0].account_id)
        return Unbinding(unbound=unbound)


def business_halls(*, sender_id: str | None) -> list[HallInfo]:
    """Every business hall, those of the sender's accounts first."""
    with unit_of_work() as session:
        own = {
            b.account.business_hall_id for b in bindings_of(session=session, sender_id=sender_id)
        }
        halls = sorted(list_halls(session=session), key=lambda h: (h.id not in own, h.id))
        return [
            HallInfo(h.name, h.address, h.phone, h.opening_hours, h.services, h.id in own)
            for h in halls
        ]


def reading_schedules(*, sender_id: str | None, today: date) -> list[AccountSchedule]:
    """For each held account, when its meter is next read (抄表管理制度 4, 5)."""
    with unit_of_work() as session:
        schedules = []
        for binding in bindings_of(session=session, sender_id=sender_id):
            account = binding.account
            meter = account.meters[0] if account.meters else None
            last = last_actual_reading(session=session, account=account)
            upcoming = next_reading(
                kind=account.kind,
                location=meter.location if meter else MeterLocation.OUTDOOR,
                last_read_on=last.read_on if last else None,
                today=today,
            )
            schedules.append(AccountSchedule(account.account_no, upcoming))
        return schedules
