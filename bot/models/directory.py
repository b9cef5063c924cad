"""The service departments customers are referred to (who to ask, where, when)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    String,
    Text,
)

from bot.models.base import Base


class Department(Base):
    """A service department customers can be referred to (who to ask, where, when)."""

    __tablename__ = "department"

    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    services = Column(Text, nullable=False, default="")
    phone = Column(String(32), nullable=False, default="")
    address = Column(String(128), nullable=False, default="")
    opening_hours = Column(String(128), nullable=False, default="")
    # A line answered day and night, for emergencies (the gas utility's 抢修电话).
    emergency_phone = Column(String(32), nullable=False, default="", server_default="")
    is_demo = Column(Boolean, nullable=False, default=False)

    def __repr__(self) -> str:
        return f"<Department {self.code} {self.name}>"
