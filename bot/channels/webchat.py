"""Web chat: a page anyone can use without Telegram or WeChat, served by the Rasa server.

GET  /webhooks/webchat/          the chat page (bot/channels/static/webchat.html)
POST /webhooks/webchat/webhook   {"message": "..."} -> the assistant's replies as JSON
GET  /webhooks/webchat/events    server-sent events: what a person at the desk says
                                 (bot/handoff), opened by the page while a person has
                                 the conversation

The sender is `web:<id>`, derived from a random session the server issues (HttpOnly,
SameSite=Strict cookie): a caller can neither choose a sender id nor use another's. The
cookie is the session id and its HMAC with `WEBCHAT_SECRET`: a value the client invents
is refused (401), so only the server makes senders. New sessions are rate-limited per
client address (`WEBCHAT_SESSIONS_PER_HOUR`, behind `TRUSTED_PROXIES` the forwarded
client; `bot.channels.client_address`): a guesser cannot buy a fresh lock-out counter
with every cookie. Posts must be JSON, which a cross-site form cannot send.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.client_address import sanic_client_address
from bot.handoff.service import active_for_sender, latest_entry_id, pushes_after
from bot.infra.settings import get_settings, webchat_secret
from bot.runtime import handoff_relay

# A sender a person has taken over is relayed to the person (bot/handoff).
handoff_relay.install()

logger = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "static" / "webchat.html"
COOKIE = "webchat_session"
COOKIE_PATH = "/webhooks/webchat"
SESSION_DAYS = 30
MAX_MESSAGE = 2000  # characters; longer messages are cut, with a note


RATE_WINDOW = 3600.0  # seconds
# The push connection: how often it looks for the desk's messages (the database is the
# queue every Rasa server shares), how often it proves alive, and how long one lasts
# before the browser reconnects (with Last-Event-ID: nothing is lost or repeated).
PUSH_POLL_SECONDS = 1.0
PUSH_PING_SECONDS = 15.0
PUSH_MAX_SECONDS = 300.0
MAX_TRACKED_ADDRESSES = 50_000


def sender_for(token: str) -> str:
    return "web:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:24]


def _signature(secret: str, token: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"webchat:{token}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")


def issue_session(secret: str) -> str:
    """A new session cookie value: a random id and its signature."""
    token = secrets.token_urlsafe(24)
    return f"{token}.{_signature(secret, token)}"


def session_token(cookie: str | None, secret: str) -> str | None:
    """The session id of a cookie this server issued, or None (invented, altered, empty)."""
    token, _, signature = (cookie or "").partition(".")
    if not token or not signature or len(cookie or "") > 200:
        return None
    return token if hmac.compare_digest(signature, _signature(secret, token)) else None


class SessionRateLimit:
    """At most `per_window` new sessions per client address in any `window` seconds.

    Kept in this process (with several Rasa servers, each counts its own); the least
    recently seen addresses are forgotten beyond `MAX_TRACKED_ADDRESSES`."""

    def __init__(self, per_window: int, window: float = RATE_WINDOW) -> None:
        self.per_window, self.window = per_window, window
        self._issued: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            issued = self._issued.pop(address, None) or deque()
            while issued and issued[0] <= now - self.window:
                issued.popleft()
            allowed = len(issued) < self.per_window
            if allowed:
                issued.append(now)
            self._issued[address] = issued
            while len(self._issued) > MAX_TRACKED_ADDRESSES:
                self._issued.popitem(last=False)
            return allowed


class WebChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "webchat"

    def __init__(self) -> None:
        settings = get_settings()
        self.secret = webchat_secret(settings)
        self.trusted_proxies = settings.trusted_proxies
        self.rate_limit = SessionRateLimit(settings.webchat_sessions_per_hour)

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("webchat", __name__)

        @hook.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            if session_token(request.cookies.get(COOKIE), self.secret) is None:
                # Behind a proxy that is not trusted, its clients share its budget.
                address = sanic_client_address(request, self.trusted_proxies) or str(request.ip)
                if not self.rate_limit.allow(address):
                    logger.warning("web chat: new sessions refused for a busy client address")
                    return response.text(
                        "访问过于频繁，请稍后再试。", status=429, headers={"Retry-After": "600"}
                    )
                reply = self._page()
                self._set_session(request, reply, issue_session(self.secret))
                return reply
            return self._page()

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            token = session_token(request.cookies.get(COOKIE), self.secret)
            if token is None:
                return response.json({"error": "no session: reload the page"}, status=401)
            if "application/json" not in (request.content_type or ""):
                return response.json({"error": "JSON only"}, status=415)
            try:
                body = request.json or {}
            except Exception:  # sanic raises its own error on bad JSON
                return response.json({"error": "bad JSON"}, status=400)
            text = str(body.get("message") or "") if isinstance(body, dict) else ""
            replies: list[dict[str, Any]] = []
            if len(text) > MAX_MESSAGE:
                text = text[:MAX_MESSAGE]
                replies.append({"text": f"您的消息较长，我只读取了前 {MAX_MESSAGE} 个字。"})
            collector = CollectingOutputChannel()
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    sender_id=sender_for(token),
                    input_channel=self.name(),
                    metadata={"channel": "webchat"},
                )
            )
            sender = sender_for(token)
            handoff = await asyncio.to_thread(active_for_sender, sender_id=sender)
            # While a person has the conversation the page opens the push connection.
            marker = [{"handoff": "active"}] if handoff is not None and handoff.silent else []
            return response.json(replies + collector.messages + marker)

        @hook.route("/events", methods=["GET"])
        async def events(request: Request) -> HTTPResponse | None:
            token = session_token(request.cookies.get(COOKIE), self.secret)
            if token is None:
                return response.json({"error": "no session: reload the page"}, status=401)
            await self._push(request, sender_for(token))
            return None

        return hook

    @staticmethod
    async def _push(request: Request, sender: str) -> None:
        """Stream the desk's messages to this sender as server-sent events."""
        last_seen = request.headers.get("last-event-id", "")
        after = (
            int(last_seen)
            if last_seen.isascii() and last_seen.isdigit()
            else await asyncio.to_thread(latest_entry_id, sender_id=sender)
        )
        stream = await request.respond(
            content_type="text/event-stream; charset=utf-8",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        await stream.send("retry: 2000\n\n")
        loop = asyncio.get_running_loop()
        started = last_ping = loop.time()
        while loop.time() - started < PUSH_MAX_SECONDS:
            for message in await asyncio.to_thread(pushes_after, sender_id=sender, after_id=after):
                data = json.dumps(
                    {"text": message.text, "agent": message.author_name, "kind": message.kind},
                    ensure_ascii=False,
                )
                await stream.send(f"id: {message.id}\ndata: {data}\n\n")
                after = message.id
            if loop.time() - last_ping >= PUSH_PING_SECONDS:
                await stream.send(": ping\n\n")
                last_ping = loop.time()
            await asyncio.sleep(PUSH_POLL_SECONDS)
        await stream.eof()

    @staticmethod
    def _page() -> HTTPResponse:
        reply = response.html(PAGE.read_text(encoding="utf-8"))
        reply.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
        )
        reply.headers["X-Frame-Options"] = "DENY"
        return reply

    @staticmethod
    def _set_session(request: Request, reply: HTTPResponse, value: str) -> None:
        reply.cookies[COOKIE] = value
        cookie = reply.cookies[COOKIE]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = COOKIE_PATH
        cookie["max-age"] = SESSION_DAYS * 24 * 3600
        if request.headers.get("x-forwarded-proto", request.scheme) == "https":
            cookie["secure"] = True
