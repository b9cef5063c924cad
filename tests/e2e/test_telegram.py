"""The Telegram bridge against a local fake Bot API and the running assistant."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from bot.infra.settings import PROJECT_ROOT
from bot.ops.devserver import start_telegram_bridge
from tests.e2e.conftest import free_port
from tests.e2e.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e
TOKEN = "123456:test-token"


@pytest.fixture()
def telegram(assistant, tmp_path) -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    bridge = start_telegram_bridge(
        log_dir=tmp_path,
        extra_env={
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": fake.url,
            "RASA_SERVER_URL": assistant.servers.rasa_url,
        },
    )
    try:
        yield fake
    finally:
        bridge.terminate()
        bridge.wait(timeout=30)
        fake.close()
        log = (tmp_path / "telegram.log").read_text(encoding="utf-8")
        assert TOKEN not in log  # the token is in every Bot API URL: never logged


def texts(sent: list[dict]) -> str:
    return "\n".join(str(params.get("text", "")) for params in sent)


def test_a_message_is_answered_with_buttons_and_a_button_sends_its_payload(telegram):
    telegram.user_says(555, "你好")
    [greeting] = telegram.wait_for("sendMessage", 1)
    assert int(greeting["chat_id"]) == 555 and "您好" in greeting["text"]
    buttons = [row[0] for row in greeting["reply_markup"]["inline_keyboard"]]
    assert {"text": "燃气缴费与账单", "callback_data": "/check_gas_bill"} in buttons

    telegram.user_presses(555, "/check_gas_bill")
    sent = telegram.wait_for("sendMessage", 2)
    assert "户号" in sent[1]["text"]
    assert telegram.sent("answerCallbackQuery")


def test_commands_and_messages_that_are_not_text(telegram):
    telegram.user_says(556, "/help")
    telegram.wait_for("sendMessage", 1)
    telegram.user_sends(
        556,
        sticker={
            "file_id": "s",
            "file_unique_id": "u",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
    )
    telegram.user_edits(556, "改一下")
    sent = telegram.wait_for("sendMessage", 3)
    assert "燃气" in sent[0]["text"]  # /help lists the services
    assert texts(sent[1:]).count("只能看懂文字消息") == 2


def test_flood_control_is_honoured(telegram):
    telegram.flood_next_send = 1
    started = time.monotonic()
    telegram.user_says(557, "你好")
    [greeting] = telegram.wait_for("sendMessage", 1)
    assert "您好" in greeting["text"]
    assert time.monotonic() - started >= 1.0  # waited as Telegram asked


def test_each_user_is_their_own_sender(telegram, assistant):
    telegram.user_says(558, "查燃气费")
    telegram.user_says(559, "你好")
    sent = telegram.wait_for("sendMessage", 2)
    by_chat = {int(params["chat_id"]): params["text"] for params in sent}
    assert "户号" in by_chat[558] and "您好" in by_chat[559]
    # 558 is in the gas form, 559 is not: a bare number means nothing to 559.
    telegram.user_says(559, "31001001")
    replies = telegram.wait_for("sendMessage", 3)
    assert "后 4 位" not in replies[2]["text"]


def wait_for_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def test_webhook_updates_need_the_secret(assistant, tmp_path):
    fake = FakeTelegram()
    port = free_port()
    bridge = subprocess.Popen(
        [sys.executable, "-m", "bot", "telegram"],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": fake.url,
            "RASA_SERVER_URL": assistant.servers.rasa_url,
            "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/tg-hook",
            "TELEGRAM_WEBHOOK_SECRET": "s3cret-token",
            "TELEGRAM_WEBHOOK_PORT": str(port),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        [hook] = fake.wait_for("setWebhook", 1)
        assert hook["url"].endswith("/tg-hook") and hook["secret_token"] == "s3cret-token"
        # python-telegram-bot may register the webhook a moment before its server listens
        # (Telegram retries a delivery that finds no server); wait for the port.
        assert wait_for_port(port, timeout=30), "the bridge's webhook server did not listen"
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": 560, "type": "private"},
                "from": {"id": 560, "is_bot": False, "first_name": "测试"},
                "text": "你好",
            },
        }

        def post(headers: dict[str, str]) -> int:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/tg-hook",
                data=json.dumps(update).encode(),
                headers={"Content-Type": "application/json", **headers},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code

        assert post({}) == 403
        assert post({"X-Telegram-Bot-Api-Secret-Token": "wrong"}) == 403
        assert fake.sent("sendMessage") == []
        assert post({"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}) == 200
        [greeting] = fake.wait_for("sendMessage", 1)
        assert int(greeting["chat_id"]) == 560 and "您好" in greeting["text"]
    finally:
        bridge.terminate()
        bridge.wait(timeout=30)
        fake.close()
