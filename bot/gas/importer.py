"""Import gas accounts, meter readings, bills and payments from CSV files (UTF-8, with a header).

accounts.csv  account_no, holder_name, kind, address, phone, business_hall, meter_no,
              meter_location, opened_on
readings.csv  meter_no, read_on, reading, estimated
bills.csv     account_no, period, usage_m3, amount, issued_on, due_on
payments.csv  account_no, paid_on, amount, channel, reference   (optional file)

kind: residential|commercial (居民|商业); meter_location: outdoor|indoor (户外|户内);
dates YYYY-MM-DD; period YYYY-MM; amount in yuan with at most two decimals; reading and
usage in whole m³; estimated: 1/0, yes/no, 是/否 (a row the billing system flags as not
read on site is stored with its flag but never shown to a customer or counted as a reading:
抄表管理制度 第3条 rules out estimated readings). Every row is checked first; any bad row
means nothing is imported, unless `--skip-bad` is given, when the good rows are. Rows that
exist already (same 户号, meter and day, account and period, payment reference) are updated.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.gas.accounts import ACCOUNT_NO
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

COLUMNS = {
    "accounts": (
        "account_no",
        "holder_name",
        "kind",
        "address",
        "phone",
        "business_hall",
        "meter_no",
        "meter_location",
        "opened_on",
    ),
    "readings": ("meter_no", "read_on", "reading", "estimated"),
    "bills": ("account_no", "period", "usage_m3", "amount", "issued_on", "due_on"),
    "payments": ("account_no", "paid_on", "amount", "channel", "reference"),
}
KINDS = {"residential": "residential", "居民": "residential", "commercial": "commercial"}
KINDS["商业"] = "commercial"
LOCATIONS = {"outdoor": "outdoor", "户外": "outdoor", "indoor": "indoor", "户内": "indoor"}
BOOLEANS = {"1": True, "yes": True, "true": True, "是": True}
BOOLEANS.update({"0": False, "no": False, "false": False, "否": False, "": False})
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_PHONE = re.compile(r"\+?[\d\s-]{7,20}")


class RowError(ValueError):
    pass


@dataclass
class ImportReport:
    imported: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # "file:line: problem"

    @property
    def ok(self) -> bool:
        return not self.errors


def _rows(path: Path, kind: str) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in COLUMNS[kind] if name not in (reader.fieldnames or [])]
        if missing:
            raise RowError(f"{path.name}:1: 缺少列 {', '.join(missing)}")
        for row in reader:
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(f"{name} 不是 YYYY-MM-DD 日期: {value!r}") from None


def _whole(value: str, name: str) -> int:
    if not value.isdigit():
        raise RowError(f"{name} 应为非负整数: {value!r}")
    return int(value)


def _fen(value: str, name: str) -> int:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise RowError(f"{name} 不是金额: {value!r}") from None
    if amount < 0 or amount != amount.quantize(Decimal("0.01")) or not amount.is_finite():
        raise RowError(f"{name} 应为非负金额,最多两位小数: {value!r}")
    return int(amount * 100)


def _choice(value: str, choices: dict[str, Any], name: str) -> Any:
    try:
        return choices[value.lower()]
    except KeyError:
        raise RowError(f"{name} 取值无效: {value!r}") from None


class _Importer:
    def __init__(self, session: Session, report: ImportReport) -> None:
        self.session, self.report = session, report
        self.halls = {hall.code: hall for hall in session.scalars(select(BusinessHall))}

    def run(self, path: Path, kind: str, load: Callable[[dict[str, str]], None]) -> None:
        count = 0
        try:
            for line, row in _rows(path, kind):
                try:
                    load(row)  # checks the whole row before it writes anything
                    count += 1
                except RowError as error:
                    self.report.errors.append(f"{path.name}:{line}: {error}")
        except RowError as error:
            self.report.errors.append(str(error))
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            self.report.errors.append(f"{path.name}: 无法读取 ({type(error).__name__})")
        self.report.imported[kind] = count

    def _account(self, account_no: str) -> GasAccount:
        account = self.session.scalars(
            select(GasAccount).where(GasAccount.account_no == account_no)
        ).first()
        if account is None:
            raise RowError(f"户号 {account_no!r} 不存在")
        return account

    def account(self, row: dict[str, str]) -> None:
        if not ACCOUNT_NO.fullmatch(row["account_no"]):
            raise RowError(f"户号应为 8 位数字: {row['account_no']!r}")
        if not row["holder_name"] or not row["address"]:
            raise RowError("holder_name 和 address 不能为空")
        if not _PHONE.fullmatch(row["phone"]):
            raise RowError("phone 不是电话号码")
        hall = self.halls.get(row["business_hall"]) if row["business_hall"] else None
        if row["business_hall"] and hall is None:
            raise RowError(f"营业厅 {row['business_hall']!r} 不存在")
        if not row["meter_no"]:
            raise RowError("meter_no 不能为空")
        values = {
            "holder_name": row["holder_name"][:64],
            "kind": GasAccountKind(_choice(row["kind"], KINDS, "kind")),
            "address": row["address"][:128],
            "phone": row["phone"],
            "business_hall_id": hall.id if hall else None,
            "opened_on": _date(row["opened_on"], "opened_on") if row["opened_on"] else None,
        }
        location = MeterLocation(_choice(row["meter_location"], LOCATIONS, "meter_location"))
        meter = self.session.scalars(
            select(GasMeter).where(GasMeter.meter_no == row["meter_no"])
        ).first()
        if meter is not None and meter.account.account_no != row["account_no"]:
            raise RowError(f"表号 {row['meter_no']!r} 已属于另一户")
        account = self.session.scalars(
            select(GasAccount).where(GasAccount.account_no == row["account_no"])
        ).first()
        if account is None:
            account = GasAccount(account_no=row["account_no"], **values)
            self.session.add(account)
        else:
            for key, value in values.items():
                setattr(account, key, value)
        self.session.flush()
        if meter is None:
            self.session.add(
                GasMeter(account_id=account.id, meter_no=row["meter_no"], location=location)
            )
        else:
            meter.location = location
        self.session.flush()

    def reading(self, row: dict[str, str]) -> None:
        meter = self.session.scalars(
            select(GasMeter).where(GasMeter.meter_no == row["meter_no"])
        ).first()
        if meter is None:
            raise RowError(f"表号 {row['meter_no']!r} 不存在")
        read_on = _date(row["read_on"], "read_on")
        values = {
            "reading": _whole(row["reading"], "reading"),
            "estimated": _choice(row["estimated"], BOOLEANS, "estimated"),
        }
        existing = self.session.scalars(
            select(MeterReading).where(
                MeterReading.meter_id == meter.id, MeterReading.read_on == read_on
            )
        ).first()
        if existing is None:
            self.session.add(MeterReading(meter_id=meter.id, read_on=read_on, **values))
        else:
            for key, value in values.items():
                setattr(existing, key, value)
        self.session.flush()

    def bill(self, row: dict[str, str]) -> None:
        account = self._account(row["account_no"])
        if not _PERIOD.fullmatch(row["period"]):
            raise RowError(f"period 应为 YYYY-MM: {row['period']!r}")
        issued_on, due_on = _date(row["issued_on"], "issued_on"), _date(row["due_on"], "due_on")
        if due_on < issued_on:
            raise RowError("due_on 早于 issued_on")
        values = {
            "usage_m3": _whole(row["usage_m3"], "usage_m3"),
            "amount_fen": _fen(row["amount"], "amount"),
            "issued_on": issued_on,
            "due_on": due_on,
        }
        existing = self.session.scalars(
            select(GasBill).where(GasBill.account_id == account.id, GasBill.period == row["period"])
        ).first()
        if existing is None:
            self.session.add(GasBill(account_id=account.id, period=row["period"], **values))
        else:
            for key, value in values.items():
                setattr(existing, key, value)
        self.session.flush()

    def payment(self, row: dict[str, str]) -> None:
        account = self._account(row["account_no"])
        values = {
            "account_id": account.id,
            "paid_on": _date(row["paid_on"], "paid_on"),
            "amount_fen": _fen(row["amount"], "amount"),
            "channel": row["channel"][:32],
        }
        reference = row["reference"] or None
        existing = None
        if reference:
            existing = self.session.scalars(
                select(GasPayment).where(GasPayment.reference == reference)
            ).first()
        if existing is None:
            self.session.add(GasPayment(reference=reference, **values))
        else:
            for key, value in values.items():
                setattr(existing, key, value)
        self.session.flush()


def import_files(
    *,
    session: Session,
    accounts: Path,
    readings: Path,
    bills: Path,
    payments: Path | None = None,
) -> ImportReport:
    """Import the good rows in dependency order; the caller commits, or with errors rolls
    back unless it was asked to skip bad rows."""
    report = ImportReport()
    importer = _Importer(session, report)
    importer.run(accounts, "accounts", importer.account)
    importer.run(readings, "readings", importer.reading)
    importer.run(bills, "bills", importer.bill)
    if payments is not None:
        importer.run(payments, "payments", importer.payment)
    return report
