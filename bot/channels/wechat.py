"""WeChat Official Account: a Rasa input channel at /webhooks/wechat/webhook.

WeChat posts each message as XML, in plaintext or in safe mode (AES, `msg_signature`), and
retries up to three times when it gets no reply within 5 seconds. So the channel:
- checks the signature (SHA-1 of the sorted token, timestamp and nonce, compared in
  constant time), refuses timestamps outside a 5-minute window and nonces seen before;
- handles each message once (by MsgId; events by sender and CreateTime): a retry waits
  for the first's answer instead of asking the assistant again;
- answers within `WECHAT_REPLY_TIMEOUT` seconds with a passive XML reply (encrypted in safe
  mode) when the assistant is quick enough, else says `success` at once and sends the
  answer later through the customer-service message API (`message/custom/send`).
The sender is `wx:<openid>` from WeChat's signed message. Without WECHAT_TOKEN the channel
answers 503 and Rasa starts as usual.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply

from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

TIMESTAMP_WINDOW = 300  # seconds a signed request stays valid
ANSWER_KEEP = 120  # seconds an answer is kept for WeChat's retries
NON_TEXT = "对不起,我暂时只能看懂文字消息。请用文字告诉我您要办的事,例如“查燃气费”。"
UNAVAILABLE = "对不起,系统暂时无法处理您的请求,请稍后再试。"
EXPIRED_TOKEN_CODES = {40001, 40014, 42001}


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_ok(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    return hmac.compare_digest(sign(token, timestamp, nonce), signature or "")


class ReplayGuard:
    """Refuses a request whose timestamp is stale or whose nonce was already used."""

    def __init__(self, window: int = TIMESTAMP_WINDOW) -> None:
        self.window = window
        self._seen: dict[str, float] = {}

    def fresh(self, timestamp: str, nonce: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        try:
            moment = int(timestamp)
        except ValueError:
            return False
        if abs(now - moment) > self.window or not nonce:
            return False
        self._seen = {n: t for n, t in self._seen.items() if t > now - self.window}
        if nonce in self._seen:
            return False
        self._seen[nonce] = now
        return True


class Mode(enum.Enum):
    PENDING = "pending"
    PASSIVE = "passive"  # answered in the HTTP reply
    PUSHED = "pushed"  # too slow: sent through the customer-service API


@dataclass
class Answer:
    """One message's answer, shared by WeChat's retries of it."""

    future: asyncio.Future[str]
    created: float = field(default_factory=time.monotonic)
    mode: Mode = Mode.PENDING
    task: asyncio.Task[None] | None = None  # kept so the task is not garbage-collected


class CustomerService:
    """WeChat's customer-service message API, with the access token cached and refreshed."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._token: tuple[str, float] | None = None
        self._lock = asyncio.Lock()

    async def _access_token(self, client: httpx.AsyncClient, *, renew: bool = False) -> str:
        async with self._lock:
            if self._token and not renew and self._token[1] > time.monotonic():
                return self._token[0]
            reply = await client.get(
                f"{self._settings.wechat_api_url}/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self._settings.wechat_app_id,
                    "secret": self._settings.wechat_app_secret,
                },
            )
            data = reply.json()
            if "access_token" not in data:
                raise RuntimeError(f"no access token: errcode {data.get('errcode')}")
            # Renew five minutes before WeChat's expiry (7200 s).
            expires = time.monotonic() + int(data.get("expires_in", 7200)) - 300
            self._token = (data["access_token"], expires)
            return self._token[0]

    async def send_text(self, openid: str, text: str) -> None:
        payload = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        async with httpx.AsyncClient(timeout=10) as client:
            for renew in (False, True):
                token = await self._access_token(client, renew=renew)
                reply = await client.post(
                    f"{self._settings.wechat_api_url}/cgi-bin/message/custom/send",
                    params={"access_token": token},
                    content=_json(payload),
                    headers={"Content-Type": "application/json"},
                )
                code = reply.json().get("errcode", 0)
                if code == 0:
                    return
                if code not in EXPIRED_TOKEN_CODES:
                    raise RuntimeError(f"custom/send failed: errcode {code}")
        raise RuntimeError("custom/send failed: the access token was refused twice")


def _json(payload: dict[str, Any]) -> bytes:
    # WeChat wants the Chinese as it is, not as \\u escapes.
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def render(replies: list[dict[str, Any]]) -> str:
    """The assistant's replies as one WeChat text; buttons become words to reply with."""
    parts = []
    for reply in replies:
        text = str(reply.get("text") or "")
        titles = [str(b.get("title")) for b in reply.get("buttons") or [] if b.get("title")]
        if titles:
            text += "\n您可以回复:" + " / ".join(titles)
        if text:
            parts.append(text)
    return "\n\n".join(parts) or UNAVAILABLE


