"""The review desk's sessions, kept on the server.

The cookie holds only a random id (opaque: nothing to read or alter in it); the session's
data lives in `dashboard_session` under the id's HMAC-SHA-256 with ADMIN_SECRET_KEY.
Signing out deletes the row, so the old cookie is worthless at once; `admin
disable-user` deletes the user's rows (`end_sessions`). Signing in issues a new id (no
session fixation). A session lasts `max_age` seconds from its creation. The cookie is
HttpOnly, SameSite=Lax and Secure unless configured off, or, with no configuration, the
request is to localhost.

Endpoints use `request.session` as with Starlette's SessionMiddleware.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.infra.db import session_scope
from bot.models import DashboardSession

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def token_hash(key: str, token: str) -> str:
    return hmac.new(key.encode("utf-8"), token.encode("utf-8"), hashlib.sha256).hexdigest()


def end_sessions(*, session: Session, username: str) -> int:
    """Delete every session of `username`; returns how many there were."""
    result = session.execute(delete(DashboardSession).where(DashboardSession.username == username))
    return int(result.rowcount or 0)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class ServerSessionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        engine: Engine | None,
        key: str,
        cookie_name: str,
        max_age: int,
        secure: bool | None,
    ) -> None:
        self.app, self.engine, self.key = app, engine, key
        self.cookie_name, self.max_age, self.secure = cookie_name, max_age, secure

    def _load(self, token: str | None) -> tuple[int | None, dict[str, Any]]:
        if not token or len(token) > 100:
            return None, {}
        with session_scope(self.engine) as session:
            row = session.scalars(
                select(DashboardSession).where(
                    DashboardSession.token_hash == token_hash(self.key, token)
                )
            ).first()
            if row is None:
                return None, {}
            if _aware(row.expires_at) <= _now():
                session.delete(row)
                return None, {}
            try:
                data = json.loads(row.data or "{}")
            except ValueError:
                data = {}
            return row.id, data if isinstance(data, dict) else {}

    def _save(self, row_id: int | None, data: dict[str, Any], rotate: bool) -> str | None:
        """Store the session; a new cookie value when a new id is issued, else None.
        An empty session is deleted."""
        now = _now()
        with session_scope(self.engine) as session:
            if row_id is not None and (rotate or not data):
                session.execute(delete(DashboardSession).where(DashboardSession.id == row_id))
                row_id = None
            if not data:
                return None
            if row_id is not None:
                row = session.get(DashboardSession, row_id)
                if row is not None:
                    row.data = json.dumps(data, ensure_ascii=False)
                    row.username = data.get("user")
                    return None
            # Expired sessions go when new ones come.
            session.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))
            token = secrets.token_urlsafe(32)
            session.add(
                DashboardSession(
                    token_hash=token_hash(self.key, token),
                    username=data.get("user"),
                    data=json.dumps(data, ensure_ascii=False),
                    created_at=now,
                    expires_at=now + timedelta(seconds=self.max_age),
                )
            )
            return token

    def _is_secure(self, connection: HTTPConnection) -> bool:
        if self.secure is not None:
            return self.secure
        return (connection.url.hostname or "").lower() not in LOCAL_HOSTS

    def _cookie(self, value: str, max_age: int, secure: bool) -> str:
        parts = [
            f"{self.cookie_name}={value}",
            "path=/",
            f"Max-Age={max_age}",
            "httponly",
            "samesite=lax",
        ]
        if secure:
            parts.append("secure")
        return "; ".join(parts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        row_id, data = self._load(connection.cookies.get(self.cookie_name))
        before = json.dumps(data, sort_keys=True)
        user_before = data.get("user")
        scope["session"] = data
        had_cookie = self.cookie_name in connection.cookies

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                session: dict[str, Any] = scope["session"]
                rotate = bool(session) and session.get("user") != user_before
                if rotate or json.dumps(session, sort_keys=True) != before:
                    token = self._save(row_id, session, rotate)
                    headers = MutableHeaders(scope=message)
                    secure = self._is_secure(connection)
                    if token is not None:
                        headers.append("set-cookie", self._cookie(token, self.max_age, secure))
                    elif not session and had_cookie:
                        headers.append("set-cookie", self._cookie("null", 0, secure))
            await send(message)

        await self.app(scope, receive, send_with_cookie)
