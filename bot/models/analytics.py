"""The operators' figures of closed days, stored once (bot/analytics/service.py)."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Integer, String, Text, UniqueConstraint

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
