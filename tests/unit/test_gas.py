"""Gas accounts: billing arithmetic, statements, binding and lock-out, reading schedule,
fault reports, reminders, on SQLite and PostgreSQL where the database matters.

Demo accounts (data/demo/gas.yml): 31001001 王建国, phone …2001, paid up; 31001004
赵丽华, phone …2004, last 2 bills unpaid; 31001005 indoor meter (quarterly);
32002001 a restaurant (commercial); 31001003 has 200 yuan prepaid.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.gas.accounts import (
    BindOutcome,
    bind_account,
    bindings_of,
    bound_account,
    find_account_no,
    find_phone_digits,
    mask_account_no,
    unbind_accounts,
)
from bot.gas.billing import BillState, settle, statement, usage_history
from bot.gas.demo import seed_gas_demo
from bot.gas.faults import classify_fault, find_ticket_no, report_fault, reports_of
from bot.gas.reminders import remind_one, set_reminders
from bot.gas.schedule import ReadingCycle, add_months, next_reading
from bot.gas.tariff import price_usage, total_fen, yuan
from bot.gas.wording import months_asked, statement_text, wants_reminders_off
from bot.identity import MAX_FAILURES
from bot.infra.db import session_scope
from bot.models import (
    ArrearsReminder,
    BindingAttempt,
    GasAccount,
    GasAccountKind,
    GasBill,
    MeterFaultKind,
    MeterLocation,
    MeterReading,
)
from bot.notify import Delivery, DeliveryStatus
from bot.ops.seed import DEMO_DIR

NOW = datetime(2026, 11, 25, 7, 45, tzinfo=timezone.utc)  # 15:45 in Shanghai
TODAY = date(2026, 11, 25)
PAID_UP, PAID_UP_PHONE = "31001001", "2001"
IN_ARREARS, IN_ARREARS_PHONE = "31001004", "2004"
PREPAID = "31001003"
INDOOR = "31001005"
RESTAURANT = "32002001"


@pytest.fixture()
def gas_engine(engine):
    with session_scope(engine) as session:
        seed_gas_demo(session=session, path=DEMO_DIR / "gas.yml")
    return engine


def account(session, number: str) -> GasAccount:
    return session.scalars(select(GasAccount).where(GasAccount.account_no == number)).one()


def bind(engine, sender: str, number: str, digits: str, now: datetime = NOW) -> BindOutcome:
    with session_scope(engine) as session:
        return bind_account(
            session=session, sender_id=sender, account_no=number, phone_last4=digits, now=now
        ).outcome


# --- tariff -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "before", "expected"),
    [
        (0, 0, []),
        (30, 0, [(1, 30, 261)]),
        (30, 340, [(1, 20, 261), (2, 10, 313)]),  # crosses the first threshold
        (300, 340, [(1, 20, 261), (2, 240, 313), (3, 40, 391)]),  # crosses both
        (10, 600, [(3, 10, 391)]),
        (10, 355, [(1, 5, 261), (2, 5, 313)]),
    ],
)
def test_residential_usage_is_split_across_the_yearly_tiers(usage, before, expected):
    charges = price_usage(GasAccountKind.RESIDENTIAL, usage, before)
    assert [(c.tier, c.m3, c.price_fen) for c in charges] == expected
    assert sum(c.m3 for c in charges) == usage


def test_commercial_gas_has_one_price_whatever_was_used_before():
    charges = price_usage(GasAccountKind.COMMERCIAL, 500, 10_000)
    assert [(c.tier, c.m3, c.price_fen) for c in charges] == [(1, 500, 348)]
    assert total_fen(charges) == 174_000


def test_negative_usage_is_refused():
    with pytest.raises(ValueError):
        price_usage(GasAccountKind.RESIDENTIAL, -1)


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (5, "0.05"), (12345, "123.45"), (-250, "-2.50")]
)
def test_amounts_are_yuan_with_two_decimals(fen, text):
    assert yuan(fen) == text


def test_payments_settle_the_oldest_bills_first():
    bills = [
        GasBill(period="2026-08", amount_fen=5000),
        GasBill(period="2026-10", amount_fen=7000),
        GasBill(period="2026-09", amount_fen=6000),
    ]
    statuses = settle(bills, 8000)
    assert [(s.bill.period, s.paid_fen, s.state) for s in statuses] == [
        ("2026-08", 5000, BillState.PAID),
        ("2026-09", 3000, BillState.PARTLY_PAID),
        ("2026-10", 0, BillState.UNPAID),
    ]
    assert statuses[1].owed_fen == 3000


# --- statements on the demo data ----------------------------------------------------


def test_a_paid_up_account_has_no_arrears_and_a_priced_latest_bill(gas_engine):
    with session_scope(gas_engine) as session:
        state = statement(session=session, account=account(session, PAID_UP))
        assert state.arrears_fen == 0 and state.balance_fen == 0
        latest = state.latest
        assert latest is not None
        assert len(state.bills) == 12 and latest.bill.period == "2026-10"
        assert latest.state is BillState.PAID
        assert latest.bill.amount_fen == total_fen(latest.charges)
        text = statement_text(state, TODAY)
    assert "没有欠费" in text and "2026-10" in text and "第一档" in text


def test_an_account_in_arrears_shows_what_is_owed_and_what_is_overdue(gas_engine):
    with session_scope(gas_engine) as session:
        state = statement(session=session, account=account(session, IN_ARREARS))
        unpaid = [s.bill.period for s in state.unpaid]
        assert unpaid == ["2026-09", "2026-10"]
        assert state.arrears_fen == sum(s.bill.amount_fen for s in state.unpaid)
        assert state.unpaid[0].overdue(TODAY) and not state.unpaid[1].overdue(TODAY)
        text = statement_text(state, TODAY)
    assert f"当前欠费：{yuan(state.arrears_fen)} 元" in text
    assert "已过缴费期" in text


def test_a_prepayment_is_a_positive_balance(gas_engine):
    with session_scope(gas_engine) as session:
        state = statement(session=session, account=account(session, PREPAID))
    assert state.balance_fen == 20_000 and state.arrears_fen == 0


def test_usage_history_is_the_last_months_oldest_first(gas_engine):
    with session_scope(gas_engine) as session:
        bills = usage_history(session=session, account=account(session, PAID_UP), months=6)
        assert [b.period for b in bills] == [f"2026-{m:02d}" for m in range(5, 11)]
        year = usage_history(session=session, account=account(session, PAID_UP), months=12)
    assert len(year) == 12


def test_indoor_meters_are_read_once_a_quarter_and_nothing_is_estimated(gas_engine):
    # 抄表管理制度 第4条 (居民户内挂燃气表每季查抄一次) and 第3条 (杜绝错抄、估抄、漏抄).
    with session_scope(gas_engine) as session:
        meter = account(session, INDOOR).meters[0]
        assert meter.location is MeterLocation.INDOOR
        months = [r.read_on.month for r in meter.readings]
        assert not any(r.estimated for r in meter.readings)
    assert months == [12, 3, 6, 9]


def test_an_imported_estimated_reading_is_never_shown_as_the_meter_reading(gas_engine):
    with session_scope(gas_engine) as session:
        held = account(session, INDOOR)
        meter = held.meters[0]
        read_on_site = max(r.read_on for r in meter.readings)
        session.add(
            MeterReading(
                meter_id=meter.id,
                read_on=read_on_site + timedelta(days=30),
                reading=99999,
                estimated=True,
            )
        )
        session.flush()
        state = statement(session=session, account=held)
        text = statement_text(state, TODAY)
        assert state.last_reading is not None
        assert state.last_reading.read_on == read_on_site
    assert "99999" not in text
    assert "估" not in text


def test_no_gas_wording_tells_a_customer_that_readings_are_estimated():
    import yaml

    from bot.gas.wording import CYCLE_TEXT
    from bot.infra.settings import PROJECT_ROOT

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    texts = [v["text"] for variants in domain["responses"].values() for v in variants]
    assert CYCLE_TEXT[ReadingCycle.QUARTERLY] == "户内挂表的居民用户每季度抄表一次"
    assert not [t for t in [*CYCLE_TEXT.values(), *texts] if "估" in t]


def test_the_tariff_comes_from_the_organisation_settings():
    from bot.organisation import GasSettings, TariffTier, get_organisation

    tariff = GasSettings(
        residential_tiers=(TariffTier(100, 200), TariffTier(None, 300)), commercial_price_fen=400
    )
    charges = price_usage(GasAccountKind.RESIDENTIAL, 30, 90, tariff=tariff)
    assert [(c.tier, c.m3, c.price_fen) for c in charges] == [(1, 10, 200), (2, 20, 300)]
    assert price_usage(GasAccountKind.COMMERCIAL, 5, tariff=tariff)[0].price_fen == 400
    assert get_organisation().gas.commercial_price_fen == 348


def test_seeding_the_demo_twice_changes_nothing(gas_engine):
    with session_scope(gas_engine) as session:
        before = session.scalar(select(func.count()).select_from(GasBill))
        seed_gas_demo(session=session, path=DEMO_DIR / "gas.yml")
        assert session.scalar(select(func.count()).select_from(GasBill)) == before == 24 * 12


# --- binding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("户号31001001", "31001001"),
        ("我的户号是 3100 1001 谢谢", "31001001"),
        ("3100-1001", "31001001"),
        ("1234567", None),  # 7 digits
        ("310010011", None),  # 9 digits
        ("13900002001", None),  # a phone number
        ("", None),
    ],
)
def test_account_numbers_are_eight_digits(text, expected):
    assert find_account_no(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2001", "2001"),
        ("后四位是 2001", "2001"),
        ("13900002001", "2001"),
        ("+86 139 0000 2001", "2001"),
        ("201", None),
        ("abc", None),
    ],
)
def test_phone_digits_are_the_last_four(text, expected):
    assert find_phone_digits(text) == expected


def test_binding_needs_the_right_phone_digits(gas_engine):
    assert bind(gas_engine, "tg:1", PAID_UP, "9999") is BindOutcome.NO_MATCH
    assert bind(gas_engine, "tg:1", PAID_UP, PAID_UP_PHONE) is BindOutcome.BOUND
    assert bind(gas_engine, "tg:1", PAID_UP, PAID_UP_PHONE) is BindOutcome.ALREADY
    with session_scope(gas_engine) as session:
        assert [b.account.account_no for b in bindings_of(session=session, sender_id="tg:1")] == [
            PAID_UP
        ]


def test_an_unknown_account_and_wrong_digits_get_the_same_answer(gas_engine):
    assert bind(gas_engine, "tg:1", "99999999", PAID_UP_PHONE) is BindOutcome.NO_MATCH
    assert bind(gas_engine, "tg:1", PAID_UP, "0000") is BindOutcome.NO_MATCH


def test_an_account_held_by_another_sender_is_not_bound_twice(gas_engine):
    assert bind(gas_engine, "tg:1", PAID_UP, PAID_UP_PHONE) is BindOutcome.BOUND
    # Wrong digits still say nothing about the account.
    assert bind(gas_engine, "wx:2", PAID_UP, "0000") is BindOutcome.NO_MATCH
    assert bind(gas_engine, "wx:2", PAID_UP, PAID_UP_PHONE) is BindOutcome.BOUND_ELSEWHERE
    with session_scope(gas_engine) as session:
        assert bindings_of(session=session, sender_id="wx:2") == []


def test_one_sender_may_hold_several_accounts_and_unbind_one(gas_engine):
    assert bind(gas_engine, "tg:1", PAID_UP, PAID_UP_PHONE) is BindOutcome.BOUND
    assert bind(gas_engine, "tg:1", IN_ARREARS, IN_ARREARS_PHONE) is BindOutcome.BOUND
    with session_scope(gas_engine) as session:
        held = bindings_of(session=session, sender_id="tg:1")
        assert [b.account.account_no for b in held] == [PAID_UP, IN_ARREARS]
        assert unbind_accounts(session=session, sender_id="tg:1", account_id=held[0].account_id)
    with session_scope(gas_engine) as session:
        assert [b.account.account_no for b in bindings_of(session=session, sender_id="tg:1")] == [
            IN_ARREARS
        ]


def test_an_account_is_never_returned_to_a_sender_who_does_not_hold_it(gas_engine):
    assert bind(gas_engine, "tg:1", PAID_UP, PAID_UP_PHONE) is BindOutcome.BOUND
    with session_scope(gas_engine) as session:
        target = account(session, PAID_UP)
        assert bound_account(session=session, sender_id="tg:1", account_id=target.id) is not None
        assert bound_account(session=session, sender_id="tg:2", account_id=target.id) is None
        assert bound_account(session=session, sender_id=None, account_id=target.id) is None


def test_five_failures_lock_the_sender_out_for_thirty_minutes(gas_engine):
    # Each on another 户号: the lock-out per account (tests/security) is not reached.
    for minute in range(MAX_FAILURES):
        guess = f"3900000{minute}"
        outcome = bind(gas_engine, "tg:9", guess, "0000", NOW + timedelta(minutes=minute))
        assert outcome is BindOutcome.NO_MATCH
    later = NOW + timedelta(minutes=MAX_FAILURES)
    # Even the right digits are refused during the lock-out, and the refusal is logged.
    assert bind(gas_engine, "tg:9", PAID_UP, PAID_UP_PHONE, later) is BindOutcome.LOCKED
    after = NOW + timedelta(minutes=MAX_FAILURES - 1 + 31)
    assert bind(gas_engine, "tg:9", PAID_UP, PAID_UP_PHONE, after) is BindOutcome.BOUND
    with session_scope(gas_engine) as session:
        attempts = session.scalars(
            select(BindingAttempt).where(BindingAttempt.sender_id == "tg:9")
        ).all()
    assert [a.reason for a in attempts].count("no_match") == MAX_FAILURES
    assert [a.reason for a in attempts].count("locked") == 1


def test_masked_account_numbers_keep_only_the_ends():
    assert mask_account_no("31001001") == "3100****01"


# --- reading schedule ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_adding_months_stays_within_short_months(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("today", "earliest", "latest"),
    [
        (date(2026, 11, 5), date(2026, 11, 22), date(2026, 11, 23)),
        (date(2026, 11, 22), date(2026, 11, 22), date(2026, 11, 23)),
        (date(2026, 11, 23), date(2026, 11, 22), date(2026, 11, 23)),
        (date(2026, 11, 25), date(2026, 12, 22), date(2026, 12, 23)),
        (date(2026, 12, 24), date(2027, 1, 22), date(2027, 1, 23)),
        # 2026-08-22 and 23 are a Saturday and a Sunday: the regulation's dates stand.
        (date(2026, 8, 1), date(2026, 8, 22), date(2026, 8, 23)),
    ],
)
def test_commercial_meters_are_read_on_the_22nd_and_23rd(today, earliest, latest):
    upcoming = next_reading(
        kind=GasAccountKind.COMMERCIAL,
        location=MeterLocation.OUTDOOR,
        last_read_on=None,
        today=today,
    )
    assert upcoming.cycle is ReadingCycle.COMMERCIAL_MONTHLY
    assert (upcoming.earliest, upcoming.latest) == (earliest, latest)


@pytest.mark.parametrize(
    ("location", "last", "today", "expected"),
    [
        (MeterLocation.OUTDOOR, date(2026, 11, 10), date(2026, 11, 25), date(2026, 12, 10)),
        (MeterLocation.OUTDOOR, date(2026, 10, 31), date(2026, 11, 25), date(2026, 11, 30)),
        (MeterLocation.OUTDOOR, date(2026, 1, 31), date(2026, 2, 10), date(2026, 2, 28)),
        (MeterLocation.OUTDOOR, date(2026, 8, 5), date(2026, 11, 25), date(2026, 12, 5)),
        (MeterLocation.INDOOR, date(2026, 9, 8), date(2026, 11, 25), date(2026, 12, 8)),
        (MeterLocation.INDOOR, date(2026, 8, 31), date(2026, 11, 25), date(2026, 11, 30)),
    ],
)
def test_residential_meters_follow_the_last_actual_reading(location, last, today, expected):
    upcoming = next_reading(
        kind=GasAccountKind.RESIDENTIAL, location=location, last_read_on=last, today=today
    )
    assert upcoming.earliest == upcoming.latest == expected


def test_without_a_reading_the_residential_date_is_unknown():
    upcoming = next_reading(
        kind=GasAccountKind.RESIDENTIAL,
        location=MeterLocation.OUTDOOR,
        last_read_on=None,
        today=TODAY,
    )
    assert upcoming.cycle is ReadingCycle.MONTHLY and upcoming.earliest is None


# --- faults -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("燃气表走得特别快", MeterFaultKind.FAST),
        ("表的字跳得飞快", MeterFaultKind.FAST),
        ("燃气表走得很慢", MeterFaultKind.SLOW),
        ("燃气表不走了", MeterFaultKind.STOPPED),
        ("燃气表失灵", MeterFaultKind.STOPPED),
        ("表不走字 可是灶还能用 是不是坏了", MeterFaultKind.STOPPED),
        ("燃气表有异响", MeterFaultKind.OTHER),
        ("燃气表是不是坏了 走得特别快 这个月多了好多", MeterFaultKind.FAST),
        ("燃气表坏了", MeterFaultKind.STOPPED),
        ("表不走了 快来修", MeterFaultKind.STOPPED),
    ],
)
def test_fault_descriptions_are_classified(text, kind):
    assert classify_fault(text) is kind


def test_a_fault_report_gets_a_ticket_the_customer_can_look_up(gas_engine):
    assert bind(gas_engine, "tg:1", PAID_UP, PAID_UP_PHONE) is BindOutcome.BOUND
    with session_scope(gas_engine) as session:
        report = report_fault(
            session=session,
            account=account(session, PAID_UP),
            sender_id="tg:1",
            description="燃气表走得特别快",
            now=NOW,
        )
        ticket = report.ticket_no
    assert ticket.startswith("BX20261125-") and len(ticket) == 16
    assert find_ticket_no(f"工单 {ticket.lower()} 进度") == ticket
    with session_scope(gas_engine) as session:
        assert [r.ticket_no for r in reports_of(session=session, sender_id="tg:1")] == [ticket]
        # Another sender cannot see it, even with the ticket number.
        assert reports_of(session=session, sender_id="tg:2", ticket_no=ticket) == []


# --- reminders ----------------------------------------------------------------------


class FakeChannel:
    def __init__(self, status: DeliveryStatus = DeliveryStatus.SENT) -> None:
        self.status = status
        self.sent: list[tuple[str, str]] = []

    def __call__(self, sender_id: str, text: str) -> Delivery:
        self.sent.append((sender_id, text))
        return Delivery(self.status)


def remind_all(engine, channel: FakeChannel, today: date = TODAY) -> list[str]:
    results = []
    with session_scope(engine) as session:
        for binding in bindings_of(session=session, sender_id="tg:1"):
            result = remind_one(
                session=session, binding=binding, deliver=channel, now=NOW, today=today
            )
            results.append(result.status if result else "-")
    return results


def test_reminders_go_only_to_opted_in_accounts_with_overdue_bills(gas_engine):
    bind(gas_engine, "tg:1", PAID_UP, PAID_UP_PHONE)
    bind(gas_engine, "tg:1", IN_ARREARS, IN_ARREARS_PHONE)
    with session_scope(gas_engine) as session:
        assert set_reminders(session=session, sender_id="tg:1", enabled=True) == 2
    channel = FakeChannel()
    assert remind_all(gas_engine, channel) == ["-", "sent"]
    [(sender, text)] = channel.sent
    assert sender == "tg:1" and IN_ARREARS in text and "2026-09" in text
    # At most once per billing period.
    assert remind_all(gas_engine, channel) == ["-", "skipped"]
    assert len(channel.sent) == 1
    with session_scope(gas_engine) as session:
        [log] = session.scalars(select(ArrearsReminder)).all()
        assert (log.period, log.status) == ("2026-09", "sent")


def test_a_reminder_that_could_not_be_delivered_is_tried_again(gas_engine):
    bind(gas_engine, "tg:1", IN_ARREARS, IN_ARREARS_PHONE)
    with session_scope(gas_engine) as session:
        set_reminders(session=session, sender_id="tg:1", enabled=True)
    assert remind_all(gas_engine, FakeChannel(DeliveryStatus.FAILED)) == ["failed"]
    assert remind_all(gas_engine, FakeChannel()) == ["sent"]


def test_a_bill_not_yet_due_is_not_chased(gas_engine):
    bind(gas_engine, "tg:1", IN_ARREARS, IN_ARREARS_PHONE)
    with session_scope(gas_engine) as session:
        set_reminders(session=session, sender_id="tg:1", enabled=True)
    # On 2026-10-20 the September bill (due 2026-10-25) is not overdue yet.
    assert remind_all(gas_engine, FakeChannel(), today=date(2026, 10, 20)) == ["-"]


# --- wording ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("最近半年用气", 6),
        ("近12个月的用气量", 12),
        ("最近三个月用气情况", 3),
        ("近两个月", 2),
        ("去年冬天用了多少气", 12),
        ("查用气量", 6),
        ("最近99个月", 12),
    ],
)
def test_the_months_asked_for(text, months):
    assert months_asked(text) == months


@pytest.mark.parametrize(
    ("text", "off"),
    [
        ("开启欠费提醒", False),
        ("欠费了提醒我一下", False),
        ("关闭欠费提醒", True),
        ("不要再提醒了", True),
    ],
)
def test_reminders_on_or_off(text, off):
    assert wants_reminders_off(text) is off
