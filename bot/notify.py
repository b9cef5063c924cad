"""Messages the assistant starts itself (reminders), delivered through the user's channel.

The channel is read from the sender id (`tg:<user id>`, `wx:<openid>`, `web:<session>`).
Telegram is reached through its Bot API when `TELEGRAM_BOT_TOKEN` is set; a channel that
cannot be reached now is reported as such, so the caller can try again later.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

import requests

from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10


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
    return Delivery(DeliveryStatus.NO_CHANNEL, f"no push delivery for {channel_of(sender_id)}")


def _send_telegram(chat_id: str, text: str, settings: Settings) -> Delivery:
    if not settings.telegram_bot_token:
        return Delivery(DeliveryStatus.NO_CHANNEL, "TELEGRAM_BOT_TOKEN is not set")
    url = f"{settings.telegram_api_url}/bot{settings.telegram_bot_token}/sendMessage"
    try:
        response = requests.post(
            url, json={"chat_id": chat_id, "text": text}, timeout=TIMEOUT_SECONDS
        )
    except requests.RequestException as error:
        logger.warning("telegram delivery failed: %s", type(error).__name__)
        return Delivery(DeliveryStatus.FAILED, type(error).__name__)
    try:
        ok = response.status_code == 200 and bool(response.json().get("ok"))
    except ValueError:
        ok = False
    if not ok:
        return Delivery(DeliveryStatus.FAILED, f"telegram answered {response.status_code}")
    return Delivery(DeliveryStatus.SENT)
