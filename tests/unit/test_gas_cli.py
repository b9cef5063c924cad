"""Staff commands for gas: CSV import (all or nothing, or --skip-bad), reminders sent
through a Telegram Bot API served on localhost, fault reports listed and moved on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot.gas.accounts import bind_account
from bot.gas.importer import import_files
from bot.gas.reminders import set_reminders
from bot.infra import clock
from bot.infra.db import create_engine, session_scope
from bot.infra.settings import PROJECT_ROOT
from bot.models import ArrearsReminder, GasAccount, GasBill, GasPayment, MeterReading
from tests.e2e.fake_telegram import FakeTelegram

DATA = PROJECT_ROOT / "tests" / "data" / "gas"


@pytest.fixture()
def gas_cli(database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("FROZEN_NOW", None)

    def run(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=PROJECT_ROOT,
            env={**env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run("db", "upgrade").returncode == 0
    return run


def count(engine, model) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_good_files_are_imported_and_a_second_import_updates_in_place(engine):
    for _ in range(2):
        with session_scope(engine) as session:
            report = import_files(
                session=session,
                accounts=DATA / "accounts.csv",
                readings=DATA / "readings.csv",
                bills=DATA / "bills.csv",
                payments=DATA / "payments.csv",
            )
        assert report.ok, report.errors
        assert report.imported == {"accounts": 3, "readings": 4, "bills": 3, "payments": 1}
    assert count(engine, GasAccount) == 3
    assert count(engine, MeterReading) == 4
    assert count(engine, GasPayment) == 1
    with session_scope(engine) as session:
        bill = session.scalars(select(GasBill).where(GasBill.period == "2026-09")).one()
        assert bill.amount_fen == 5220
        restaurant = session.scalars(
            select(GasAccount).where(GasAccount.account_no == "42000001")
        ).one()
        assert restaurant.kind.value == "commercial"


def test_every_bad_row_is_reported_with_its_line(engine):
    with session_scope(engine) as session:
        report = import_files(
            session=session,
            accounts=DATA / "accounts_bad.csv",
            readings=DATA / "no_columns.csv",
            bills=DATA / "bills_bad.csv",
        )
        session.rollback()
    assert report.imported["accounts"] == 1
    errors = "\n".join(report.errors)
    for expected in (
        "accounts_bad.csv:3: 户号应为 8 位数字",
        "accounts_bad.csv:4: kind 取值无效",
        "accounts_bad.csv:5: 营业厅 'NO-SUCH-HALL' 不存在",
        "accounts_bad.csv:6: phone 不是电话号码",
        "no_columns.csv:1: 缺少列 meter_no, read_on, reading, estimated",
        "bills_bad.csv:2: period 应为 YYYY-MM",
        "bills_bad.csv:3: usage_m3 应为非负整数",
        "bills_bad.csv:4: amount 应为非负金额",
        "bills_bad.csv:5: 户号 '99999999' 不存在",
        "bills_bad.csv:6: due_on 早于 issued_on",
    ):
        assert expected in errors
    assert count(engine, GasAccount) == 0


def test_the_command_imports_nothing_from_files_with_errors(gas_cli, database_url):
    args = ("gas", "import", str(DATA / "accounts_bad.csv"), str(DATA / "readings.csv"))
    refused = gas_cli(*args, str(DATA / "bills.csv"))
    assert refused.returncode == 1
    assert "nothing imported" in refused.stderr and "accounts_bad.csv:3" in refused.stderr
    engine = create_engine(database_url)
    try:
        assert count(engine, GasAccount) == 0
        skipped = gas_cli(*args, str(DATA / "bills.csv"), "--skip-bad")
        assert skipped.returncode == 0, skipped.stderr
        assert "skipped" in skipped.stdout
        # Only the one good account row; readings and bills of missing accounts are bad rows.
        assert count(engine, GasAccount) == 1
    finally:
        engine.dispose()


@pytest.fixture()
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    yield fake
    fake.close()


def test_remind_sends_once_per_period_through_telegram(gas_cli, database_url, telegram):
    assert gas_cli("db", "seed", "--demo").returncode == 0
    engine = create_engine(database_url)
    try:
        with session_scope(engine) as session:
            for sender, number, digits in (
                ("tg:555", "31001004", "2004"),  # two bills unpaid, one overdue
                ("web:abc", "31001012", "2012"),  # overdue, but web chat cannot be pushed to
                ("tg:556", "31001001", "2001"),  # paid up
            ):
                result = bind_account(
                    session=session,
                    sender_id=sender,
                    account_no=number,
                    phone_last4=digits,
                    now=clock.now(),
                )
                assert result.account_id is not None
                set_reminders(session=session, sender_id=sender, enabled=True)
        env = {"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_API_URL": telegram.url}
        env["FROZEN_NOW"] = "2026-11-25T15:45:00+08:00"
        first = gas_cli("gas", "remind", extra_env=env)
        assert first.returncode == 0, first.stderr
        assert "3 opted-in binding(s): 1 no_channel, 1 sent" in first.stdout
        [body] = telegram.sent("sendMessage")
        assert body["chat_id"] == 555
        assert "31001004" in body["text"] and "关闭欠费提醒" in body["text"]
        again = gas_cli("gas", "remind", extra_env=env)
        # Sent once per period; the undeliverable one is tried again.
        assert "1 no_channel, 1 skipped" in again.stdout and len(telegram.sent("sendMessage")) == 1
        with session_scope(engine) as session:
            logs = session.scalars(select(ArrearsReminder)).all()
            assert sorted((log.sender_id, log.status) for log in logs) == [
                ("tg:555", "sent"),
                ("web:abc", "no_channel"),
            ]
    finally:
        engine.dispose()


def test_fault_reports_are_listed_and_moved_on(gas_cli):
    assert gas_cli("db", "seed", "--demo").returncode == 0
    assert "0 report(s)" in gas_cli("gas", "faults").stdout
    missing = gas_cli("gas", "fault-update", "BX20261125-99999", "resolved")
    assert missing.returncode == 1 and "no report" in missing.stderr
