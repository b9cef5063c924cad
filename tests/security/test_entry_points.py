"""Attacks 2, 3, 7 (tokens) and 9 (secrets): the entry points `make run` opens.

- 2: a web page in a browser on this host posts to the REST channel as any sender and
  reads the reply (wildcard CORS, text/plain accepted); a reverse proxy on this host
  opens the REST channel to everyone.
- 3: the action server, on every interface, runs any action for a forged tracker.
- 7: a JWT with alg=none, or malformed, gets 500 instead of 401.
- 9: the JWT secret on the command line.

Real processes on free ports: the project's action server, the REST channel alone, and
the Rasa server as `make run` starts it (without a model: the HTTP API, the channels and
the guards are what is under test)."""

from __future__ import annotations

import base64
import json
import socket
import sys
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning
from sqlalchemy import select

from bot.infra.db import session_scope
from bot.models import BookingState, Community, HalfDay, HomeVisitBooking, Nurse, Patient
from bot.ops.devserver import Servers, action_server_command, rasa_server_command
from bot.runtime.action_guard import _authorise
from tests.e2e.conftest import free_port, outward_ipv4_addresses
from tests.security.conftest import FROZEN_NOW, start_server

ACTION_TOKEN = "security-test-action-token-of-enough-length"
JWT_SECRET = "security-test-jwt-secret-of-at-least-32-bytes"
EVIL_ORIGIN = "http://evil.example"
OWNER = "tg:1001"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str


def call(
    url: str, *, method: str = "GET", body: bytes | None = None, headers: dict | None = None
) -> Reply:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return Reply(
                reply.status,
                {k.lower(): v for k, v in reply.headers.items()},
                reply.read().decode(),
            )
    except urllib.error.HTTPError as error:
        return Reply(
            error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()
        )


# --- attack 3: the action server ------------------------------------------------------


def forged_tracker(sender: str, action: str, text: str) -> bytes:
    """What an attacker sends the action server: a tracker naming someone else."""
    return json.dumps(
        {
            "next_action": action,
            "sender_id": sender,
            "version": "3.6.21",
            "domain": {},
            "tracker": {
                "sender_id": sender,
                "slots": {},
                "latest_message": {"text": text, "intent": {"name": "check_booking"}},
                "events": [],
                "paused": False,
                "followup_action": None,
                "active_loop": {},
                "latest_action_name": "action_listen",
            },
        }
    ).encode()


@pytest.fixture()
def action_server(demo, tmp_path):
    with session_scope(demo.engine) as session:
        community = session.scalars(select(Community).where(Community.code == "kangning")).one()
        nurse = session.scalars(select(Nurse).where(Nurse.team_id == community.team_id)).first()
        patient = Patient(
            name="王秀英", phone="13700001234", address="康宁路1号", community_id=community.id
        )
        session.add(patient)
        session.flush()
        booking = HomeVisitBooking(
            booking_no="SY20261125-48213",
            patient_id=patient.id,
            sender_id=OWNER,
            community_id=community.id,
            nurse_id=nurse.id if nurse else None,
            visit_date=date(2026, 11, 26),
            half_day=HalfDay.MORNING,
            condition="bedridden",
            has_doctor_order=True,
            drug_text="生理盐水",
            drug_source="centre",
            outcome="eligible",
            state=BookingState.AWAITING_CONSENT,
        )
        session.add(booking)
    port = free_port()
    server = start_server(
        "actions",
        action_server_command(port),
        f"http://127.0.0.1:{port}/health",
        tmp_path,
        {"DATABASE_URL": demo.url, "FROZEN_NOW": FROZEN_NOW, "ACTION_SERVER_TOKEN": ACTION_TOKEN},
    )
    yield port, server
    server.stop()


def test_a_forged_tracker_without_the_token_reads_nothing(action_server):
    port, _ = action_server
    url = f"http://127.0.0.1:{port}/webhook"
    body = forged_tracker(OWNER, "action_check_booking", "查询预约")
    json_headers = {"Content-Type": "application/json"}
    for headers in (
        json_headers,
        {**json_headers, "Authorization": "Bearer wrong-token"},
        {**json_headers, "Authorization": f"Basic {ACTION_TOKEN}"},
        {**json_headers, "Authorization": f"Bearer {ACTION_TOKEN[:-1]}"},
    ):
        refused = call(url, method="POST", body=body, headers=headers)
        assert refused.status == 401
        assert "王秀英" not in refused.body and "SY20261125" not in refused.body
    assert call(f"http://127.0.0.1:{port}/actions").status == 401
    # The Rasa server's token opens it: the test would pass for a dead server otherwise.
    allowed = call(
        url,
        method="POST",
        body=body,
        headers={**json_headers, "Authorization": f"Bearer {ACTION_TOKEN}"},
    )
    assert allowed.status == 200 and "SY20261125-48213" in allowed.body


def test_the_action_server_listens_on_localhost_only(action_server):
    port, _ = action_server
    outward = outward_ipv4_addresses()
    if not outward:
        pytest.skip("this machine has no non-loopback IPv4 address to call from")
    with pytest.raises(OSError), socket.create_connection((outward[0], port), timeout=5):
        pass


