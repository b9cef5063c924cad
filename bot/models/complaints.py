"""Complaints and their events and notifications, survey answers and praise."""

from __future__ import annotations

import enum
from typing import Any, ClassVar

from sqlalchemy import (
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import relationship

from bot.models.base import Base, enum_values, utcnow

# --- Complaints and praise (服务流程管理制度; 营业大厅管理制度 三、7, 12; 制度7 item 7; 制度10) -
# Departments and categories are codes from data/complaints/catalog.yml, so that a new
# category needs no migration.


class ComplaintState(str, enum.Enum):
    """new → assigned → in_progress → resolved → closed (see bot.complaints.workflow)."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class ComplaintFinding(str, enum.Enum):
    """A supervisor's finding on a complaint: 属实 or 不属实."""

    SUBSTANTIATED = "substantiated"
    UNSUBSTANTIATED = "unsubstantiated"


class Complaint(Base):
    """A complaint (投诉) with its ticket number, reviewed by a supervisor until closed.

    `version` is checked on every update (optimistic concurrency): of two supervisors
    changing the same complaint at once, the second is told it changed.
    """

    __tablename__ = "complaint"

    id = Column(Integer, primary_key=True)
    ticket_no = Column(String(24), nullable=False, unique=True)
    sender_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(16), nullable=False, default="")
    department = Column(String(16), nullable=False, index=True)
    category = Column(String(16), nullable=False, index=True)
    description = Column(Text, nullable=False)
    occurred = Column(String(200), nullable=False, default="")
    staff_involved = Column(String(100), nullable=False, default="")
    contact = Column(String(100), nullable=False, default="")
    state = Column(
        Enum(ComplaintState, name="complaint_state", values_callable=enum_values),
        nullable=False,
        default=ComplaintState.NEW,
        index=True,
    )
    assignee = Column(String(64), nullable=False, default="")
    finding = Column(
        Enum(ComplaintFinding, name="complaint_finding", values_callable=enum_values),
        nullable=True,
    )
    responsible_staff = Column(String(100), nullable=False, default="")
    resolution = Column(Text, nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    due_at = Column(DateTime(timezone=True), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    closed_at = Column(DateTime(timezone=True), nullable=True)
    version = Column(Integer, nullable=False, default=1)
    # The request that filed it (bot.infra.idempotency): a repeated confirmation finds this row.
    request_key = Column(String(64), nullable=True, unique=True)

    events = relationship(
        "ComplaintEvent",
        back_populates="complaint",
        order_by="ComplaintEvent.id",
        cascade="all, delete-orphan",
    )
    survey = relationship("SurveyAnswer", back_populates="complaint", uselist=False)
    notifications = relationship(
        "ComplaintNotification", back_populates="complaint", order_by="ComplaintNotification.id"
    )

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Complaint {self.ticket_no} {self.state.value}>"


class ComplaintEvent(Base):
    """The audit trail: who changed a complaint, when, and the fields before and after."""

    __tablename__ = "complaint_event"

    id = Column(Integer, primary_key=True)
    complaint_id = Column(
        Integer, ForeignKey("complaint.id", ondelete="CASCADE"), nullable=False, index=True
    )
    actor = Column(String(128), nullable=False)
    action = Column(String(32), nullable=False)
    # JSON objects of the fields that changed (empty for events that change none).
    before = Column(Text, nullable=False, default="{}")
    after = Column(Text, nullable=False, default="{}")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    complaint = relationship("Complaint", back_populates="events")

    def __repr__(self) -> str:
        return f"<ComplaintEvent {self.complaint_id} {self.action} by {self.actor}>"


class ComplaintNotification(Base):
    """A message to the complainant (the outcome when closed), as delivered or not."""

    __tablename__ = "complaint_notification"

    id = Column(Integer, primary_key=True)
    complaint_id = Column(
        Integer, ForeignKey("complaint.id", ondelete="CASCADE"), nullable=False, index=True
    )
    sender_id = Column(String(128), nullable=False)
    kind = Column(String(16), nullable=False)
    text = Column(Text, nullable=False)
    status = Column(String(16), nullable=False)
    detail = Column(String(200), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    complaint = relationship("Complaint", back_populates="notifications")

    def __repr__(self) -> str:
        return f"<ComplaintNotification {self.complaint_id} {self.kind} {self.status}>"


class SurveyAnswer(Base):
    """The complainant's satisfaction (1-5) with how a closed complaint was handled."""

    __tablename__ = "survey_answer"

    id = Column(Integer, primary_key=True)
    complaint_id = Column(
        Integer, ForeignKey("complaint.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    sender_id = Column(String(128), nullable=False)
    score = Column(Integer, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    complaint = relationship("Complaint", back_populates="survey")

    def __repr__(self) -> str:
        return f"<SurveyAnswer {self.complaint_id} {self.score}>"


class Praise(Base):
    """Praise (表扬) for a service or a staff member, logged for the incentive scheme (制度10)."""

    __tablename__ = "praise"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(16), nullable=False, default="")
    department = Column(String(16), nullable=False, default="")
    staff_named = Column(String(100), nullable=False, default="")
    text = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<Praise {self.id} {self.department}>"
