"""The gas business halls customers can visit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import BusinessHall


def list_halls(*, session: Session) -> list[BusinessHall]:
    return list(session.scalars(select(BusinessHall).order_by(BusinessHall.id)))
