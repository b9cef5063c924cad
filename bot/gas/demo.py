"""Build the gas demo data (`data/demo/gas.yml`): halls, accounts, 12 months of readings,
bills priced by the tariff, and payments, all marked demo. Idempotent: bills, readings and
payments of demo accounts are rebuilt; bindings, fault reports and reminders are kept."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.gas.billing import charges_json
from bot.gas.schedule import add_months
from bot.gas.tariff import price_usage, total_fen
from bot.models import (
    BusinessHall,
    GasAccount,
    GasAccountKind,
    GasBill,
    GasMeter,
    GasPayment,
    MeterLocation,
    MeterReading,
)

# How much of a typical month's gas each calendar month uses (heating in winter).
SEASON = {1: 1.8, 2: 1.6, 3: 1.3, 4: 1.0, 5: 0.8, 6: 0.7, 7: 0.6, 8: 0.6, 9: 0.7, 10: 0.9}
SEASON.update({11: 1.3, 12: 1.6})
PAYMENT_CHANNELS = ("微信", "支付宝", "银行代扣", "营业厅")
START_READING = 1000


def _month(text: str) -> date:
    year, month = str(text).split("-")
    return date(int(year), int(month), 1)


def _periods(spec: dict[str, Any]) -> list[date]:
    first, last = _month(spec["first"]), _month(spec["last"])
    months = []
    while first <= last:
        months.append(first)
        first = add_months(first, 1)
    return months


def seed_gas_demo(*, session: Session, path: Path) -> int:
    """Load the demo gas data from `path`; returns the number of accounts."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    halls = {}
    for entry in data["business_halls"]:
        hall = session.scalars(
            select(BusinessHall).where(BusinessHall.code == entry["code"])
        ).first()
        if hall is None:
            hall = BusinessHall(is_demo=True, **entry)
            session.add(hall)
        elif hall.is_demo:
            for key, value in entry.items():
                setattr(hall, key, value)
        halls[entry["code"]] = hall
    session.flush()
    periods = _periods(data["periods"])
    for entry in data["accounts"]:
        _seed_account(session, entry, halls, periods)
    session.flush()
    return len(data["accounts"])


def _seed_account(
    session: Session, entry: dict[str, Any], halls: dict[str, BusinessHall], periods: list[date]
) -> None:
    account = session.scalars(
        select(GasAccount).where(GasAccount.account_no == entry["account_no"])
    ).first()
    values = {
        "holder_name": entry["holder_name"],
        "kind": GasAccountKind(entry["kind"]),
        "address": entry["address"],
        "phone": entry["phone"],
        "business_hall_id": halls[entry["business_hall"]].id,
        "opened_on": date(2018, 3, 1),
    }
    if account is None:
        account = GasAccount(account_no=entry["account_no"], is_demo=True, **values)
        session.add(account)
    elif not account.is_demo:
        return  # a real account with this number: never overwritten by demo data
    else:
        for key, value in values.items():
            setattr(account, key, value)
    session.flush()
    location = MeterLocation(entry["location"])
    meter = session.scalars(select(GasMeter).where(GasMeter.meter_no == entry["meter_no"])).first()
    if meter is None:
        meter = GasMeter(account_id=account.id, meter_no=entry["meter_no"], model="G2.5")
        session.add(meter)
    meter.location = location
    meter.installed_on = date(2018, 3, 1)
    session.flush()
    for table, column in (
        (MeterReading, MeterReading.meter_id == meter.id),
        (GasBill, GasBill.account_id == account.id),
        (GasPayment, GasPayment.account_id == account.id),
    ):
        session.execute(delete(table).where(column))
    _seed_history(session, account, meter, entry, periods)


def _seed_history(
    session: Session,
    account: GasAccount,
    meter: GasMeter,
    entry: dict[str, Any],
    periods: list[date],
) -> None:
    reading, used_this_year, year = START_READING, 0, None
    unpaid_from = len(periods) - int(entry.get("unpaid", 0))
    for index, month in enumerate(periods):
        if month.year != year:
            year, used_this_year = month.year, 0
        usage = round(entry["base_m3"] * SEASON[month.month])
        reading += usage
        # Indoor meters are read once a quarter (抄表管理制度 第4条); the months between have
        # no reading at all: nothing is estimated (第3条: 杜绝估抄).
        if meter.location is not MeterLocation.INDOOR or month.month % 3 == 0:
            read_on = month.replace(day=min(int(entry["read_day"]), 28))
            session.add(MeterReading(meter_id=meter.id, read_on=read_on, reading=reading))
        charges = price_usage(account.kind, usage, used_this_year)
        used_this_year += usage
        issued_on = add_months(month, 1)
        bill = GasBill(
            account_id=account.id,
            period=f"{month:%Y-%m}",
            usage_m3=usage,
            amount_fen=total_fen(charges),
            tiers=charges_json(charges),
            issued_on=issued_on,
            due_on=issued_on + timedelta(days=24),
        )
        session.add(bill)
        if index < unpaid_from:
            session.add(
                GasPayment(
                    account_id=account.id,
                    paid_on=issued_on + timedelta(days=3 + index % 10),
                    amount_fen=bill.amount_fen,
                    channel=PAYMENT_CHANNELS[index % len(PAYMENT_CHANNELS)],
                )
            )
    if entry.get("prepaid"):
        session.add(
            GasPayment(
                account_id=account.id,
                paid_on=add_months(periods[-1], 1) + timedelta(days=5),
                amount_fen=int(entry["prepaid"]) * 100,
                channel="营业厅预存",
            )
        )
    session.flush()