class WeChatInput(InputChannel):
    """The WeChat Official Account server URL: /webhooks/wechat/webhook."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.replays = ReplayGuard()
        self.answers: dict[str, Answer] = {}
        self.customer_service = CustomerService(settings)
        self.crypto = (
            WeChatCrypto(
                settings.wechat_token, settings.wechat_encoding_aes_key, settings.wechat_app_id
            )
            if settings.wechat_token and settings.wechat_encoding_aes_key
            else None
        )

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # Secrets come from the environment (bot/settings.py), not credentials.yml.
        return cls(get_settings())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("wechat_webhook", __name__)

        @hook.route("/webhook", methods=["GET"])
        async def handshake(request: Request) -> HTTPResponse:
            token = self.settings.wechat_token
            if not token:
                return response.text("wechat is not configured", status=503)
            args = request.args
            if not signature_ok(
                token, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", "")
            ):
                return response.text("forbidden", status=403)
            return response.text(args.get("echostr", ""))

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        return hook

    async def _receive(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        token = self.settings.wechat_token
        if not token:
            return response.text("wechat is not configured", status=503)
        args = request.args
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        if not signature_ok(token, args.get("signature", ""), timestamp, nonce):
            return response.text("forbidden", status=403)
        if not self.replays.fresh(timestamp, nonce):
            return response.text("forbidden", status=403)
        encrypted = args.get("encrypt_type") == "aes"
        body = request.body.decode("utf-8", errors="replace")
        if encrypted:
            if self.crypto is None:
                return response.text("safe mode is not configured", status=503)
            try:
                body = self.crypto.decrypt_message(
                    body, args.get("msg_signature", ""), timestamp, nonce
                )
            except (InvalidSignatureException, InvalidAppIdException):
                return response.text("forbidden", status=403)
        try:
            message = parse_message(body)
        except Exception:  # malformed XML from a signed request: nothing to answer
            logger.warning("unreadable WeChat message")
            return response.text("success")
        text = self._text_of(message)
        if text is None:
            return response.text("success")
        content = NON_TEXT if text == "" else await self._answer(message, text, on_new_message)
        if content is None:
            return response.text("success")
        xml = TextReply(message=message, content=content).render()
        if encrypted and self.crypto is not None:
            xml = self.crypto.encrypt_message(xml, nonce, timestamp)
        return response.text(xml, content_type="application/xml")

    @staticmethod
    def _text_of(message: Any) -> str | None:
        """What to tell the assistant: the text, /greet for a new follower, "" for other
        messages (answered politely without the assistant), None for events to ignore."""
        if message.type == "text":
            return str(message.content or "").strip() or ""
        if message.type == "event":
            return "/greet" if getattr(message, "event", "") == "subscribe" else None
        return ""

    async def _answer(
        self,
        message: Any,
        text: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> str | None:
        """The answer if it is ready in time (also for a retry), else None: it will be pushed."""
        now = time.monotonic()
        self.answers = {k: a for k, a in self.answers.items() if a.created > now - ANSWER_KEEP}
        key = (
            str(message.id) if getattr(message, "id", None) else f"{message.source}:{message.time}"
        )
        answer = self.answers.get(key)
        if answer is None:
            answer = Answer(asyncio.get_running_loop().create_future())
            self.answers[key] = answer
            answer.task = asyncio.create_task(
                self._process(answer, message.source, text, on_new_message)
            )
        if answer.mode is Mode.PUSHED:
            return None
        try:
            content = await asyncio.wait_for(
                asyncio.shield(answer.future), self.settings.wechat_reply_timeout
            )
        except asyncio.TimeoutError:
            answer.mode = Mode.PUSHED
            return None
        answer.mode = Mode.PASSIVE
        return content

    async def _process(
        self,
        answer: Answer,
        openid: str,
        text: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        collector = CollectingOutputChannel()
        try:
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    sender_id=f"wx:{openid}",
                    input_channel=self.name(),
                    metadata={"channel": "wechat"},
                )
            )
            content = render(collector.messages)
        except Exception:
            logger.exception("the assistant failed on a WeChat message")
            content = UNAVAILABLE
        answer.future.set_result(content)
        if answer.mode is Mode.PUSHED:
            try:
                await self.customer_service.send_text(openid, content)
            except (httpx.HTTPError, RuntimeError, ValueError) as error:
                logger.error("WeChat customer-service message failed: %s", error)
