"""Database models. Schema changes are Alembic migrations in `bot/migrations/versions/`."""

from __future__ import annotations

import enum
from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeMeta, registry, relationship

# Named constraints keep migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

mapper_registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class Base(metaclass=DeclarativeMeta):
    """Declarative base; written out so type checkers see a class (SQLAlchemy 1.4)."""

    __abstract__ = True
    registry = mapper_registry
    metadata = mapper_registry.metadata
    __init__ = mapper_registry.constructor


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Audience(str, enum.Enum):
    """Who may be answered from a regulation."""

    PUBLIC = "public"
    STAFF = "staff"


class PolicyDocument(Base):
    """One regulation (a 服务管理制度 or a sub-regulation inside one)."""

    __tablename__ = "policy_document"

    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False, unique=True)
    source = Column(String(64), nullable=False)
    title = Column(String(128), nullable=False)
    audience = Column(
        Enum(Audience, name="audience", values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    department = Column(String(32), nullable=False)
    ordinal = Column(Integer, nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    clauses = relationship(
        "PolicyClause",
        back_populates="document",
        order_by="PolicyClause.ordinal",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<PolicyDocument {self.code} {self.title} ({self.audience.value})>"


class PolicyClause(Base):
    """One numbered clause of a regulation, the unit that policy answers quote."""

    __tablename__ = "policy_clause"
    __table_args__ = (UniqueConstraint("document_id", "ordinal"),)

    id = Column(Integer, primary_key=True)
    document_id = Column(
        Integer, ForeignKey("policy_document.id", ondelete="CASCADE"), nullable=False, index=True
    )
    ordinal = Column(Integer, nullable=False)
    number = Column(String(32), nullable=False)
    label = Column(String(64), nullable=False)
    heading = Column(String(128), nullable=False, default="")
    text = Column(Text, nullable=False)

    document = relationship("PolicyDocument", back_populates="clauses")

    @property
    def citation(self) -> str:
        """E.g. 《饮用水消毒制度》(服务管理制度3) 第二条第2款."""
        return f"《{self.document.title}》({self.document.source}) {self.label}"

    def __repr__(self) -> str:
        return f"<PolicyClause {self.document_id}:{self.label}>"


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
    is_demo = Column(Boolean, nullable=False, default=False)

    def __repr__(self) -> str:
        return f"<Department {self.code} {self.name}>"


class StaffRole(str, enum.Enum):
    """What a bound staff member is; every role may read staff-only regulations."""

    STAFF = "staff"
    TEACHER = "teacher"
    NURSE = "nurse"
    SUPERVISOR = "supervisor"


def _enum_values(enum_class: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_class]


class StaffInvite(Base):
    """A one-time code an administrator gives a staff member to bind their chat identity."""

    __tablename__ = "staff_invite"

    id = Column(Integer, primary_key=True)
    code_hash = Column(String(64), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    role = Column(Enum(StaffRole, name="staff_role", values_callable=_enum_values), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    used_at = Column(DateTime(timezone=True), nullable=True)
    used_by = Column(String(128), nullable=True)

    def __repr__(self) -> str:
        return f"<StaffInvite {self.id} {self.role.value} used={self.used_at is not None}>"


class StaffMember(Base):
    """A chat sender bound to a staff role by redeeming an invite."""

    __tablename__ = "staff_member"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    role = Column(Enum(StaffRole, name="staff_role", values_callable=_enum_values), nullable=False)
    invite_id = Column(Integer, ForeignKey("staff_invite.id", ondelete="SET NULL"), nullable=True)
    bound_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<StaffMember {self.role.value} {self.name}>"


class BindingAttempt(Base):
    """One attempt to bind a sender to a record (staff code, gas account, student)."""

    __tablename__ = "binding_attempt"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    succeeded = Column(Boolean, nullable=False)
    reason = Column(String(32), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<BindingAttempt {self.kind} ok={self.succeeded}>"
