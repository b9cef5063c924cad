"""The department directory: who to refer a customer to, with contact details."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Department

# Which department handles the request behind each intent.
INTENT_DEPARTMENT = {
    "check_gas_bill": "gas",
    "book_home_visit": "health",
    "file_complaint": "service",
    "ask_policy": "service",
}


def find_department(*, session: Session, code: str) -> Department | None:
    return session.scalars(select(Department).where(Department.code == code)).first()


def department_for_intent(*, session: Session, intent: str | None) -> Department | None:
    """The department that handles `intent`, or None if none is known or stored."""
    code = INTENT_DEPARTMENT.get(intent or "")
    return find_department(session=session, code=code) if code else None
