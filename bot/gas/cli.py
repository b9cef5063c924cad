"""`python -m bot gas ...`: staff commands for the gas service."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.infra import clock
from bot.infra.db import session_scope


def _import(args: argparse.Namespace) -> int:
    from bot.gas.importer import import_files

    with session_scope() as session:
        report = import_files(
            session=session,
            accounts=args.accounts,
            readings=args.readings,
            bills=args.bills,
            payments=args.payments,
        )
        for error in report.errors:
            print(f"error: {error}", file=sys.stderr)
        counts = ", ".join(f"{count} {kind}" for kind, count in report.imported.items())
        if report.errors and not args.skip_bad:
            session.rollback()
            print(
                f"{len(report.errors)} bad row(s): nothing imported "
                "(fix them, or use --skip-bad to import the good rows)",
                file=sys.stderr,
            )
            return 1
        skipped = f"; skipped {len(report.errors)} bad row(s)" if report.errors else ""
        print(f"imported: {counts}{skipped}")
    return 0


def _remind(args: argparse.Namespace) -> int:
    from bot.gas.reminders import opted_in, remind_one
    from bot.models import GasAccountBinding
    from bot.notify import deliver

    with session_scope() as session:
        binding_ids = [binding.id for binding in opted_in(session=session)]
    tally: dict[str, int] = {}
    for binding_id in binding_ids:
        try:
            with session_scope() as session:
                binding = session.get(GasAccountBinding, binding_id)
                if binding is None:
                    continue
                result = remind_one(
                    session=session,
                    binding=binding,
                    deliver=deliver,
                    now=clock.now(),
                    today=clock.today(),
                )
        except IntegrityError:  # another run logged this account's period first
            tally["skipped"] = tally.get("skipped", 0) + 1
            continue
        if result is not None:
            tally[result.status] = tally.get(result.status, 0) + 1
            print(f"{result.account_no[:4]}****  {result.period}  {result.status}")
    summary = ", ".join(f"{count} {status}" for status, count in sorted(tally.items()))
    print(f"{len(binding_ids)} opted-in binding(s): {summary or 'nothing due'}")
    return 0


def _unlock(args: argparse.Namespace) -> int:
    from bot.gas.accounts import ATTEMPT_KIND, find_account_no
    from bot.identity import unlock_target

    account_no = find_account_no(args.account) or args.account.strip()
    with session_scope() as session:
        was_locked = unlock_target(
            session=session, kind=ATTEMPT_KIND, target=account_no, actor="staff:cli"
        )
    print("online binding unlocked" if was_locked else "was not locked; failures reset")
    return 0


def _faults(args: argparse.Namespace) -> int:
    from bot.gas.faults import KIND_LABELS, STATE_LABELS, open_reports

    with session_scope() as session:
        reports = open_reports(session=session, include_resolved=args.all)
        for report in reports:
            print(
                f"{report.ticket_no}  {report.account.account_no}  {KIND_LABELS[report.kind]}"
                f"  {STATE_LABELS[report.state]}  {_local(report.created_at):%Y-%m-%d %H:%M}"
                f"  {report.description}"
            )
        print(f"{len(reports)} report(s)")
    return 0


def _fault_update(args: argparse.Namespace) -> int:
    from bot.gas.faults import update_report
    from bot.models import FaultState

    with session_scope() as session:
        report = update_report(
            session=session,
            ticket_no=args.ticket,
            state=FaultState(args.state),
            resolution=args.note or "",
            now=clock.now(),
        )
        if report is None:
            print(f"no report {args.ticket}", file=sys.stderr)
            return 1
        print(f"{report.ticket_no}: {report.state.value}")
    return 0


def _local(moment: datetime) -> datetime:
    return clock.as_utc(moment).astimezone(clock.local_zone())


def register(groups: Any) -> None:
    """Add the `gas` command group to the top-level parser's subparsers."""
    gas = groups.add_parser("gas", help="gas customers").add_subparsers(
        dest="command", required=True
    )
    load = gas.add_parser("import", help="import accounts, readings and bills from CSV")
    load.add_argument("accounts", type=Path)
    load.add_argument("readings", type=Path)
    load.add_argument("bills", type=Path)
    load.add_argument("--payments", type=Path, help="payments.csv (optional)")
    load.add_argument("--skip-bad", action="store_true", help="import the good rows anyway")
    load.set_defaults(handler=_import)
    remind = gas.add_parser("remind", help="send arrears reminders to opted-in customers")
    remind.set_defaults(handler=_remind)
    unlock = gas.add_parser(
        "unlock", help="allow online binding of an account again after failed attempts"
    )
    unlock.add_argument("account", help="the 8-digit 户号")
    unlock.set_defaults(handler=_unlock)
    faults = gas.add_parser("faults", help="list meter fault reports (open ones by default)")
    faults.add_argument("--all", action="store_true", help="include resolved reports")
    faults.set_defaults(handler=_faults)
    update = gas.add_parser("fault-update", help="move a fault report on")
    update.add_argument("ticket")
    update.add_argument("state", choices=["open", "in_progress", "resolved"])
    update.add_argument("--note", help="what was found or done (the customer sees it)")
    update.set_defaults(handler=_fault_update)
