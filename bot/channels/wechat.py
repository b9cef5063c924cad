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
The nonces, the messages' answers and the access token live in `bot.infra.cache`: Redis when
REDIS_URL is set, so several Rasa servers behind a load balancer act as one (a retry that
reaches another server waits for the first server's answer), else this process's memory.
The sender is `wx:<openid>` from WeChat's signed message. Without WECHAT_TOKEN the channel
answers 503 and Rasa starts as usual.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
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

from bot.channels.wechat_api import CustomerService
from bot.handoff.service import active_for_sender
from bot.infra.cache import Cache, CacheUnavailable, cache_from_settings
from bot.infra.settings import Settings, get_settings

logger = logging.getLogger(__name__)

TIMESTAMP_WINDOW = 300  # seconds a signed request stays valid
ANSWER_KEEP = 120  # seconds an answer is kept for WeChat's retries
POLL_SECONDS = 0.05  # how often a retry handled elsewhere looks for the answer
NON_TEXT = "对不起，我暂时只能看懂文字消息。请用文字告诉我您要办的事，例如“查燃气费”。"
UNAVAILABLE = "对不起，系统暂时无法处理您的请求，请稍后再试。"


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_ok(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    return hmac.compare_digest(sign(token, timestamp, nonce), signature or "")


class ReplayGuard:
    """Refuses a request whose timestamp is stale or whose nonce was already used (by any
    server sharing the cache)."""

    def __init__(self, cache: Cache, window: int = TIMESTAMP_WINDOW) -> None:
        self.cache = cache
        self.window = window

    async def fresh(self, timestamp: str, nonce: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        try:
            moment = int(timestamp)
        except ValueError:
            return False
        if abs(now - moment) > self.window or not nonce:
            return False
        # Kept while a request with this nonce could still pass the timestamp check.
        return await self.cache.claim(f"wechat:nonce:{nonce}", str(moment), 2 * self.window)


class Delivery(str, enum.Enum):
    """How a message's answer reaches the user; the first request to decide wins."""

    PASSIVE = "passive"  # in the HTTP reply (every waiting retry may send it too)
    PUSHED = "pushed"  # too slow: sent once through the customer-service API


def render(replies: list[dict[str, Any]]) -> str:
    """The assistant's replies as one WeChat text; buttons become words to reply with."""
    parts = []
    for reply in replies:
        text = str(reply.get("text") or "")
        titles = [str(b.get("title")) for b in reply.get("buttons") or [] if b.get("title")]
        if titles:
            text += "\n您可以回复：" + " / ".join(titles)
        if text:
            parts.append(text)
    return "\n\n".join(parts) or UNAVAILABLE


class WeChatInput(InputChannel):
    """The WeChat Official Account server URL: /webhooks/wechat/webhook."""

    def __init__(self, settings: Settings, cache: Cache | None = None) -> None:
        self.settings = settings
        self.cache: Cache = cache or cache_from_settings(settings)
        self.replays = ReplayGuard(self.cache)
        self.customer_service = CustomerService(settings, self.cache)
        self._tasks: set[asyncio.Task[None]] = set()  # kept so they are not garbage-collected
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
        # Secrets come from the environment (bot/infra/settings.py), not credentials.yml.
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
            try:
                return await self._receive(request, on_new_message)
            except CacheUnavailable as error:
                # WeChat retries; by then the cache may be back.
                logger.error("WeChat message not handled: %s", error)
                return response.text("cache unavailable", status=503)

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
        if not await self.replays.fresh(timestamp, nonce):
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
        if not content:  # pushed later, or nothing to say (a person has the conversation)
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
        if message.type == "voice":
            # With speech recognition on (公众号后台 → 接口权限 → 语音识别) WeChat sends the
            # recognised text in `Recognition`: handled as typed; without it, asked to type.
            return str(getattr(message, "recognition", "") or "").strip()
        if message.type == "event":
            return "/greet" if getattr(message, "event", "") == "subscribe" else None
        return ""

    async def _answer(
        self,
        message: Any,
        text: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> str | None:
        """The answer if it is ready in time (also for a retry), else None: it will be pushed.

        The first request for a message, on whichever server sharing the cache, claims it
        and asks the assistant; WeChat's retries wait for the answer it stores."""
        key = "wechat:message:" + (
            str(message.id) if getattr(message, "id", None) else f"{message.source}:{message.time}"
        )
        timeout = self.settings.wechat_reply_timeout
        if await self.cache.claim(key + ":owner", "1", ANSWER_KEEP):
            future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(
                self._process(key, future, message.source, text, on_new_message)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            try:
                content: str | None = await asyncio.wait_for(asyncio.shield(future), timeout)
            except asyncio.TimeoutError:
                content = None
        else:
            content = await self._stored_answer(key, timeout)
        if content is not None and await self._delivery(key, Delivery.PASSIVE) is Delivery.PASSIVE:
            return content
        if await self._delivery(key, Delivery.PUSHED) is Delivery.PUSHED:
            await self._push_if_ready(key, message.source)
        return None

    async def _stored_answer(self, key: str, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            content = await self.cache.get(key + ":answer")
            if content is not None or time.monotonic() >= deadline:
                return content
            await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    async def _delivery(self, key: str, wanted: Delivery) -> Delivery:
        """Decides how the answer is delivered, unless a request already did."""
        if await self.cache.claim(key + ":delivery", wanted.value, ANSWER_KEEP):
            return wanted
        decided = await self.cache.get(key + ":delivery")
        return Delivery(decided) if decided else wanted

    @staticmethod
    async def _with_person(openid: str) -> bool:
        """Whether a person holds (or the queue keeps) this follower's conversation."""
        handoff = await asyncio.to_thread(active_for_sender, sender_id=f"wx:{openid}")
        return handoff is not None and handoff.silent

    async def _push_if_ready(self, key: str, openid: str) -> None:
        """Pushes the answer once it exists and pushing was decided, exactly once.

        Both the server that made the answer (after storing it) and a request that decided
        to push (after deciding) call this, so whichever comes second sends it."""
        content = await self.cache.get(key + ":answer")
        if not content or await self.cache.get(key + ":delivery") != Delivery.PUSHED.value:
            return
        if not await self.cache.claim(key + ":pushed", "1", ANSWER_KEEP):
            return
        try:
            await self.customer_service.send_text(openid, content)
        except (httpx.HTTPError, RuntimeError, ValueError) as error:
            logger.error("WeChat customer-service message failed: %s", error)

    async def _process(
        self,
        key: str,
        future: asyncio.Future[str],
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
            # While a person has the conversation the assistant is silent: no answer ("").
            content = (
                render(collector.messages)
                if collector.messages or not await self._with_person(openid)
                else ""
            )
        except Exception:
            logger.exception("the assistant failed on a WeChat message")
            content = UNAVAILABLE
        future.set_result(content)
        try:
            await self.cache.put(key + ":answer", content, ANSWER_KEEP)
            await self._push_if_ready(key, openid)
        except CacheUnavailable as error:
            logger.error("WeChat answer not stored: %s", error)
