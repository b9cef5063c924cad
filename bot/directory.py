"""The department directory: who to refer a customer to, with contact details."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Department


def find_department(*, session: Session, code: str) -> Department | None:
    return session.scalars(select(Department).where(Department.code == code)).first()
