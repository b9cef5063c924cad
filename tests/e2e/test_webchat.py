"""The web chat channel over HTTP, and the REST channel's refusal of outside callers."""

from __future__ import annotations

import http.cookiejar
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.channels.local_rest import allowed
from bot.ops.devserver import Servers, ServerStartError, server_env, start_process
from tests.e2e.conftest import free_port, outward_ipv4_addresses

pytestmark = pytest.mark.e2e


class Browser:
    """An HTTP client with its own cookie jar, like one visitor's browser."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def open_page(self) -> tuple[int, str, str]:
        with self.opener.open(f"{self.base}/webhooks/webchat/", timeout=30) as response:
            return response.status, response.headers.get("Set-Cookie", ""), response.read().decode()

    def say(self, message: str, content_type: str = "application/json") -> tuple[int, list]:
        body = json.dumps({"message": message}) if "json" in content_type else f"message={message}"
        request = urllib.request.Request(
            f"{self.base}/webhooks/webchat/webhook",
            data=body.encode("utf-8"),
            headers={"Content-Type": content_type},
            method="POST",
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, []


def texts(replies: list) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


def test_the_page_sets_a_private_session_and_the_chat_answers(assistant):
    visitor = Browser(assistant.servers.rasa_url)
    status, cookie, html = visitor.open_page()
    assert status == 200 and "综合服务助手" in html
    assert "webchat_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, replies = visitor.say("你好")
    assert status == 200 and "您好" in texts(replies)
    assert any(reply.get("buttons") for reply in replies)


def test_each_visitor_is_their_own_sender(assistant):
    first, second = Browser(assistant.servers.rasa_url), Browser(assistant.servers.rasa_url)
    first.open_page()
    second.open_page()
    assert "户号" in texts(first.say("查燃气费")[1])
    # The second visitor is not in the first one's form.
    assert "后 4 位" not in texts(second.say("31001001")[1])


def test_posts_without_a_session_or_not_json_are_refused(assistant):
    visitor = Browser(assistant.servers.rasa_url)
    assert visitor.say("你好")[0] == 401
    visitor.open_page()
    assert visitor.say("你好", content_type="application/x-www-form-urlencoded")[0] == 415


def test_a_huge_message_is_cut_politely(assistant):
    visitor = Browser(assistant.servers.rasa_url)
    visitor.open_page()
    status, replies = visitor.say("燃气" * 5000)
    assert status == 200 and "只读取了前 2000 个字" in texts(replies)


@pytest.mark.parametrize(
    ("address", "expected"),
    [("127.0.0.1", True), ("::1", True), ("10.0.0.5", False), ("8.8.8.8", False), ("", False)],
)
def test_trusted_networks(address, expected):
    assert allowed(address, ("127.0.0.0/8", "::1/128")) is expected


@pytest.fixture
def rest_channel_on_all_interfaces(tmp_path):
    """The REST channel alone (`rest_guard_server.py`), listening on every interface."""
    port = free_port()
    try:
        process = start_process(
            "rest",
            [sys.executable, str(Path(__file__).with_name("rest_guard_server.py")), str(port)],
            f"http://127.0.0.1:{port}/webhooks/rest/",
            log_dir=tmp_path,
            env=server_env(),
            timeout=60,
        )
    except ServerStartError as error:
        pytest.fail(f"{error}\n{(tmp_path / 'rest.log').read_text(errors='replace')[-3000:]}")
    yield port
    Servers("", "", [process]).stop()


def post_rest(host: str, port: int) -> tuple[int, list]:
    request = urllib.request.Request(
        f"http://{host}:{port}/webhooks/rest/webhook",
        data=json.dumps({"sender": "web:someone-else", "message": "你好"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, []


def test_the_rest_channel_refuses_callers_from_other_addresses(rest_channel_on_all_interfaces):
    outward = outward_ipv4_addresses()
    if not outward:
        pytest.skip("this machine has no non-loopback IPv4 address to call from")
    address = outward[0]
    port = rest_channel_on_all_interfaces
    assert post_rest(address, port) == (403, [])
    assert post_rest("127.0.0.1", port) == (
        200,
        [{"recipient_id": "web:someone-else", "text": "echo:你好"}],
    )
