"""Staff roles, the invites that bind a chat sender to one, and every binding attempt."""

from __future__ import annotations

import enum

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
)

from bot.models.base import Base, enum_values, utcnow


class StaffRole(str, enum.Enum):
    """What a bound staff member is; every role may read staff-only regulations."""

    STAFF = "staff"
    TEACHER = "teacher"
    NURSE = "nurse"
    SUPERVISOR = "supervisor"


class StaffInvite(Base):
    """A one-time code an administrator gives a staff member to bind their chat identity."""

    __tablename__ = "staff_invite"

    id = Column(Integer, primary_key=True)
    code_hash = Column(String(64), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    role = Column(Enum(StaffRole, name="staff_role", values_callable=enum_values), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    used_at = Column(DateTime(timezone=True), nullable=True)
    used_by = Column(String(128), nullable=True)
    # For a teacher: the teacher record the binding links to, so they see their leaves.
    teacher_id = Column(Integer, ForeignKey("teacher.id", ondelete="SET NULL"), nullable=True)

    def __repr__(self) -> str:
        return f"<StaffInvite {self.id} {self.role.value} used={self.used_at is not None}>"


class StaffMember(Base):
    """A chat sender bound to a staff role by redeeming an invite."""

    __tablename__ = "staff_member"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    role = Column(Enum(StaffRole, name="staff_role", values_callable=enum_values), nullable=False)
    invite_id = Column(Integer, ForeignKey("staff_invite.id", ondelete="SET NULL"), nullable=True)
    bound_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<StaffMember {self.role.value} {self.name}>"


class BindingAttempt(Base):
    """One attempt to bind a sender to a record (staff code, gas account, student); also
    staff lifting a target's lock-out (reason `unlocked`)."""

    __tablename__ = "binding_attempt"
    __table_args__ = (Index("ix_binding_attempt_kind_target", "kind", "target"),)

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    # The 户号 or 学号 the attempt named (known or not): lock-outs per target.
    target = Column(String(32), nullable=True)
    succeeded = Column(Boolean, nullable=False)
    reason = Column(String(32), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<BindingAttempt {self.kind} ok={self.succeeded}>"
