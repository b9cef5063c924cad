"""Conversations handed to a person (转人工), what was said in them, and staff notifications.

The database is the queue: every Rasa server and every desk process reads and writes these
rows, so two of each share one queue (bot/handoff/service.py claims with a conditional
UPDATE, so that of two agents claiming at once exactly one wins).
"""

from __future__ import annotations

import enum

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from bot.models.base import Base, utcnow


class HandoffStatus(str, enum.Enum):
    QUEUED = "queued"  # waiting in a department's queue, the assistant silent
    HELD = "held"  # a person holds it
    MESSAGE = "message"  # left outside staffed hours (留言), waiting for staff
    CLOSED = "closed"


class HandoffConversation(Base):
    """One handoff of a sender's conversation to a department's staff.

    `silent`: the assistant is paused for the sender (Rasa's ConversationPaused) and their
    messages go to the person. `resumed`: once `silent` ended, the Rasa conversation was
    resumed (by the desk through Rasa's HTTP API, or by the Rasa server on the sender's
    next message when that call failed: bot/runtime/handoff_relay.py)."""

    __tablename__ = "handoff_conversation"

    id = Column(Integer, primary_key=True)
    reference = Column(String(32), nullable=False, unique=True)
    sender_id = Column(String(128), nullable=False, index=True)
    department = Column(String(32), nullable=False, index=True)
    status = Column(String(16), nullable=False, index=True)
    reason = Column(String(16), nullable=False, default="asked")  # asked, fallback, safety
    question = Column(Text, nullable=False, default="")  # the customer's last question
    silent = Column(Boolean, nullable=False, default=True)
    resumed = Column(Boolean, nullable=False, default=False)
    queued_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    claimed_by = Column(String(64), nullable=False, default="")
    claimed_name = Column(String(64), nullable=False, default="")
    claimed_at = Column(DateTime(timezone=True), nullable=True)
    last_activity_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    closed_at = Column(DateTime(timezone=True), nullable=True)
    closed_by = Column(String(64), nullable=False, default="")
    close_reason = Column(String(16), nullable=False, default="")
    # The customer's channel refused a message (blocked bot, WeChat's 48-hour window).
    channel_problem = Column(String(200), nullable=False, default="")
    version = Column(Integer, nullable=False, default=1)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<HandoffConversation {self.reference} {self.status}>"


class HandoffEntry(Base):
    """What was said or done in a handoff, in order: the audit trail. `kind`: customer,
    agent (a person's reply), system (told to the customer by the desk), note (an event
    the customer is not told: claimed, transferred). `delivery`: sent, failed,
    no_channel, or push (waiting for the web chat's push connection)."""

    __tablename__ = "handoff_entry"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        Integer, ForeignKey("handoff_conversation.id"), nullable=False, index=True
    )
    sender_id = Column(String(128), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    author = Column(String(64), nullable=False, default="")
    author_name = Column(String(64), nullable=False, default="")
    text = Column(Text, nullable=False)
    delivery = Column(String(16), nullable=False, default="")
    delivery_detail = Column(String(200), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<HandoffEntry {self.id} {self.kind}>"


class StaffNotificationSetting(Base):
    """A bound staff member who switched their notifications off (absent: on)."""

    __tablename__ = "staff_notification_setting"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, unique=True)
    enabled = Column(Boolean, nullable=False, default=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<StaffNotificationSetting {self.enabled}>"


class StaffNotification(Base):
    """One notification sent to one staff member about one thing (a leave, a booking, a
    complaint, an overdue complaint): each is sent once, whichever process sees it first."""

    __tablename__ = "staff_notification"
    __table_args__ = (UniqueConstraint("kind", "subject", "sender_id"),)

    id = Column(Integer, primary_key=True)
    kind = Column(String(32), nullable=False)
    subject = Column(String(64), nullable=False)
    sender_id = Column(String(128), nullable=False)
    delivery = Column(String(16), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<StaffNotification {self.kind} {self.subject}>"
