"""Messages the assistant starts itself (reminders), delivered through the user's channel.

The channel is read from the sender id (`tg:<user id>`, `wx:<openid>`, `web:<session>`).
Telegram is reached through python-telegram-bot when `TELEGRAM_BOT_TOKEN` is set, WeChat
through its customer-service message API when the app id and secret are set; a channel that
cannot be reached now is reported as such, so the caller can try again later.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass
from functools import partial

import httpx

from bot.infra.settings import Settings, get_settings

logger = logging.getLogger(__name__)


class DeliveryStatus(str, enum.Enum):
    SENT = "sent"
    FAILED = "failed"
    NO_CHANNEL = "no_channel"


@dataclass(frozen=True)
class Delivery:
    status: DeliveryStatus
    detail: str = ""


def channel_of(sender_id: str) -> str:
    prefix, separator, _ = sender_id.partition(":")
    return prefix if separator else "rest"


def deliver(sender_id: str, text: str, settings: Settings | None = None) -> Delivery:
    settings = settings or get_settings()
    if channel_of(sender_id) == "tg":
        return _send_telegram(sender_id.partition(":")[2], text, settings)
    if channel_of(sender_id) == "wx":
        return _send_wechat(sender_id.partition(":")[2], text, settings)
    return Delivery(DeliveryStatus.NO_CHANNEL, f"no push delivery for {channel_of(sender_id)}")


def alert(sender_ids: tuple[str, ...] | list[str], text: str) -> list[Delivery]:
    """Tell each sender `text` (a security alert); failures are logged, never raised."""
    deliveries = []
    for sender_id in sender_ids:
        try:
            delivery = deliver(sender_id, text)
        except Exception:  # an alert must never break the conversation that caused it
            logger.exception("alert to a %s sender failed", channel_of(sender_id))
            delivery = Delivery(DeliveryStatus.FAILED, "exception")
        logger.info("alert to a %s sender: %s", channel_of(sender_id), delivery.status.value)
        deliveries.append(delivery)
    return deliveries


def _send_telegram(chat_id: str, text: str, settings: Settings) -> Delivery:
    if not settings.telegram_bot_token:
        return Delivery(DeliveryStatus.NO_CHANNEL, "TELEGRAM_BOT_TOKEN is not set")
    token = settings.telegram_bot_token
    # Imported here: python-telegram-bot costs every action server process 18 MB, and
    # most never send an alert to Telegram (README, Speed).
    from telegram import Bot
    from telegram.error import TelegramError

    from bot.channels.telegram import split_text, with_flood_control

    async def send() -> None:
        bot = Bot(token, base_url=f"{settings.telegram_api_url}/bot")
        async with bot:
            for chunk in split_text(text):
                await with_flood_control(partial(bot.send_message, chat_id, chunk))

    try:
        asyncio.run(send())
    except TelegramError as error:
        logger.warning("telegram delivery failed: %s", type(error).__name__)
        return Delivery(DeliveryStatus.FAILED, f"{type(error).__name__}: {error}"[:200])
    return Delivery(DeliveryStatus.SENT)


def _send_wechat(openid: str, text: str, settings: Settings) -> Delivery:
    """A customer-service message; WeChat accepts it within 48 hours of the user's last message."""
    if not (settings.wechat_app_id and settings.wechat_app_secret):
        return Delivery(DeliveryStatus.NO_CHANNEL, "WECHAT_APP_ID/WECHAT_APP_SECRET are not set")
    from bot.channels.wechat_api import CustomerService

    async def send() -> None:
        service = CustomerService(settings)  # shares the access token through REDIS_URL
        try:
            await service.send_text(openid, text)
        finally:
            await service.cache.close()

    try:
        asyncio.run(send())
    except (httpx.HTTPError, RuntimeError, ValueError) as error:
        logger.warning("wechat delivery failed: %s", type(error).__name__)
        return Delivery(DeliveryStatus.FAILED, str(error)[:200])
    return Delivery(DeliveryStatus.SENT)
