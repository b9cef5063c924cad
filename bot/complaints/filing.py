"""Filing complaints and praise from chat, and who may see a complaint's status.

A complaint's ticket number is the local day and five random digits (TS20261125-48213,
`bot.infra.numbering`): one ticket tells nothing about the others.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.complaints.catalog import Catalog
from bot.infra.clock import as_utc, local_zone
from bot.infra.idempotency import request_key
from bot.infra.numbering import random_number
from bot.models import Complaint, ComplaintEvent, ComplaintState, Praise, StaffRole
from bot.staff import staff_member

TICKET_PREFIX = "TS"
_TICKET = re.compile(rf"{TICKET_PREFIX}\s*\d{{8}}\s*-?\s*\d{{5}}", re.IGNORECASE)
_WORK_NUMBER = re.compile(r"工号\s*[::]?\s*([A-Za-z0-9]{2,12})")
# A staff member named by surname and title: 王护士, 李老师, 张师傅.
_NAMED_STAFF = re.compile(
    r"([王李张刘陈杨黄赵周吴徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤][\u4e00-\u9fff]?)"
    r"(护士长|护士|老师|师傅|医生|大夫|阿姨|经理|主任)"
)
MIN_DESCRIPTION = 4
MAX_DESCRIPTION = 2000


class ComplaintError(ValueError):
    """A complaint that cannot be filed as given (empty, unknown department or category)."""


@dataclass(frozen=True)
class ComplaintDraft:
    """What the complainant told us, checked before anything is stored."""

    department: str
    category: str
    description: str
    occurred: str = ""
    staff_involved: str = ""
    contact: str = ""


def to_utc(moment: datetime) -> datetime:
    """Stored times are UTC: SQLite keeps no offset."""
    return as_utc(moment).astimezone(timezone.utc)


def new_ticket_no(session: Session, filed_at: datetime) -> str:
    day = as_utc(filed_at).astimezone(local_zone()).date()
    return random_number(session, Complaint.ticket_no, TICKET_PREFIX, day)


def find_ticket_no(text: str) -> str | None:
    """The ticket number in a message (TS20261125-00007, also lower case or spaced)."""
    match = _TICKET.search(text or "")
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group(0))
    return f"{TICKET_PREFIX}{digits[:8]}-{digits[8:]}"


def find_staff(text: str) -> str:
    """A staff member named in a message (工号 0236, 王护士), or ""."""
    number = _WORK_NUMBER.search(text or "")
    if number:
        return f"工号{number.group(1)}"
    named = _NAMED_STAFF.search(text or "")
    return named.group(0) if named else ""


def check_draft(draft: ComplaintDraft, catalog: Catalog) -> ComplaintDraft:
    description = (draft.description or "").strip()
    if len(description) < MIN_DESCRIPTION:
        raise ComplaintError("a complaint needs a description of what happened")
    if draft.department not in catalog.departments:
        raise ComplaintError(f"unknown department {draft.department!r}")
    if draft.category not in catalog.categories:
        raise ComplaintError(f"unknown category {draft.category!r}")
    return ComplaintDraft(
        department=draft.department,
        category=draft.category,
        description=description[:MAX_DESCRIPTION],
        occurred=draft.occurred.strip()[:200],
        staff_involved=draft.staff_involved.strip()[:100],
        contact=draft.contact.strip()[:100],
    )


def file_complaint(
    *,
    session: Session,
    draft: ComplaintDraft,
    sender_id: str,
    channel: str,
    now: datetime,
    catalog: Catalog,
) -> Complaint:
    """Store a confirmed complaint with its ticket number, due time and first audit event.

    Idempotent: the same complaint from the same sender on the same local day is the one
    already filed (a confirmation sent again), returned as it is."""
    draft = check_draft(draft, catalog)
    filed_at = to_utc(now)
    key = request_key(
        "complaint",
        sender_id,
        filed_at.astimezone(local_zone()).date(),
        draft.department,
        draft.category,
        draft.description,
        draft.occurred,
        draft.staff_involved,
        draft.contact,
    )
    existing = _complaint_with_key(session, key)
    if existing is not None:
        return existing
    ticket_no = new_ticket_no(session, filed_at)
    try:
        # A savepoint: if a repeat of this request wins the race, only this insert is undone.
        with session.begin_nested():
            return _insert_complaint(
                session, draft, sender_id, channel, filed_at, catalog, key, ticket_no
            )
    except IntegrityError:
        existing = _complaint_with_key(session, key)
        if existing is None:
            raise
        return existing


def _complaint_with_key(session: Session, key: str) -> Complaint | None:
    return session.scalars(select(Complaint).where(Complaint.request_key == key)).first()


def _insert_complaint(
    session: Session,
    draft: ComplaintDraft,
    sender_id: str,
    channel: str,
    filed_at: datetime,
    catalog: Catalog,
    key: str,
    ticket_no: str,
) -> Complaint:
    complaint = Complaint(
        request_key=key,
        ticket_no=ticket_no,
        sender_id=sender_id,
        channel=channel[:16],
        department=draft.department,
        category=draft.category,
        description=draft.description,
        occurred=draft.occurred,
        staff_involved=draft.staff_involved,
        contact=draft.contact,
        state=ComplaintState.NEW,
        created_at=filed_at,
        updated_at=filed_at,
        due_at=filed_at + catalog.categories[draft.category].response_time,
    )
    session.add(complaint)
    session.flush()
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id,
            actor=sender_id,
            action="filed",
            before="{}",
            after=json.dumps(
                {"state": "new", "department": draft.department, "category": draft.category},
                ensure_ascii=False,
            ),
            created_at=filed_at,
        )
    )
    session.flush()
    return complaint


def complaints_of(*, session: Session, sender_id: str, limit: int = 5) -> list[Complaint]:
    """The sender's own complaints, newest first."""
    return list(
        session.scalars(
            select(Complaint)
            .where(Complaint.sender_id == sender_id)
            .order_by(Complaint.created_at.desc(), Complaint.id.desc())
            .limit(limit)
        )
    )


def find_complaint(*, session: Session, ticket_no: str) -> Complaint | None:
    return session.scalars(select(Complaint).where(Complaint.ticket_no == ticket_no)).first()


def complaint_for_sender(*, session: Session, ticket_no: str, sender_id: str) -> Complaint | None:
    """The complaint, if this sender filed it or is a bound supervisor; None otherwise, so
    that someone else's ticket looks exactly like one that does not exist. Other staff
    roles are refused: a complaint may be about them, and names its complainant."""
    complaint = find_complaint(session=session, ticket_no=ticket_no)
    if complaint is None:
        return None
    if complaint.sender_id == sender_id:
        return complaint
    member = staff_member(session=session, sender_id=sender_id)
    return complaint if member is not None and member.role is StaffRole.SUPERVISOR else None


def record_praise(
    *,
    session: Session,
    sender_id: str,
    channel: str,
    text: str,
    now: datetime,
    catalog: Catalog,
) -> Praise:
    """Log praise for the incentive scheme (服务管理制度10), with who and which service."""
    praise = Praise(
        sender_id=sender_id,
        channel=channel[:16],
        department=catalog.guess_department(text) or "",
        staff_named=find_staff(text),
        text=text.strip()[:MAX_DESCRIPTION],
        created_at=to_utc(now),
    )
    session.add(praise)
    session.flush()
    return praise
