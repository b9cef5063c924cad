"""Home elderly care (居家养老上门服务, 服务管理制度8): the archive of the people served,
their service visits, the quarterly re-check and the centre's follow-up visits.

Two things come from the regulation, and are cited where they happen: every person in the
archive is re-checked once a quarter (每季度核实一次, item 1), and those served are visited
again regularly (定期回访服务对象, item 4). So a person being served always has exactly one
re-check ahead (`ensure_next_recheck`): it is scheduled at registration, topped up when
one is done or its day has passed (the visit lists, `python -m bot visits care-schedule`),
and stops when the person is no longer served (`end_care`). The re-check counts as a
follow-up visit too. The follow-ups after a first service visit (7 and 30 days by default)
are the centre's own choice, in data/organisation.yml.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.gas.schedule import add_months
from bot.infra.clock import as_utc, local_zone
from bot.models import (
    CareVisitKind,
    CareVisitState,
    Community,
    ElderlyCareClient,
    ElderlyCareVisit,
    HalfDay,
    HotlineCall,
)
from bot.organisation import get_organisation

# The services and the words people use for them.
SERVICE_ITEMS: dict[str, tuple[str, ...]] = {
    "助餐": ("助餐", "送餐", "送饭", "做饭", "吃饭", "午餐", "午饭", "晚饭", "送个饭", "老年食堂"),
    "助洁": ("助洁", "保洁", "打扫", "卫生", "清洁", "家政"),
    "助浴": ("助浴", "洗澡", "擦身"),
    "陪护": ("陪护", "陪同", "陪伴", "陪聊", "看护", "照看", "说说话", "聊聊天", "解闷"),
    "健康监测": ("健康监测", "量血压", "测血压", "血压", "血糖", "体检", "健康检查"),
    "康复护理": ("康复", "护理", "按摩", "理疗"),
    "理发": ("理发", "理个发", "剪头", "剪个头", "剪发"),
    "代购": ("代购", "买菜", "买东西", "跑腿"),
}
# 每季度核实一次 (服务管理制度8 item 1): the regulation's period, so not a setting.
RECHECK_MONTHS = 3
CLIENT_PREFIX = "YL"
ASSISTANT = "assistant"
# Kinds of visit that see the person again (定期回访, item 4); the re-check is one of them.
FOLLOW_UP_KINDS = (CareVisitKind.FOLLOW_UP, CareVisitKind.RECHECK)


@dataclass(frozen=True)
class CareRegistration:
    client: ElderlyCareClient
    created: bool
    visit: ElderlyCareVisit
    follow_ups: tuple[ElderlyCareVisit, ...]
    recheck: ElderlyCareVisit | None  # the next quarterly re-check


class CareVisitError(ValueError):
    """The visit cannot be recorded as done (unknown, or not scheduled any more)."""


@dataclass(frozen=True)
class CareScheduleReport:
    """What `ensure_care_schedules` found and did."""

    served: int  # people being served, each with their next re-check
    scheduled: int  # re-checks added by this run
    cancelled: int  # visits after a person's last day, cancelled by this run
    overdue: tuple[ElderlyCareVisit, ...]  # re-checks whose day passed, not recorded done


def read_service_items(text: str) -> list[str]:
    """The services a message asks for, in the order of SERVICE_ITEMS."""
    cleaned = re.sub(r"\s", "", unicodedata.normalize("NFKC", text or ""))
    return [item for item, words in SERVICE_ITEMS.items() if any(w in cleaned for w in words)]


def register_care(
    *,
    session: Session,
    name: str,
    phone: str,
    address: str,
    community: Community,
    items: list[str],
    day: date,
    half_day: HalfDay,
    sender_id: str,
    now: datetime,
) -> CareRegistration:
    """Add the elderly person to the archive (or update their entry), book the first
    service visit, and schedule the follow-up visits not yet scheduled."""
    client = session.scalars(
        select(ElderlyCareClient).where(
            ElderlyCareClient.name == name, ElderlyCareClient.phone == phone
        )
    ).first()
    created = client is None
    if client is None:
        client = ElderlyCareClient(
            client_no=f"tmp-{uuid.uuid4().hex[:16]}",
            name=name,
            phone=phone,
            registered_by=sender_id,
            registered_at=now,
        )
        session.add(client)
    known = [i for i in client.service_items.split("、") if i] if client.service_items else []
    client.service_items = "、".join(dict.fromkeys([*known, *items]))
    client.address, client.community_id = address, community.id
    # Registering someone whose service had ended serves them again.
    client.ended_on, client.end_reason = None, ""
    session.flush()
    if created:
        local_day = now.astimezone(local_zone()).date()
        client.client_no = f"{CLIENT_PREFIX}{local_day:%Y%m%d}-{client.id:04d}"
    visit = ElderlyCareVisit(
        client_id=client.id,
        kind=CareVisitKind.SERVICE,
        visit_date=day,
        half_day=half_day,
        service_items="、".join(items),
        created_by=sender_id,
        created_at=now,
    )
    session.add(visit)
    follow_ups = schedule_follow_ups(session=session, client=client, after=day, now=now)
    session.flush()
    recheck = ensure_next_recheck(session=session, client=client, now=now)
    return CareRegistration(client, created, visit, follow_ups, recheck)


def follow_up_days() -> tuple[int, ...]:
    """Days after a first service visit when the centre visits again: its setting."""
    return get_organisation().elderly_care.follow_up_days


def schedule_follow_ups(
    *, session: Session, client: ElderlyCareClient, after: date, now: datetime
) -> tuple[ElderlyCareVisit, ...]:
    """Follow-up visits `follow_up_days()` after `after`, unless some are scheduled already."""
    pending = session.scalars(
        select(ElderlyCareVisit).where(
            ElderlyCareVisit.client_id == client.id,
            ElderlyCareVisit.kind == CareVisitKind.FOLLOW_UP,
            ElderlyCareVisit.state == CareVisitState.SCHEDULED,
            ElderlyCareVisit.visit_date >= after,
        )
    ).first()
    if pending is not None:
        return ()
    visits = tuple(
        ElderlyCareVisit(
            client_id=client.id,
            kind=CareVisitKind.FOLLOW_UP,
            visit_date=after + timedelta(days=days),
            half_day=HalfDay.AFTERNOON,
            notes="定期回访",
            created_by=ASSISTANT,
            created_at=now,
        )
        for days in follow_up_days()
    )
    session.add_all(visits)
    return visits


def _local_day(moment: datetime) -> date:
    return as_utc(moment).astimezone(local_zone()).date()


def is_served(client: ElderlyCareClient, day: date) -> bool:
    """Whether the person is still served on `day`."""
    return client.ended_on is None or day <= client.ended_on


def _rechecks(session: Session, client: ElderlyCareClient) -> list[ElderlyCareVisit]:
    return list(
        session.scalars(
            select(ElderlyCareVisit)
            .where(
                ElderlyCareVisit.client_id == client.id,
                ElderlyCareVisit.kind == CareVisitKind.RECHECK,
            )
            .order_by(ElderlyCareVisit.visit_date, ElderlyCareVisit.id)
        )
    )


def next_recheck_date(client: ElderlyCareClient, *, after: date, today: date) -> date:
    """The first quarter day (the registration day plus a whole number of quarters) that
    is later than `after` and not before `today`. Counting from the registration day,
    not from the last re-check, keeps the days from drifting in short months."""
    registered = _local_day(client.registered_at)
    quarters = 1
    while True:
        day = add_months(registered, RECHECK_MONTHS * quarters)
        if day > after and day >= today:
            return day
        quarters += 1


def ensure_next_recheck(
    *, session: Session, client: ElderlyCareClient, now: datetime
) -> ElderlyCareVisit | None:
    """Make sure a person being served has exactly one re-check scheduled from today on,
    and one who is not served has none after their last day; returns that re-check.

    Idempotent. A re-check whose day has passed without being recorded done stays as it
    is (overdue, for the staff to do and record); the next one is scheduled anyway, so the
    quarterly rhythm does not stop because one visit was missed.
    """
    today = now.astimezone(local_zone()).date()
    _cancel_after(session, client)
    if not is_served(client, today):
        return None
    rechecks = _rechecks(session, client)
    ahead = [v for v in rechecks if v.state is CareVisitState.SCHEDULED and v.visit_date >= today]
    if ahead:
        for extra in ahead[1:]:  # two made at once by racing callers: keep the first
            extra.state = CareVisitState.CANCELLED
            extra.notes = "重复的季度核实，已取消"
        return ahead[0]
    latest = max(
        (v.visit_date for v in rechecks if v.state is not CareVisitState.CANCELLED), default=None
    )
    day = next_recheck_date(client, after=latest or date.min, today=today)
    if client.ended_on is not None and day > client.ended_on:
        return None
    visit = ElderlyCareVisit(
        client_id=client.id,
        kind=CareVisitKind.RECHECK,
        visit_date=day,
        half_day=HalfDay.AFTERNOON,
        notes="季度核实",
        created_by=ASSISTANT,
        created_at=now,
    )
    session.add(visit)
    session.flush()
    return visit


def _cancel_after(session: Session, client: ElderlyCareClient) -> int:
    """Cancel the person's scheduled visits after their last day; returns how many."""
    if client.ended_on is None:
        return 0
    visits = session.scalars(
        select(ElderlyCareVisit).where(
            ElderlyCareVisit.client_id == client.id,
            ElderlyCareVisit.state == CareVisitState.SCHEDULED,
            ElderlyCareVisit.visit_date > client.ended_on,
        )
    ).all()
    for visit in visits:
        visit.state = CareVisitState.CANCELLED
        visit.notes = f"{visit.notes}（服务已结束）"[:300]
    session.flush()
    return len(visits)


