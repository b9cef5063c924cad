"""Faulty meter reports (抄表管理制度 7: a meter that runs fast, slow or not at all is reported).

Each report gets a ticket number the customer can quote; staff see the reports with
`python -m bot gas faults` and move them on with `gas fault-update`.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.infra.clock import as_utc, local_zone
from bot.infra.numbering import random_number
from bot.models import FaultState, GasAccount, GasAccountBinding, MeterFaultKind, MeterFaultReport

TICKET_PREFIX = "BX"
_TICKET = re.compile(rf"{TICKET_PREFIX}\d{{8}}-?\d{{5}}", re.IGNORECASE)

# Checked in order: "不走" must not be taken for "走快", nor "慢" inside "走得很慢" for fast.
_KIND_WORDS: tuple[tuple[MeterFaultKind, tuple[str, ...]], ...] = (
    (
        MeterFaultKind.STOPPED,
        (
            "失灵",
            "不走",
            "不转",
            "不动",
            "停了",
            "停走",
            "不显示",
            "黑屏",
            "卡住",
        ),
    ),
    (MeterFaultKind.SLOW, ("慢", "少走", "偏低", "少计")),
    (MeterFaultKind.FAST, ("快", "飞转", "跑字", "跳字", "偏高", "多走", "多计", "虚高", "乱跳")),
    # Only when nothing says how: "坏了 走得特别快" is fast, "坏了" alone has stopped.
    (MeterFaultKind.STOPPED, ("坏了", "没反应")),
)
# Hurry, not a fast meter: "快来修", "尽快".
_HURRY = re.compile(r"快来|快点|快些|尽快|赶快|赶紧|快帮|快过来|快派")

KIND_LABELS = {
    MeterFaultKind.FAST: "走快",
    MeterFaultKind.SLOW: "走慢",
    MeterFaultKind.STOPPED: "失灵（不走字）",
    MeterFaultKind.OTHER: "其他异常",
}
STATE_LABELS = {
    FaultState.OPEN: "已受理，等待安排上门检查",
    FaultState.IN_PROGRESS: "处理中",
    FaultState.RESOLVED: "已处理完毕",
}


def classify_fault(text: str) -> MeterFaultKind:
    text = _HURRY.sub("", text or "")
    for kind, words in _KIND_WORDS:
        if any(word in text for word in words):
            return kind
    return MeterFaultKind.OTHER


def find_ticket_no(text: str) -> str | None:
    match = _TICKET.search(re.sub(r"\s", "", text or ""))
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group(0))
    return f"{TICKET_PREFIX}{digits[:8]}-{digits[8:]}"


def report_fault(
    *,
    session: Session,
    account: GasAccount,
    sender_id: str,
    description: str,
    now: datetime,
    kind: MeterFaultKind | None = None,
) -> MeterFaultReport:
    """Store a fault report; its ticket number is the day and 5 random digits."""
    report = MeterFaultReport(
        ticket_no=random_number(
            session,
            MeterFaultReport.ticket_no,
            TICKET_PREFIX,
            as_utc(now).astimezone(local_zone()).date(),
        ),
        account_id=account.id,
        sender_id=sender_id,
        kind=kind or classify_fault(description),
        description=description[:500],
        created_at=now,
        updated_at=now,
    )
    session.add(report)
    session.flush()
    return report


def reports_of(
    *, session: Session, sender_id: str, ticket_no: str | None = None
) -> list[MeterFaultReport]:
    """The reports on the accounts this sender holds (newest first), or the one named."""
    query = (
        select(MeterFaultReport)
        .join(GasAccountBinding, GasAccountBinding.account_id == MeterFaultReport.account_id)
        .where(GasAccountBinding.sender_id == sender_id)
        .order_by(MeterFaultReport.created_at.desc(), MeterFaultReport.id.desc())
    )
    if ticket_no:
        query = query.where(MeterFaultReport.ticket_no == ticket_no)
    return list(session.scalars(query))


def open_reports(*, session: Session, include_resolved: bool = False) -> list[MeterFaultReport]:
    query = select(MeterFaultReport).order_by(MeterFaultReport.created_at)
    if not include_resolved:
        query = query.where(MeterFaultReport.state != FaultState.RESOLVED)
    return list(session.scalars(query))


def update_report(
    *, session: Session, ticket_no: str, state: FaultState, resolution: str, now: datetime
) -> MeterFaultReport | None:
    report = session.scalars(
        select(MeterFaultReport).where(MeterFaultReport.ticket_no == ticket_no)
    ).first()
    if report is None:
        return None
    report.state = state
    report.resolution = resolution[:500] or report.resolution
    report.updated_at = now
    session.flush()
    return report
