"""The gas use cases (bot.gas.service) on the demo database: binding, then bills, usage,
faults, reminders and unbinding, each only for an account the sender holds.

Demo accounts (data/demo/gas.yml): 31001001 phone …2001, paid up; 31001004 phone …2004,
last 2 bills unpaid.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bot.gas import service
from bot.gas.accounts import BindOutcome
from bot.infra import db
from bot.infra import settings as bot_settings
from bot.infra.db import DatabaseUnavailable
from bot.models import FaultState, MeterFaultKind

NOW = datetime(2026, 11, 25, 7, 45, tzinfo=timezone.utc)  # 15:45 in Shanghai
TODAY = date(2026, 11, 25)
SENDER = "tg:customer"


def bind(account_no: str, digits: str, sender: str = SENDER) -> str:
    result = service.bind_account_by_phone(
        sender_id=sender, account_no=account_no, phone_last4=digits, now=NOW, channel="t"
    )
    assert result.outcome is BindOutcome.BOUND
    return str(result.account_id)


def test_bound_accounts_are_listed_by_number_with_their_address(service_database):
    assert service.held_accounts(sender_id=SENDER) == []
    bind("31001004", "2004")
    bind("31001001", "2001")
    held = service.held_accounts(sender_id=SENDER)
    assert [account.account_no for account in held] == ["31001001", "31001004"]
    assert all(account.address for account in held)


def test_a_wrong_phone_binds_nothing(service_database):
    result = service.bind_account_by_phone(
        sender_id=SENDER, account_no="31001001", phone_last4="9999", now=NOW, channel="t"
    )
    assert result.outcome is BindOutcome.NO_MATCH
    assert service.held_accounts(sender_id=SENDER) == []


def test_account_answers_are_given_only_to_a_holder(service_database):
    account_id = bind("31001004", "2004")
    other = "tg:someone-else"
    assert service.bill(sender_id=other, account_id=account_id, today=TODAY) is None
    assert service.usage(sender_id=other, account_id=account_id, months=3) is None
    assert service.fault_reports(sender_id=other, account_id=account_id, ticket_no=None) is None
    assert service.switch_reminders(sender_id=other, account_id=account_id, enabled=True) is None
    assert service.held_account_numbers(sender_id=other, account_id=account_id) is None
    assert (
        service.file_fault(sender_id=other, account_id=account_id, description="表不走", now=NOW)
        is None
    )


def test_a_bill_in_arrears_says_so_and_usage_names_the_account(service_database):
    arrears = bind("31001004", "2004")
    paid = bind("31001001", "2001")
    owing = service.bill(sender_id=SENDER, account_id=arrears, today=TODAY)
    settled = service.bill(sender_id=SENDER, account_id=paid, today=TODAY)
    assert owing is not None and owing.has_arrears and owing.details
    assert settled is not None and not settled.has_arrears
    used = service.usage(sender_id=SENDER, account_id=paid, months=3)
    assert used is not None
    assert (used.account_no, used.months) == ("31001001", 3)
    assert used.details and used.last_reading


def test_a_fault_filed_is_found_by_its_ticket(service_database):
    account_id = bind("31001001", "2001")
    filed = service.file_fault(
        sender_id=SENDER, account_id=account_id, description="燃气表不走了", now=NOW
    )
    assert filed is not None
    assert filed.account_no == "31001001"
    assert filed.kind is not MeterFaultKind.OTHER
    [status] = (
        service.fault_reports(sender_id=SENDER, account_id=account_id, ticket_no=filed.ticket_no)
        or []
    )
    assert (status.ticket_no, status.state, status.resolution) == (
        filed.ticket_no,
        FaultState.OPEN,
        "",
    )


def test_reminders_switch_for_the_account_named(service_database):
    account_id = bind("31001004", "2004")
    assert service.switch_reminders(sender_id=SENDER, account_id=account_id, enabled=False) == (
        "31001004"
    )


def test_unbinding_asks_which_when_several_and_removes_the_one_named(service_database):
    bind("31001004", "2004")
    bind("31001001", "2001")
    assert service.unbind(sender_id=SENDER, account_no=None) == service.Unbinding(
        choices=("31001001", "31001004")
    )
    assert service.unbind(sender_id=SENDER, account_no="31001004") == service.Unbinding(
        unbound="31001004"
    )
    assert service.unbind(sender_id=SENDER, account_no="31001004") == service.Unbinding()
    assert service.unbind(sender_id=SENDER, account_no=None).unbound == "31001001"


def test_the_holders_business_hall_comes_first(service_database):
    anyone = service.business_halls(sender_id="tg:nobody")
    assert len(anyone) >= 2 and not any(hall.own for hall in anyone)
    bind("31001001", "2001")
    halls = service.business_halls(sender_id=SENDER)
    assert halls[0].own and not any(hall.own for hall in halls[1:])


def test_each_held_account_has_a_reading_schedule(service_database):
    assert service.reading_schedules(sender_id=SENDER, today=TODAY) == []
    bind("31001001", "2001")
    [schedule] = service.reading_schedules(sender_id=SENDER, today=TODAY)
    assert schedule.account_no == "31001001"
    assert schedule.upcoming.earliest is not None


def test_a_database_that_fails_is_reported_as_unavailable(service_database, tmp_path, monkeypatch):
    # A folder where the database file should be: SQLite cannot open it.
    (tmp_path / "folder.db").mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'folder.db'}")
    bot_settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    with pytest.raises(DatabaseUnavailable):
        service.held_accounts(sender_id=SENDER)
