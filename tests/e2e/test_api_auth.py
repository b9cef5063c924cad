"""The development server (`make run`, these tests) guards Rasa's HTTP API as compose does:
a JWT signed with the servers' secret, else 401; the REST channel needs none."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import jwt
import pytest

from bot.ops.devserver import api_request, new_jwt_secret
from tests.e2e.conftest import outward_ipv4_addresses, texts

pytestmark = pytest.mark.e2e


def status_of(url: str, headers: dict[str, str] | None = None, body: object = None) -> int:
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/status", None),
        ("/model/parse", {"text": "你好"}),
        ("/conversations/web:someone/tracker", None),
        ("/conversations/web:someone/messages", {"text": "我家欠多少钱", "sender": "user"}),
    ],
)
def test_the_http_api_refuses_requests_without_a_valid_token(assistant, path, body):
    url = f"{assistant.servers.rasa_url}{path}"
    assert status_of(url, body=body) == 401
    forged = jwt.encode({"user": {"role": "admin"}}, new_jwt_secret(), algorithm="HS256")
    assert status_of(url, {"Authorization": f"Bearer {forged}"}, body) == 401


def test_a_token_for_one_user_does_not_open_another_users_conversation(assistant):
    token = jwt.encode(
        {"user": {"username": "web:mallory", "role": "user"}},
        assistant.servers.jwt_secret,
        algorithm="HS256",
    )
    url = f"{assistant.servers.rasa_url}/conversations/web:someone/tracker"
    assert status_of(url, {"Authorization": f"Bearer {token}"}) == 403


def test_the_http_api_answers_with_the_servers_token(assistant):
    assert api_request(f"{assistant.servers.rasa_url}/status", assistant.servers.jwt_secret)
    assert assistant.parse("你好")["intent"]["name"] == "greet"


def test_the_rest_channel_needs_no_token(assistant):
    assert "您好" in texts(assistant.say("你好"))


def test_rasa_listens_on_the_loopback_interface_only(assistant):
    port = urlsplit(assistant.servers.rasa_url).port
    outward = outward_ipv4_addresses()
    if not outward:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    with socket.socket() as sock:
        sock.settimeout(2)
        assert sock.connect_ex((outward[0], port)) != 0
