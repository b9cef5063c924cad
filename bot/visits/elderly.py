"""Home elderly care (居家养老上门服务, 服务管理制度8): the archive of the people served,
their service visits, and the centre's regular follow-up visits (定期回访, item 4)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import local_zone
from bot.models import (
    CareVisitKind,
    CareVisitState,
    Community,
    ElderlyCareClient,
    ElderlyCareVisit,
    HalfDay,
    HotlineCall,
)

# The services and the words people use for them.
SERVICE_ITEMS: dict[str, tuple[str, ...]] = {
    "助餐": ("助餐", "送餐", "送饭", "做饭", "吃饭", "午餐", "老年食堂"),
    "助洁": ("助洁", "保洁", "打扫", "卫生", "清洁", "家政"),
    "助浴": ("助浴", "洗澡", "擦身"),
    "陪护": ("陪护", "陪同", "陪伴", "陪聊", "看护", "照看"),
    "健康监测": ("健康监测", "量血压", "测血压", "血压", "血糖", "体检", "健康检查"),
    "康复护理": ("康复", "护理", "按摩", "理疗"),
    "理发": ("理发", "剪头", "剪发"),
    "代购": ("代购", "买菜", "买东西", "跑腿"),
}
# Follow-up visits after the first service visit: a week, a month, a quarter (the
# archive is checked each quarter, item 1).
FOLLOW_UP_DAYS = (7, 30, 90)
CLIENT_PREFIX = "YL"


@dataclass(frozen=True)
class CareRegistration:
    client: ElderlyCareClient
    created: bool
    visit: ElderlyCareVisit
    follow_ups: tuple[ElderlyCareVisit, ...]


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
    return CareRegistration(client, created, visit, follow_ups)


def schedule_follow_ups(
    *, session: Session, client: ElderlyCareClient, after: date, now: datetime
) -> tuple[ElderlyCareVisit, ...]:
    """Follow-up visits FOLLOW_UP_DAYS after `after`, unless some are scheduled already."""
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
            created_by="assistant",
            created_at=now,
        )
        for days in FOLLOW_UP_DAYS
    )
    session.add_all(visits)
    return visits


def care_visits_between(
    *, session: Session, first: date, last: date, kind: CareVisitKind | None = None
) -> list[ElderlyCareVisit]:
    """Scheduled service and follow-up visits in [first, last], by date."""
    query = select(ElderlyCareVisit).where(
        ElderlyCareVisit.visit_date >= first,
        ElderlyCareVisit.visit_date <= last,
        ElderlyCareVisit.state == CareVisitState.SCHEDULED,
    )
    if kind is not None:
        query = query.where(ElderlyCareVisit.kind == kind)
    return list(session.scalars(query.order_by(ElderlyCareVisit.visit_date, ElderlyCareVisit.id)))


def care_visits_of(*, session: Session, sender_id: str, from_day: date) -> list[ElderlyCareVisit]:
    """The scheduled visits of the people this sender registered, from `from_day` on."""
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
