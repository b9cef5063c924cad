"""What supervisors look at: filtered lists, open and overdue complaints, statistics, CSV."""

from __future__ import annotations

import csv
import io
import statistics as stats
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.complaints.catalog import Catalog
from bot.complaints.filing import to_utc
from bot.complaints.workflow import OPEN_STATES
from bot.infra.clock import as_utc, local_zone
from bot.models import Complaint, ComplaintState, Praise, SurveyAnswer

OPEN = "open"
OVERDUE = "overdue"
# A cell starting with one of these is a formula to Excel: quote it (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ComplaintFilter:
    """The dashboard's filters; empty values mean "any"."""

    state: str = ""  # a ComplaintState value, or "open"
    department: str = ""
    category: str = ""
    older_than_days: int | None = None
    overdue: bool = False


def list_complaints(
    *, session: Session, filters: ComplaintFilter, now: datetime, limit: int = 1000
) -> list[Complaint]:
    """Complaints matching the filters, the most urgent (earliest due) first."""
    query = select(Complaint)
    if filters.state == OPEN:
        query = query.where(Complaint.state.in_(OPEN_STATES))
    elif filters.state:
        query = query.where(Complaint.state == ComplaintState(filters.state))
    if filters.department:
        query = query.where(Complaint.department == filters.department)
    if filters.category:
        query = query.where(Complaint.category == filters.category)
    if filters.older_than_days is not None:
        cutoff = to_utc(now) - timedelta(days=filters.older_than_days)
        query = query.where(Complaint.created_at <= cutoff)
    if filters.overdue:
        query = query.where(Complaint.state.in_(OPEN_STATES), Complaint.due_at < to_utc(now))
    query = query.order_by(
        (Complaint.state == ComplaintState.CLOSED), Complaint.due_at, Complaint.id
    ).limit(limit)
    return list(session.scalars(query))


def open_complaints(
    *, session: Session, now: datetime, overdue_only: bool = False
) -> list[Complaint]:
    return list_complaints(
        session=session, filters=ComplaintFilter(state=OPEN, overdue=overdue_only), now=now
    )


@dataclass
class Statistics:
    total: int = 0
    open: int = 0
    overdue: int = 0
    praise: int = 0
    by_week: list[tuple[str, int]] = field(default_factory=list)
    by_department: list[tuple[str, int]] = field(default_factory=list)
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_state: list[tuple[str, int]] = field(default_factory=list)
    hours_to_close_median: float | None = None
    hours_to_close_mean: float | None = None
    close_time_buckets: list[tuple[str, int]] = field(default_factory=list)
    satisfaction: list[tuple[str, int]] = field(default_factory=list)
    satisfaction_mean: float | None = None


def week_label(moment: datetime) -> str:
    local = as_utc(moment).astimezone(local_zone())
    monday = local.date() - timedelta(days=local.weekday())
    return f"{monday:%m-%d}"


_CLOSE_BUCKETS = ((24, "≤1天"), (72, "1-3天"), (168, "3-7天"), (None, ">7天"))


def statistics(*, session: Session, now: datetime, catalog: Catalog, weeks: int = 12) -> Statistics:
    """Counts by week, department, category and state; time to close; satisfaction."""
    complaints = list(session.scalars(select(Complaint)))
    result = Statistics(total=len(complaints))
    result.open = sum(c.state in OPEN_STATES for c in complaints)
    result.overdue = sum(
        c.state in OPEN_STATES and as_utc(c.due_at) < as_utc(now) for c in complaints
    )
    result.praise = session.scalar(select(func.count(Praise.id))) or 0
    this_monday = as_utc(now).astimezone(local_zone()) - timedelta(
        days=as_utc(now).astimezone(local_zone()).weekday()
    )
    labels = [week_label(this_monday - timedelta(weeks=n)) for n in range(weeks - 1, -1, -1)]
    per_week = Counter(week_label(c.created_at) for c in complaints)
    result.by_week = [(label, per_week.get(label, 0)) for label in labels]
    departments = Counter(c.department for c in complaints)
    result.by_department = [
        (d.name, departments.get(code, 0)) for code, d in catalog.departments.items()
    ]
    categories = Counter(c.category for c in complaints)
    result.by_category = [
        (c.name, categories.get(code, 0)) for code, c in catalog.categories.items()
    ]
    states = Counter(c.state.value for c in complaints)
    result.by_state = [
        (catalog.states.get(s.value, s.value), states.get(s.value, 0)) for s in ComplaintState
    ]
    hours = [
        (as_utc(c.closed_at) - as_utc(c.created_at)).total_seconds() / 3600
        for c in complaints
        if c.closed_at is not None
    ]
    if hours:
        result.hours_to_close_median = round(stats.median(hours), 1)
        result.hours_to_close_mean = round(stats.fmean(hours), 1)
    buckets: Counter[str] = Counter()
    for value in hours:
        label = next(name for limit, name in _CLOSE_BUCKETS if limit is None or value <= limit)
        buckets[label] += 1
    result.close_time_buckets = [(name, buckets.get(name, 0)) for _, name in _CLOSE_BUCKETS]
    scores = list(session.scalars(select(SurveyAnswer.score)))
    per_score = Counter(scores)
    result.satisfaction = [(str(n), per_score.get(n, 0)) for n in range(1, 6)]
    if scores:
        result.satisfaction_mean = round(stats.fmean(scores), 2)
    return result


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return f"{as_utc(moment).astimezone(local_zone()):%Y-%m-%d %H:%M}"


CSV_HEADER = (
    "受理编号",
    "受理时间",
    "部门",
    "类别",
    "状态",
    "事情经过",
    "时间地点",
    "涉及人员",
    "联系方式",
    "处理人",
    "调查结论",
    "责任人",
    "处理结果",
    "应答期限",
    "是否超期",
    "办结时间",
    "满意度",
)


def export_csv(complaints: list[Complaint], *, catalog: Catalog, now: datetime) -> str:
    """The complaints as CSV text starting with a byte-order mark, so Excel reads UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for c in complaints:
        overdue = c.state in OPEN_STATES and as_utc(c.due_at) < as_utc(now)
        writer.writerow(
            [
                _cell(value)
                for value in (
                    c.ticket_no,
                    _local(c.created_at),
                    catalog.department_name(c.department),
                    catalog.category_name(c.category),
                    catalog.states.get(c.state.value, c.state.value),
                    c.description,
                    c.occurred,
                    c.staff_involved,
                    c.contact,
                    c.assignee,
                    catalog.findings.get(c.finding.value, "") if c.finding else "",
                    c.responsible_staff,
                    c.resolution,
                    _local(c.due_at),
                    "是" if overdue else "否",
                    _local(c.closed_at),
                    c.survey.score if c.survey else "",
                )
            ]
        )
    return "\ufeff" + buffer.getvalue()