def end_care(*, session: Session, client: ElderlyCareClient, last_day: date, reason: str) -> int:
    """Record that the person is served until `last_day` only; their visits after it are
    cancelled and no re-check is scheduled any more. Returns the visits cancelled."""
    client.ended_on, client.end_reason = last_day, reason.strip()[:200]
    session.flush()
    return _cancel_after(session, client)


def find_client(*, session: Session, client_no: str) -> ElderlyCareClient | None:
    return session.scalars(
        select(ElderlyCareClient).where(ElderlyCareClient.client_no == client_no.strip())
    ).first()


def complete_care_visit(
    *, session: Session, visit_id: int, actor: str, now: datetime, note: str = ""
) -> ElderlyCareVisit:
    """Record a scheduled visit as done (with what was found), and schedule the person's
    next re-check; raises CareVisitError for an unknown or no longer scheduled visit."""
    visit = session.get(ElderlyCareVisit, visit_id)
    if visit is None:
        raise CareVisitError(f"no elderly-care visit {visit_id}")
    if visit.state is not CareVisitState.SCHEDULED:
        raise CareVisitError(f"visit {visit_id} is {visit.state.value}, not scheduled")
    visit.state = CareVisitState.DONE
    done = f"{_local_day(now):%Y-%m-%d} {actor} 已完成" + (
        f":{note.strip()}" if note.strip() else ""
    )
    visit.notes = f"{visit.notes};{done}"[:300] if visit.notes else done[:300]
    session.flush()
    ensure_next_recheck(session=session, client=visit.client, now=now)
    return visit


