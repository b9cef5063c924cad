"""How gas answers read: statement lines, usage history, and what a message asks for."""

from __future__ import annotations

import re
from datetime import date

import cn2an

from bot.gas.billing import BillState, BillStatus, Statement
from bot.gas.schedule import NextReading, ReadingCycle
from bot.gas.tariff import yuan
from bot.models import GasBill, MeterReading
from bot.organisation import GasSettings

DEFAULT_MONTHS = 6
MAX_MONTHS = 12
_MONTHS = re.compile(r"([0-9]+|[一二两三四五六七八九十]+)\s*个?月")
_YEAR_WORDS = ("一年", "12个月", "十二个月", "全年", "这一年", "近一年", "去年")
_OFF_WORDS = (
    "关闭",
    "取消",
    "不要",
    "停止",
    "退订",
    "别再",
    "不用",
    "不想",
    "关掉",
    "关了",
    "不需要",
)

# What 抄表管理制度 第4条 and 第5条 say, and nothing more: in particular nothing about how
# the months between two quarterly readings are billed, which the regulations do not say
# (and 第3条 rules out estimated readings: 杜绝错抄、估抄、漏抄).
CYCLE_TEXT = {
    ReadingCycle.COMMERCIAL_MONTHLY: "商业用户每月 22 日至 23 日抄表",
    ReadingCycle.MONTHLY: "居民用户每月抄表一次",
    ReadingCycle.QUARTERLY: "户内挂表的居民用户每季度抄表一次",
}
BILL_STATE_TEXT = {
    BillState.PAID: "已缴清",
    BillState.PARTLY_PAID: "已缴部分",
    BillState.UNPAID: "未缴",
}


def months_asked(text: str) -> int:
    """How many months of usage a message asks for: 最近半年 -> 6, 一年 -> 12 (default 6)."""
    if any(word in text for word in _YEAR_WORDS):
        return MAX_MONTHS
    if "半年" in text:
        return 6
    match = _MONTHS.search(text)
    if match:
        raw = match.group(1).replace("两", "二")
        try:
            months = int(raw) if raw.isdigit() else int(cn2an.cn2an(raw, "smart"))
        except ValueError:
            return DEFAULT_MONTHS
        return max(1, min(MAX_MONTHS, months))
    return DEFAULT_MONTHS


def wants_reminders_off(text: str) -> bool:
    return any(word in text for word in _OFF_WORDS)


def reading_line(reading: MeterReading | None) -> str:
    """A reading taken on site (bot.gas.billing.last_actual_reading), or that there is none."""
    if reading is None or reading.estimated:
        return "暂无抄表记录"
    return f"{reading.read_on:%Y-%m-%d} 读数 {reading.reading} 方"


# The tiers' names, first tier first (第一档, 第二档 ...).
_TIER_NAMES = "一二三四五六七八九"


def charges_text(status: BillStatus) -> str:
    """E.g. 第一档 20 方 × 2.61 元 + 第二档 5 方 × 3.13 元."""
    parts = [
        f"第{_TIER_NAMES[charge.tier - 1]}档 {charge.m3} 方 × {yuan(charge.price_fen)} 元"
        for charge in status.charges
    ]
    return " + ".join(parts)


def bill_line(status: BillStatus, today: date) -> str:
    bill = status.bill
    state = BILL_STATE_TEXT[status.state]
    if status.state is not BillState.PAID:
        state += f"，尚欠 {yuan(status.owed_fen)} 元"
        if status.overdue(today):
            state += "，已过缴费期"
    tiers = charges_text(status)
    return (
        f"{bill.period} 用气 {bill.usage_m3} 方，金额 {yuan(bill.amount_fen)} 元"
        f"{f'（{tiers}）' if tiers else ''}，缴费截止 {bill.due_on:%Y-%m-%d}，{state}"
    )


def statement_text(state: Statement, today: date) -> str:
    account = state.account
    lines = [f"户号 {account.account_no}({account.address})"]
    if state.arrears_fen:
        unpaid = len(state.unpaid)
        lines.append(f"· 当前欠费：{yuan(state.arrears_fen)} 元（共 {unpaid} 期未缴清）")
    else:
        lines.append(f"· 没有欠费，账户余额 {yuan(state.balance_fen)} 元")
    if state.latest is not None:
        lines.append(f"· 最新账单：{bill_line(state.latest, today)}")
    older = [status for status in state.unpaid if status is not state.latest]
    lines.extend(f"· 未缴账单：{bill_line(status, today)}" for status in older)
    lines.append(f"· 最近一次抄表：{reading_line(state.last_reading)}")
    return "\n".join(lines)


def usage_text(bills: list[GasBill]) -> str:
    lines = [f"· {bill.period}：{bill.usage_m3} 方，{yuan(bill.amount_fen)} 元" for bill in bills]
    total = sum(bill.usage_m3 for bill in bills)
    average = total / len(bills) if bills else 0
    lines.append(f"合计 {total} 方，月均 {average:.1f} 方")
    return "\n".join(lines)


def schedule_text(upcoming: NextReading) -> str:
    rule = CYCLE_TEXT[upcoming.cycle]
    if upcoming.earliest is None or upcoming.latest is None:
        return f"{rule}；暂无上次抄表记录，下次抄表日期请以抄表员通知为准"
    if upcoming.earliest == upcoming.latest:
        when = f"{upcoming.earliest:%Y-%m-%d} 前后"
    else:
        when = f"{upcoming.earliest:%Y-%m-%d} 至 {upcoming.latest:%m-%d}"
    return f"{rule}；预计下次抄表：{when}"


def binding_locked_alert(account_no: str) -> str:
    """Told to whoever holds an account when online binding for it gets locked."""
    from bot.gas.accounts import mask_account_no

    return (
        f"安全提醒：您绑定的燃气户号 {mask_account_no(account_no)} 在 24 小时内有多次"
        "验证失败的绑定尝试，为保护您的信息，该户号的线上绑定已暂停。您的绑定不受影响。"
        "如非本人操作，请留意个人信息安全；如需恢复线上绑定，请携带身份证件到营业厅办理。"
    )


def tariff_text(gas: GasSettings) -> str:
    """The price list as lines: the residential yearly tiers, then the commercial price."""
    lines = []
    floor = 0
    for number, tier in enumerate(gas.residential_tiers):
        if tier.up_to_m3 is None:
            span = f"全年用气 {floor} 方以上"
        elif floor == 0:
            span = f"全年用气 {tier.up_to_m3} 方以内"
        else:
            span = f"全年用气 {floor}-{tier.up_to_m3} 方"
        floor = tier.up_to_m3 or floor
        lines.append(f"· 居民第{_TIER_NAMES[number]}档（{span}）：{yuan(tier.price_fen)} 元/方")
    lines.append(f"· 商业用户：{yuan(gas.commercial_price_fen)} 元/方")
    return "\n".join(lines)
