"""Messages the assistant starts: delivered on the sender's channel, or reported as not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.infra.settings import Settings
from bot.notify import DeliveryStatus, channel_of, deliver
from tests.e2e.fake_telegram import FakeTelegram
from tests.e2e.fake_wechat import FakeWeChatApi


@pytest.fixture()
def wechat_api() -> Iterator[FakeWeChatApi]:
    api = FakeWeChatApi()
    yield api
    api.server.shutdown()


@pytest.fixture()
def telegram_api() -> Iterator[FakeTelegram]:
    api = FakeTelegram()
    yield api
    api.close()


@pytest.mark.parametrize(
    ("sender", "channel"), [("tg:1", "tg"), ("wx:o1", "wx"), ("web:abc", "web"), ("x", "rest")]
)
def test_the_channel_is_read_from_the_sender(sender, channel):
    assert channel_of(sender) == channel


def test_wechat_messages_go_through_the_customer_service_api(wechat_api):
    settings = Settings(wechat_app_id="wx1", wechat_app_secret="s", wechat_api_url=wechat_api.url)
    assert deliver("wx:o123", "您好,提醒您缴费", settings).status is DeliveryStatus.SENT
    assert wechat_api.sent == [
        {"touser": "o123", "msgtype": "text", "text": {"content": "您好,提醒您缴费"}}
    ]


def test_long_telegram_messages_are_split(telegram_api):
    settings = Settings(telegram_bot_token="1:t", telegram_api_url=telegram_api.url)
    assert deliver("tg:7", "字" * 5000, settings).status is DeliveryStatus.SENT
    assert [len(m["text"]) for m in telegram_api.sent("sendMessage")] == [4096, 904]


def test_unconfigured_or_pull_only_channels_are_reported():
    assert deliver("tg:1", "x", Settings()).status is DeliveryStatus.NO_CHANNEL
    assert deliver("wx:o1", "x", Settings()).status is DeliveryStatus.NO_CHANNEL
    assert deliver("web:abc", "x", Settings()).status is DeliveryStatus.NO_CHANNEL
