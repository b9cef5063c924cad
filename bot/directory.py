"""The department directory: who to refer a customer to, with contact details."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.complaints.catalog import get_catalog
from bot.infra.db import DatabaseUnavailable, unit_of_work
from bot.models import Department

logger = logging.getLogger(__name__)

# The department that takes complaints and praise (服务流程管理制度 内容概述; 营业大厅管理制度
# 三、7 and 12; 服务管理制度7 item 7 and 10), whatever service they are about.
SERVICE_DESK = "service"
_SERVICE_DESK_WORDS = ("投诉", "表扬", "建议", "意见", "回访", "满意度")


def find_department(*, session: Session, code: str) -> Department | None:
    return session.scalars(select(Department).where(Department.code == code)).first()


GAS = "gas"
# A request for the line answered day and night: "抢修电话多少", "24小时抢修电话", "漏气打哪个电话".
_EMERGENCY_WORDS = re.compile(
    r"抢修|急修|漏气|燃气味|煤气味|24\s*小时|二十四小时|紧急|应急|值班电话"
)


def asks_emergency_line(text: str) -> bool:
    """Whether a request for contact details asks for the emergency line."""
    return bool(_EMERGENCY_WORDS.search(text))


def emergency_line(*, session: Session) -> str:
    """The gas utility's 24-hour emergency number, or "" when the directory has none."""
    department = find_department(session=session, code=GAS)
    return department.emergency_phone if department else ""


def list_departments(*, session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.id)))


def named_department(text: str, *, session: Session) -> Department | None:
    """The one service department `text` names by the complaint catalog's keywords
    ("修的时候要停气不": gas), or None."""
    code = get_catalog().guess_department(text)
    return find_department(session=session, code=code) if code else None


def departments_for(text: str, *, session: Session) -> list[Department]:
    """The departments a request for contact details is about: the complaints desk when
    it names complaints or praise, else the one service it names (燃气, 学校, 护士 ...,
    by the complaint catalog's keywords), else all of them."""
    code = (
        SERVICE_DESK
        if any(word in text for word in _SERVICE_DESK_WORDS)
        else get_catalog().guess_department(text)
    )
    named = find_department(session=session, code=code) if code else None
    return [named] if named else list_departments(session=session)


@dataclass(frozen=True)
class DepartmentContact:
    """How to reach a department."""

    name: str
    phone: str
    opening_hours: str
    address: str
    services: str


def contacts_for(text: str) -> list[DepartmentContact]:
    """The contact details of the departments a request is about (`departments_for`), in
    a unit of work of its own."""
    with unit_of_work() as session:
        return [
            DepartmentContact(d.name, d.phone, d.opening_hours, d.address, d.services)
            for d in departments_for(text, session=session)
        ]


def emergency_contact(text: str) -> str:
    """The 24-hour emergency number when a request for contact details asks for it ("抢修电话
    多少"), else "" (then `contacts_for` answers), in a unit of work of its own."""
    if not asks_emergency_line(text):
        return ""
    with unit_of_work() as session:
        return emergency_line(session=session)


def emergency_number() -> str:
    """The gas utility's 24-hour emergency number ("" when the directory has none or cannot
    be read: the safety steps go out all the same)."""
    try:
        with unit_of_work() as session:
            return emergency_line(session=session)
    except DatabaseUnavailable:
        logger.exception("emergency line unavailable")
        return ""
