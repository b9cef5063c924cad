"""Telegram: a python-telegram-bot application that forwards messages to the assistant.

Each Telegram user is the Rasa sender `tg:<user id>`: the id comes from Telegram's update,
never from the message, so nobody can speak as someone else. Rasa's buttons become inline
keyboards, and a pressed button sends its payload. Long polling is the default; with
`TELEGRAM_WEBHOOK_URL` set the bridge serves a webhook instead and checks Telegram's
`secret_token` header on every update. Flood control (429 RetryAfter) is honoured.

Start it with `python -m bot telegram` (`make run` does when TELEGRAM_BOT_TOKEN is set).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.rasa_client import RasaClient
from bot.infra.settings import Settings, get_settings

logger = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit for one message
MAX_CALLBACK_BYTES = 64  # Telegram's limit for a button's callback data
FLOOD_ATTEMPTS = 3
TEXT_ONLY = "对不起，我暂时只能看懂文字消息。请用文字告诉我您要办的事，例如“查燃气费”。"
UNAVAILABLE = "对不起，系统暂时无法处理您的请求，请稍后再试。给您带来不便，敬请谅解。"
# Slash commands and the intents they stand for.
COMMANDS = {"start": "/greet", "help": "/help", "cancel": "/deny"}

T = TypeVar("T")


def sender_id(user_id: int) -> str:
    return f"tg:{user_id}"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut `text` into messages of at most `limit` characters, at line ends where possible."""
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text:
        chunks.append(text)
    return chunks


class PayloadStore:
    """Button payloads too long for Telegram's 64-byte callback data, kept by a short key."""

    def __init__(self, size: int = 2048) -> None:
        self._payloads: OrderedDict[str, str] = OrderedDict()
        self._size = size

    def callback_data(self, payload: str) -> str:
        if len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES and not payload.startswith("#"):
            return payload
        key = "#" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self._size:
            self._payloads.popitem(last=False)
        return key

    def payload(self, data: str) -> str | None:
        """The payload a pressed button stands for; None if it is no longer known."""
        return self._payloads.get(data) if data.startswith("#") else data


def keyboard(buttons: list[dict[str, Any]], store: PayloadStore) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                str(button.get("title", ""))[:64],
                callback_data=store.callback_data(str(button.get("payload", ""))),
            )
        ]
        for button in buttons
        if button.get("payload")
    ]
    return InlineKeyboardMarkup(rows) if rows else None


async def with_flood_control(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot API call, waiting as long as Telegram asks when it answers 429."""
    for attempt in range(FLOOD_ATTEMPTS):
        try:
            return await call()
        except RetryAfter as error:
            if attempt == FLOOD_ATTEMPTS - 1:
                raise
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            logger.warning("telegram flood control: waiting %.0f s", seconds)
            await asyncio.sleep(seconds)
    raise AssertionError("unreachable")


class TelegramBridge:
    """The handlers: Telegram updates in, the assistant's replies out."""

    def __init__(self, rasa: RasaClient) -> None:
        self.rasa = rasa
        self.payloads = PayloadStore()

    def register(self, application: Application) -> None:
        for command, intent in COMMANDS.items():
            application.add_handler(CommandHandler(command, self._command(intent)))
        application.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, self.text)
        )
        application.add_handler(CallbackQueryHandler(self.button))
        # Edited messages, stickers, photos, voice, unknown commands...: ask for text.
        application.add_handler(MessageHandler(filters.ALL, self.not_text))
        application.add_error_handler(self.error)

    def _command(self, intent: str) -> Callable[[Update, Any], Coroutine[Any, Any, None]]:
        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await self.forward(update, context, intent)

        return handle

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.text:
            await self.forward(update, context, message.text)

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        await with_flood_control(query.answer)
        payload = self.payloads.payload(query.data or "")
        if payload is None:
            await self.reply(update, context, [{"text": "这个按钮已过期，请重新发送您的问题。"}])
            return
        await self.forward(update, context, payload)

    async def not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None:
            await self.reply(update, context, [{"text": TEXT_ONLY}])

    async def forward(self, update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
        user = update.effective_user
        if user is None or update.effective_chat is None:
            return
        metadata = {
            "channel": "telegram",
            "chat_id": update.effective_chat.id,
            "language_code": user.language_code or "",
        }
        try:
            replies = await self.rasa.send(sender_id(user.id), text, metadata)
        except (httpx.HTTPError, ValueError):
            logger.exception("the assistant did not answer a Telegram message")
            replies = [{"text": UNAVAILABLE}]
        await self.reply(update, context, replies)

    async def reply(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[dict[str, Any]]
    ) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        bot = context.bot

        async def send_photo(url: str) -> object:
            return await bot.send_photo(chat.id, photo=url)

        async def send_text(text: str, markup: InlineKeyboardMarkup | None) -> object:
            return await bot.send_message(chat.id, text, reply_markup=markup)

        for reply in replies:
            if reply.get("image"):
                await with_flood_control(partial(send_photo, str(reply["image"])))
            chunks = split_text(str(reply.get("text") or ""))
            markup = keyboard(reply.get("buttons") or [], self.payloads)
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                await with_flood_control(partial(send_text, chunk, markup if last else None))

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        logger.error("telegram update failed: %s", type(context.error).__name__)
        if isinstance(update, Update) and update.effective_chat is not None:
            with contextlib.suppress(TelegramError):
                await context.bot.send_message(update.effective_chat.id, UNAVAILABLE)


def build_application(settings: Settings, rasa: RasaClient) -> Application:
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    application = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .build()
    )
    TelegramBridge(rasa).register(application)
    return application


def run(settings: Settings | None = None) -> int:
    """Serve Telegram until interrupted: long polling, or a webhook when one is configured."""
    settings = settings or get_settings()
    # httpx logs every request URL at INFO, and Bot API URLs hold the bot's token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    rasa = RasaClient(settings.rasa_server_url)
    application = build_application(settings, rasa)
    if settings.telegram_webhook_url:
        if not settings.telegram_webhook_secret:
            raise ValueError("TELEGRAM_WEBHOOK_SECRET is required with TELEGRAM_WEBHOOK_URL")
        path = urlsplit(settings.telegram_webhook_url).path.lstrip("/")
        application.run_webhook(
            listen=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            url_path=path,
            webhook_url=settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
