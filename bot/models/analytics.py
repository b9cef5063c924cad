"""The operators' figures of closed days, stored once (bot/analytics/service.py), and the
index of conversations the desk finds them by (bot/analytics/conversations.py)."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Index, Integer, String, Text, UniqueConstraint

from bot.models.base import Base, utcnow


class AnalyticsDay(Base):
    """The figures (JSON, `bot.analytics.figures.DayFigures.as_json`) of one closed local
    day on one channel; a day with no traffic has one row with channel ""."""

    __tablename__ = "analytics_day"
    __table_args__ = (UniqueConstraint("day", "channel"),)

    id = Column(Integer, primary_key=True)
    day = Column(Date, nullable=False, index=True)
    channel = Column(String(32), nullable=False, default="")
    figures = Column(Text, nullable=False)
    computed_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<AnalyticsDay {self.day} {self.channel}>"


class ConversationSession(Base):
    """One conversation (a Rasa session with a user message) of the tracker store, summed
    with the figures' classification (bot/analytics/sessions.py) so that the desk finds
    conversations by channel, day, flow and outcome without reading the events. Holds no
    text: the transcript is read from the tracker store, masked, when opened."""

    __tablename__ = "conversation_session"
    __table_args__ = (Index("ix_conversation_session_sender", "sender_id", "first_event_id"),)

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), nullable=False)
    first_event_id = Column(Integer, nullable=False, unique=True)  # the tracker's events.id
    last_event_id = Column(Integer, nullable=False, index=True)
    channel = Column(String(32), nullable=False, default="")
    started_at = Column(DateTime(timezone=True), nullable=False, index=True)
    last_at = Column(DateTime(timezone=True), nullable=False)
    user_messages = Column(Integer, nullable=False, default=0)
    not_understood = Column(Integer, nullable=False, default=0)
    completed = Column(Integer, nullable=False, default=0)
    abandoned = Column(Integer, nullable=False, default=0)
    handoffs = Column(Integer, nullable=False, default=0)
    policy_not_answered = Column(Integer, nullable=False, default=0)
    flows = Column(String(255), nullable=False, default="")  # " leave_form policy ", spaced
    outcome = Column(String(16), nullable=False)  # bot.analytics.sessions.Outcome

    def __repr__(self) -> str:
        return f"<ConversationSession {self.id} {self.outcome}>"
