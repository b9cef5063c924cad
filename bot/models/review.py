"""The review inbox: messages the assistant could not place, and their supervisors' labels."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String, Text

from bot.models.base import Base, utcnow


class ReviewItem(Base):
    """One user message worth a supervisor's look (`reason`), masked when collected: the
    inbox never holds personal data. `version` grows with every label, so that of two
    supervisors labelling it at once the second is told (bot/review/service.py)."""

    __tablename__ = "review_item"

    id = Column(Integer, primary_key=True)
    event_id = Column(Integer, nullable=False, unique=True)  # the tracker store's events.id
    sender_id = Column(String(255), nullable=False)  # masked
    channel = Column(String(32), nullable=False, default="")
    reason = Column(String(32), nullable=False, index=True)
    text = Column(Text, nullable=False)  # masked (bot.infra.privacy)
    said_at = Column(DateTime(timezone=True), nullable=False, index=True)
    label = Column(String(16), nullable=False, default="")  # "", intent, out_of_scope, policy_gap
    intent = Column(String(64), nullable=False, default="")
    clause = Column(String(64), nullable=False, default="")  # a clause label, or "not covered"
    labelled_by = Column(String(64), nullable=False, default="")
    labelled_at = Column(DateTime(timezone=True), nullable=True)
    version = Column(Integer, nullable=False, default=1)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<ReviewItem {self.id} {self.reason}>"
