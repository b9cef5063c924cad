"""The department directory: who to refer a customer to, with contact details."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.complaints.catalog import get_catalog
from bot.db import unit_of_work
from bot.models import Department

# The department that takes complaints and praise (服务流程管理制度 内容概述; 营业大厅管理制度
# 三、7 and 12; 服务管理制度7 item 7 and 10), whatever service they are about.
SERVICE_DESK = "service"
_SERVICE_DESK_WORDS = ("投诉", "表扬", "建议", "意见", "回访", "满意度")


def find_department(*, session: Session, code: str) -> Department | None:
    return session.scalars(select(Department).where(Department.code == code)).first()


def list_departments(*, session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.id)))


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
