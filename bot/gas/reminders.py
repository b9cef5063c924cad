"""Arrears reminders (催缴, 抄表管理制度 9) for customers who opted in.

`python -m bot gas remind` looks at every opted-in binding whose account has a bill past
its due date and sends one polite reminder per account and billing period (the period of
the oldest overdue bill); a bill not yet due is not chased. A reminder that could not be
delivered is kept as failed and tried again on the next run; one that was sent is never
repeated for the same period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.gas.accounts import bindings_of
from bot.gas.billing import Statement, statement
from bot.gas.tariff import yuan
from bot.models import ArrearsReminder, GasAccountBinding, GasBill
from bot.notify import Delivery, DeliveryStatus, channel_of

Deliver = Callable[[str, str], Delivery]


@dataclass(frozen=True)
class ReminderResult:
    account_no: str
    period: str
    status: str  # a DeliveryStatus value, or "skipped" when already sent


def set_reminders(
    *, session: Session, sender_id: str, enabled: bool, account_id: int | str | None = None
) -> int:
    """Opt this sender's accounts (all, or the one named) in or out; returns how many."""
    changed = 0
    for binding in bindings_of(session=session, sender_id=sender_id):
        if account_id is None or str(binding.account_id) == str(account_id):
            binding.reminders_enabled = enabled
            changed += 1
    session.flush()
    return changed


def reminder_text(state: Statement, oldest: GasBill) -> str:
    return (
        f"您好，燃气客服提醒您：户号 {state.account.account_no} 目前欠缴燃气费 "
        f"{yuan(state.arrears_fen)} 元"
        f"（最早一期 {oldest.period}，缴费截止 {oldest.due_on:%Y-%m-%d}）。"
        "请您方便时通过微信、支付宝、银行代扣或到营业厅缴纳，以免影响用气。"
        "如已缴费请忽略本消息。回复“关闭欠费提醒”可不再接收。谢谢！"
    )


def opted_in(*, session: Session) -> list[GasAccountBinding]:
    return list(
        session.scalars(
            select(GasAccountBinding)
            .where(GasAccountBinding.reminders_enabled.is_(True))
            .order_by(GasAccountBinding.id)
        )
    )


def remind_one(
    *,
    session: Session,
    binding: GasAccountBinding,
    deliver: Deliver,
    now: datetime,
    today: date,
) -> ReminderResult | None:
    """Send this binding's reminder if a bill is overdue and its period not yet reminded."""
    state = statement(session=session, account=binding.account)
    overdue = [status.bill for status in state.unpaid if status.overdue(today)]
    if state.arrears_fen <= 0 or not overdue:
        return None
    period = overdue[0].period
    account_no = binding.account.account_no
    log = session.scalars(
        select(ArrearsReminder)
        .where(ArrearsReminder.account_id == binding.account_id, ArrearsReminder.period == period)
        .with_for_update()
    ).first()
    if log is not None and log.status == DeliveryStatus.SENT.value:
        return ReminderResult(account_no, period, "skipped")
    if log is None:
        log = ArrearsReminder(
            account_id=binding.account_id,
            period=period,
            sender_id=binding.sender_id,
            channel=channel_of(binding.sender_id),
            arrears_fen=state.arrears_fen,
            status="sending",
        )
        session.add(log)
        # A concurrent run that logged the same period first makes this flush fail with
        # an IntegrityError: the caller rolls back and counts the account as skipped.
        session.flush()
    delivery = deliver(binding.sender_id, reminder_text(state, overdue[0]))
    log.status, log.detail, log.sent_at = delivery.status.value, delivery.detail[:200], now
    log.arrears_fen = state.arrears_fen
    session.flush()
    return ReminderResult(account_no, period, delivery.status.value)
