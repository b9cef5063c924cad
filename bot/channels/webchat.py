"""Web chat: a page anyone can use without Telegram or WeChat, served by the Rasa server.

GET  /webhooks/webchat/          the chat page (bot/channels/static/webchat.html)
POST /webhooks/webchat/webhook   {"message": "..."} -> the assistant's replies as JSON

The sender is `web:<id>`, derived from a random session cookie the server sets (HttpOnly,
SameSite=Strict): a caller can neither choose a sender id nor use another's. Posts must be
JSON, which a cross-site form cannot send.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "static" / "webchat.html"
COOKIE = "webchat_session"
COOKIE_PATH = "/webhooks/webchat"
SESSION_DAYS = 30
MAX_MESSAGE = 2000  # characters; longer messages are cut, with a note


def sender_for(token: str) -> str:
    return "web:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:24]


class WebChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("webchat", __name__)

        @hook.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            reply = response.html(PAGE.read_text(encoding="utf-8"))
            reply.headers["Content-Security-Policy"] = (
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
            )
            reply.headers["X-Frame-Options"] = "DENY"
            if not request.cookies.get(COOKIE):
                self._set_session(request, reply)
            return reply

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            token = request.cookies.get(COOKIE)
            if not token:
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
                replies.append({"text": f"您的消息较长,我只读取了前 {MAX_MESSAGE} 个字。"})
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
            return response.json(replies + collector.messages)

        return hook

    @staticmethod
    def _set_session(request: Request, reply: HTTPResponse) -> None:
        reply.cookies[COOKIE] = secrets.token_urlsafe(32)
        cookie = reply.cookies[COOKIE]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = COOKIE_PATH
        cookie["max-age"] = SESSION_DAYS * 24 * 3600
        if request.headers.get("x-forwarded-proto", request.scheme) == "https":
            cookie["secure"] = True
