"""The review desk's users, sign-in attempts and server-side sessions."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    String,
    Text,
)

from bot.models.base import Base, utcnow


class DashboardUser(Base):
    """Someone who signs in to the review desk; the password is argon2-hashed. `role`
    (bot.admin.auth.DeskRole) says which pages they may open."""

    __tablename__ = "dashboard_user"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False, default="")
    # The department whose handoff queue the user answers (bot/handoff); "" for none.
    department = Column(String(32), nullable=False, default="")
    password_hash = Column(String(256), nullable=False)
    is_active = Column(Boolean, nullable=False, default=True)
    role = Column(String(16), nullable=False, default="agent", server_default="agent")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_login_at = Column(DateTime(timezone=True), nullable=True)

    def __repr__(self) -> str:
        return f"<DashboardUser {self.username}>"


class DashboardLoginAttempt(Base):
    """One sign-in attempt, kept to throttle password guessing (also for unknown names)."""

    __tablename__ = "dashboard_login_attempt"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, index=True)
    client = Column(String(64), nullable=False, default="")
    succeeded = Column(Boolean, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<DashboardLoginAttempt ok={self.succeeded}>"


class DashboardSession(Base):
    """A review-desk session, kept on the server: the cookie holds only a random id whose
    SHA-256 is stored here, so signing out or disabling the user ends it at once."""

    __tablename__ = "dashboard_session"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    # Set once signed in; the session before it only carries the sign-in form's CSRF token.
    username = Column(String(64), nullable=True, index=True)
    data = Column(Text, nullable=False, default="{}")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False, index=True)

    def __repr__(self) -> str:
        return f"<DashboardSession {self.id} {self.username or '-'}>"
