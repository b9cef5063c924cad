"""A real Rasa server and action server on free ports, with their own database."""

from __future__ import annotations

import fcntl
import socket
import struct
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.infra.db import create_engine, session_scope
from bot.infra.migrate import upgrade
from bot.infra.settings import PROJECT_ROOT
from bot.ops.bench import free_port
from bot.ops.devserver import Servers, ServerStartError, start_servers
from bot.ops.seed import seed_demo, seed_policies
from bot.runtime.chat import send_message

MODEL = PROJECT_ROOT / "models" / "service-assistant.tar.gz"
# The action server's clock: Wednesday 2026-11-25, 15:45 in Shanghai, after 实验小学's
# 15:30 leave cutoff for today and before tomorrow's.
FROZEN_NOW = "2026-11-25T15:45:00+08:00"


def outward_ipv4_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback, one per interface that has one
    (SIOCGIFADDR): where a caller from elsewhere would reach it."""
    addresses = []
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                request = struct.pack("256s", name.encode()[:15])
                answer = fcntl.ioctl(sock.fileno(), 0x8915, request)
            except OSError:  # no IPv4 address on this interface
                continue
        addresses.append(socket.inet_ntoa(answer[20:24]))
    return [address for address in addresses if not address.startswith("127.")]


@dataclass
class Assistant:
    """Talks to the running assistant over Rasa's REST channel."""

    servers: Servers
    database_url: str
    log_dir: Path | None = None

    def post(self, sender: str, message: str) -> tuple[int, list[dict[str, Any]]]:
        try:
            return 200, send_message(self.servers.rasa_url, sender, message, timeout=60)
        except urllib.error.HTTPError as error:
            return error.code, []

    def say(self, message: str, sender: str | None = None) -> list[dict[str, Any]]:
        status, replies = self.post(sender or new_sender(), message)
        assert status == 200, f"{message!r}: HTTP {status}"
        return replies

    def parse(self, text: str) -> dict[str, Any]:
        result: dict[str, Any] = self.servers.api("/model/parse", {"text": text})
        return result

    def tracker(self, sender: str) -> dict[str, Any]:
        """The sender's conversation as Rasa's HTTP API returns it."""
        conversation = urllib.parse.quote(sender, safe=":")
        result: dict[str, Any] = self.servers.api(f"/conversations/{conversation}/tracker")
        return result


def new_sender() -> str:
    return f"web:test-{uuid.uuid4().hex[:12]}"


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


# The WeChat channel's settings in the test servers (the AES key is 43 characters).
WECHAT_ENV = {
    "WECHAT_TOKEN": "test-wechat-token",
    "WECHAT_APP_ID": "wx0123456789abcdef",
    "WECHAT_APP_SECRET": "test-app-secret",
    "WECHAT_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}


@contextmanager
def running_assistant(
    workdir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Assistant]:
    """Servers on free ports with their own demo database, stopped on exit."""
    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    database_url = f"sqlite:///{workdir / 'service.db'}"
    upgrade(database_url)
    engine = create_engine(database_url)
    with session_scope(engine) as session:
        seed_policies(session=session)
        seed_demo(session=session)
    engine.dispose()

    action_port, rasa_port = free_port(), free_port()
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://localhost:{action_port}/webhook"\n'
        "  enable_selective_domain: true\n"
        "tracker_store:\n  type: bot.infra.tracker_store.ThreadedSQLTrackerStore\n"
        f'  dialect: "sqlite"\n  db: "{workdir / "tracker.db"}"\n',
        encoding="utf-8",
    )
    env = {"DATABASE_URL": database_url, "FROZEN_NOW": FROZEN_NOW, **WECHAT_ENV}
    try:
        servers = start_servers(
            action_port=action_port,
            rasa_port=rasa_port,
            log_dir=workdir / "logs",
            endpoints=endpoints,
            model=MODEL,
            extra_env={**env, **(extra_env or {})},
        )
    except ServerStartError as error:
        logs = "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
            for log in sorted((workdir / "logs").glob("*.log"))
        )
        pytest.fail(f"{error}\n{logs}")
    try:
        yield Assistant(servers=servers, database_url=database_url, log_dir=workdir / "logs")
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory) -> Iterator[Assistant]:
    with running_assistant(tmp_path_factory.mktemp("assistant")) as running:
        yield running
