"""An account's statement: balance, arrears, bills with their payment state, readings, usage.

Payments settle the oldest bills first, so a bill is paid when the payments made so far
cover it and every bill before it. Balance = payments - bills: below zero is arrears.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.gas.tariff import TierCharge
from bot.models import GasAccount, GasBill, GasMeter, GasPayment, MeterReading


class BillState(str, enum.Enum):
    PAID = "paid"
    PARTLY_PAID = "partly_paid"
    UNPAID = "unpaid"


@dataclass(frozen=True)
class BillStatus:
    bill: GasBill
    paid_fen: int
    state: BillState

    @property
    def owed_fen(self) -> int:
        return self.bill.amount_fen - self.paid_fen

    def overdue(self, today: date) -> bool:
        return self.state is not BillState.PAID and self.bill.due_on < today

    @property
    def charges(self) -> list[TierCharge]:
        return [TierCharge(**item) for item in json.loads(self.bill.tiers or "[]")]


@dataclass(frozen=True)
class Statement:
    account: GasAccount
    bills: list[BillStatus]  # oldest first
    paid_fen: int
    last_reading: MeterReading | None  # the last one read on site (see last_actual_reading)

    @property
    def billed_fen(self) -> int:
        return sum(status.bill.amount_fen for status in self.bills)

    @property
    def balance_fen(self) -> int:
        return self.paid_fen - self.billed_fen

    @property
    def arrears_fen(self) -> int:
        return max(0, -self.balance_fen)

    @property
    def latest(self) -> BillStatus | None:
        return self.bills[-1] if self.bills else None

    @property
    def unpaid(self) -> list[BillStatus]:
        return [status for status in self.bills if status.state is not BillState.PAID]


def settle(bills: list[GasBill], paid_fen: int) -> list[BillStatus]:
    """Spread `paid_fen` over `bills` (oldest first) and say how far each is paid."""
    statuses = []
    left = paid_fen
    for bill in sorted(bills, key=lambda b: b.period):
        covered = max(0, min(left, bill.amount_fen))
        left -= covered
        if covered >= bill.amount_fen:
            state = BillState.PAID
        elif covered:
            state = BillState.PARTLY_PAID
        else:
            state = BillState.UNPAID
        statuses.append(BillStatus(bill, covered, state))
    return statuses


def statement(*, session: Session, account: GasAccount) -> Statement:
    bills = list(session.scalars(select(GasBill).where(GasBill.account_id == account.id)))
    paid = session.scalar(
        select(func.coalesce(func.sum(GasPayment.amount_fen), 0)).where(
            GasPayment.account_id == account.id
        )
    )
    return Statement(
        account=account,
        bills=settle(bills, int(paid or 0)),
        paid_fen=int(paid or 0),
        last_reading=last_actual_reading(session=session, account=account),
    )


def last_actual_reading(*, session: Session, account: GasAccount) -> MeterReading | None:
    """The latest reading a meter reader took on site.

    抄表管理制度 第3条 rules out estimated readings (杜绝错抄、估抄、漏抄), so a reading the
    billing system imported with the `estimated` flag is never shown to the customer as
    their meter reading, nor used to work out when the reader comes next.
    """
    return session.scalars(
        select(MeterReading)
        .join(GasMeter, GasMeter.id == MeterReading.meter_id)
        .where(GasMeter.account_id == account.id, MeterReading.estimated.is_(False))
        .order_by(MeterReading.read_on.desc())
        .limit(1)
    ).first()


def usage_history(*, session: Session, account: GasAccount, months: int) -> list[GasBill]:
    """The bills of the last `months` billing periods, oldest first."""
    bills = session.scalars(
        select(GasBill)
        .where(GasBill.account_id == account.id)
        .order_by(GasBill.period.desc())
        .limit(months)
    )
    return sorted(bills, key=lambda bill: bill.period)


def charges_json(charges: list[TierCharge]) -> str:
    return json.dumps(
        [{"tier": c.tier, "m3": c.m3, "price_fen": c.price_fen} for c in charges],
        separators=(",", ":"),
    )