def test_no_browser_page_may_call_the_action_server(action_server):
    port, _ = action_server
    preflight = call(
        f"http://127.0.0.1:{port}/webhook",
        method="OPTIONS",
        headers={"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_the_rasa_server_sends_the_token_with_every_action_call(monkeypatch):
    from rasa.utils.endpoints import EndpointConfig

    from bot.infra import settings

    monkeypatch.setenv("ACTION_SERVER_TOKEN", ACTION_TOKEN)
    settings.get_settings.cache_clear()
    endpoint = EndpointConfig(url="http://localhost:5055/webhook")
    _authorise(endpoint)
    assert endpoint.headers["Authorization"] == f"Bearer {ACTION_TOKEN}"
    settings.get_settings.cache_clear()


# --- attack 2: the REST channel behind a proxy, and browsers -------------------------


def rest_guard(tmp_path: Path, env: dict[str, str]) -> tuple[int, Servers]:
    port = free_port()
    script = Path(__file__).resolve().parents[1] / "e2e" / "rest_guard_server.py"
    server = start_server(
        "rest",
        [sys.executable, str(script), str(port)],
        f"http://127.0.0.1:{port}/webhooks/rest/",
        tmp_path,
        env,
    )
    return port, server


def post_rest(port: int, content_type: str, forwarded_for: str | None = None) -> int:
    # The same JSON body each time: a page may send it as text/plain without asking.
    body = json.dumps({"sender": "tg:1001", "message": "我的燃气费"}).encode()
    headers = {"Content-Type": content_type}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return call(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook", method="POST", body=body, headers=headers
    ).status


def test_the_rest_channel_reads_json_only(tmp_path):
    port, server = rest_guard(tmp_path, {})
    try:
        assert post_rest(port, "text/plain") == 415
        assert post_rest(port, "application/x-www-form-urlencoded") == 415
        assert post_rest(port, "multipart/form-data; boundary=x") == 415
        assert post_rest(port, "application/json") == 200
    finally:
        server.stop()


def test_a_reverse_proxy_on_this_host_does_not_open_the_rest_channel(tmp_path):
    port, server = rest_guard(tmp_path, {})
    try:
        # Relayed by a proxy nobody configured as trusted: refused, whoever the client is.
        assert post_rest(port, "application/json", forwarded_for="203.0.113.9") == 403
        assert post_rest(port, "application/json", forwarded_for="127.0.0.1") == 403
    finally:
        server.stop()
    port, server = rest_guard(
        tmp_path,
        {"TRUSTED_PROXIES": "127.0.0.1/32", "REST_ALLOWED_NETWORKS": "127.0.0.0/8,10.0.0.0/8"},
    )
    try:
        assert post_rest(port, "application/json", forwarded_for="203.0.113.9") == 403
        assert post_rest(port, "application/json", forwarded_for="203.0.113.9, 10.1.2.3") == 200
        assert post_rest(port, "application/json", forwarded_for="10.1.2.3, 203.0.113.9") == 403
        assert post_rest(port, "application/json", forwarded_for="10.1.2.3") == 200
    finally:
        server.stop()


# --- attacks 2, 7 and 9 on the Rasa server as make run starts it ----------------------


@pytest.fixture(scope="module")
def rasa_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("rasa")
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text('action_endpoint:\n  url: "http://127.0.0.1:9/webhook"\n', "utf-8")
    port = free_port()
    server = start_server(
        "rasa",
        rasa_server_command(port, endpoints),
        f"http://127.0.0.1:{port}/",
        workdir,
        {
            "RASA_JWT_SECRET": JWT_SECRET,
            "ACTION_SERVER_TOKEN": ACTION_TOKEN,
            "WEBCHAT_SECRET": "security-test-webchat-secret",
            "DATABASE_URL": f"sqlite:///{workdir / 'service.db'}",
        },
    )
    yield f"http://127.0.0.1:{port}", server
    server.stop()


def unsigned_token(payload: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def wrong_algorithm(payload: dict) -> str:
    """Signed with the right secret but HS512, not HS256 (PyJWT warns that the secret is
    short for HS512: here that is the point)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(payload, JWT_SECRET, "HS512")


@pytest.mark.parametrize(
    "token",
    [
        unsigned_token({"user": {"username": "x", "role": "admin"}}),
        unsigned_token({"user": {"username": "x", "role": "admin"}})[:-1] + "c2ln",
        "not-a-token",
        "a.b.c",
        "eyJhbGciOiJIUzI1NiJ9.%%%.xyz",
        jwt.encode({"user": {"role": "admin"}}, "another-secret-of-32-bytes-length!", "HS256"),
        wrong_algorithm({"user": {"role": "admin"}}),
    ],
)
def test_malformed_or_unsigned_tokens_get_401(rasa_server, token):
    url, _ = rasa_server
    for path in ("/status", "/conversations/tg:1001/tracker"):
        reply = call(f"{url}{path}", headers={"Authorization": f"Bearer {token}"})
        assert reply.status == 401, (path, reply.status, reply.body[:200])


def test_a_valid_token_still_opens_the_api(rasa_server):
    url, _ = rasa_server
    token = jwt.encode({"user": {"username": "x", "role": "admin"}}, JWT_SECRET, "HS256")
    # 409: no model loaded; what matters is that the guard lets it through.
    assert call(f"{url}/status", headers={"Authorization": f"Bearer {token}"}).status in {
        200,
        409,
    }


def test_no_page_in_a_browser_here_can_use_the_rest_channel(rasa_server):
    url, _ = rasa_server
    preflight = call(
        f"{url}/webhooks/rest/webhook",
        method="OPTIONS",
        headers={"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = call(
        f"{url}/webhooks/rest/webhook",
        method="POST",
        body=b'{"sender": "tg:1001", "message": "hi"}',
        headers={"Origin": EVIL_ORIGIN, "Content-Type": "text/plain"},
    )
    assert simple.status == 415
    assert "access-control-allow-origin" not in simple.headers


def test_no_secret_is_on_a_command_line(rasa_server, action_server):
    _, rasa = rasa_server
    _, actions = action_server
    for server in (rasa, actions):
        [process] = server.processes
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode()
        assert JWT_SECRET not in command_line and ACTION_TOKEN not in command_line
        assert "--jwt-secret" not in command_line and "--cors" not in command_line