def ensure_care_schedules(*, session: Session, now: datetime) -> CareScheduleReport:
    """Top up every person's re-check (`ensure_next_recheck`) and cancel what lies after
    a person's last day; running it again changes nothing."""
    today = now.astimezone(local_zone()).date()
    served = scheduled = cancelled = 0
    before = {
        v.id
        for v in session.scalars(
            select(ElderlyCareVisit).where(ElderlyCareVisit.kind == CareVisitKind.RECHECK)
        )
    }
    for client in session.scalars(select(ElderlyCareClient).order_by(ElderlyCareClient.id)):
        cancelled += _cancel_after(session, client)
        visit = ensure_next_recheck(session=session, client=client, now=now)
        if visit is not None:
            served += 1
            scheduled += int(visit.id not in before)
    # Re-checks owed by people still served; those of people no longer served are moot.
    overdue = tuple(
        visit
        for visit in session.scalars(
            select(ElderlyCareVisit)
            .where(
                ElderlyCareVisit.kind == CareVisitKind.RECHECK,
                ElderlyCareVisit.state == CareVisitState.SCHEDULED,
                ElderlyCareVisit.visit_date < today,
            )
            .order_by(ElderlyCareVisit.visit_date, ElderlyCareVisit.id)
        )
        if is_served(visit.client, today)
    )
    return CareScheduleReport(served, scheduled, cancelled, overdue)


def care_visits_between(
    *,
    session: Session,
    first: date,
    last: date,
    kinds: Collection[CareVisitKind] | None = None,
) -> list[ElderlyCareVisit]:
    """Scheduled service, follow-up and re-check visits in [first, last], by date."""
    query = select(ElderlyCareVisit).where(
        ElderlyCareVisit.visit_date >= first,
        ElderlyCareVisit.visit_date <= last,
        ElderlyCareVisit.state == CareVisitState.SCHEDULED,
    )
    if kinds is not None:
        query = query.where(ElderlyCareVisit.kind.in_(list(kinds)))
    return list(session.scalars(query.order_by(ElderlyCareVisit.visit_date, ElderlyCareVisit.id)))


def care_visits_of(*, session: Session, sender_id: str, now: datetime) -> list[ElderlyCareVisit]:
    """The scheduled visits of the people this sender registered, from today on; each
    person's next re-check is topped up first."""
    clients = session.scalars(
        select(ElderlyCareClient).where(ElderlyCareClient.registered_by == sender_id)
    ).all()
    for client in clients:
        ensure_next_recheck(session=session, client=client, now=now)
    from_day = now.astimezone(local_zone()).date()
    return list(
        session.scalars(
            select(ElderlyCareVisit)
            .join(ElderlyCareClient)
            .where(
                ElderlyCareClient.registered_by == sender_id,
                ElderlyCareVisit.visit_date >= from_day,
                ElderlyCareVisit.state == CareVisitState.SCHEDULED,
            )
            .order_by(ElderlyCareVisit.visit_date, ElderlyCareVisit.id)
        )
    )


def log_hotline_call(
    *,
    session: Session,
    topic: str,
    caller_name: str = "",
    caller_phone: str = "",
    notes: str = "",
    received_by: str = "",
    now: datetime,
) -> HotlineCall:
    """Record a call to the elderly-care hotline (item 3), linked to the client if known."""
    client = (
        session.scalars(
            select(ElderlyCareClient).where(ElderlyCareClient.phone == caller_phone)
        ).first()
        if caller_phone
        else None
    )
    call = HotlineCall(
        caller_name=caller_name,
        caller_phone=caller_phone,
        topic=topic,
        notes=notes,
        client_id=client.id if client else None,
        received_by=received_by,
        received_at=now,
    )
    session.add(call)
    session.flush()
    return call
