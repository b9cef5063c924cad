"""One compose project of the test: its generated `.env` and override file, the compose
commands on it, health checks, container memory, the database and the web chat.

The project runs docker-compose.yml unchanged. The generated `.env` sets the secrets, the
demo data, free published ports and the images compose would otherwise pull (the local
stand-ins, through POSTGRES_IMAGE, REDIS_IMAGE and PYTHON_IMAGE); the override file only
lets the builds reach PyPI and Debian through the host's network (this machine's daemon
has no default bridge) and names the test's images apart from a user's.
"""

from __future__ import annotations

import http.cookiejar
import json
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.infra.settings import PROJECT_ROOT
from tests.compose import REQUIRED_SECRETS
from tests.compose_stack.host import HostError, run

LONG_RUNNING = ("postgres", "redis", "actions", "rasa", "dashboard")
ONE_SHOT = ("migrate",)
BUILT = {"rasa": "rasa", "migrate": "app", "actions": "app", "dashboard": "app", "telegram": "app"}
# The Rasa image's package stage, as `make compose-test`'s preparation tags it.
PACKAGES_IMAGE = "rasa-packages"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    """A compose project made from docker-compose.yml for this run."""

    compose: list[str]
    workdir: Path
    images: dict[str, str]
    name: str = "service-assistant-compose-test"
    env: dict[str, str] = field(default_factory=dict)

    def write_files(self, *, packages_only: bool = False) -> None:
        """The `.env` (secrets made here, letters and digits) and the override file; with
        `packages_only`, the Rasa image stops at its package stage (a tag of its own), so
        that building it needs no model and leaves its layers for the real build."""
        self.env = {name: secrets.token_hex(24) for name in sorted(REQUIRED_SECRETS)}
        self.env.update(
            SEED_DEMO="1",
            RASA_PORT=str(free_port()),
            DASHBOARD_PORT=str(free_port()),
            DOCKER_SUBNET="172.29.157.0/24",
            **self.images,
        )
        env_file = self.workdir / ".env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env.items()), encoding="utf-8")
        env_file.chmod(0o600)
        override: dict[str, Any] = {"services": {}}
        for service, image in BUILT.items():
            override["services"][service] = {
                "image": f"service-assistant-test/{image}:latest",
                "build": {"network": "host"},
            }
        if packages_only:
            override["services"]["rasa"] = {
                "image": f"service-assistant-test/{PACKAGES_IMAGE}:latest",
                "build": {"network": "host", "target": "build"},
            }
        (self.workdir / "override.yml").write_text(yaml.safe_dump(override), encoding="utf-8")

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.env['DASHBOARD_PORT']}"

    def command(self, *args: str) -> list[str]:
        return [
            *self.compose,
            "--project-name",
            self.name,
            "--project-directory",
            str(PROJECT_ROOT),
            "--env-file",
            str(self.workdir / ".env"),
            "-f",
            str(PROJECT_ROOT / "docker-compose.yml"),
            "-f",
            str(self.workdir / "override.yml"),
            *args,
        ]

    def run(self, *args: str, log: Path | None = None, input_bytes: bytes | None = None) -> str:
        return run(self.command(*args), log=log, input_bytes=input_bytes, cwd=PROJECT_ROOT)

    def read_file(self, service: str, path: str) -> bytes:
        """A file inside the service's container, byte for byte."""
        done = subprocess.run(
            self.command("exec", "-T", service, "cat", path), capture_output=True, cwd=PROJECT_ROOT
        )
        if done.returncode != 0:
            raise HostError(f"cannot read {path} in {service}: {done.stderr.decode()[-2000:]}")
        return done.stdout

    def container(self, service: str) -> str:
        ids = self.run("ps", "-a", "-q", service).split()
        if not ids:
            raise HostError(f"no container for {service}")
        return ids[0]

    def state(self, service: str) -> tuple[str, str, int]:
        """(status, health, exit code) of the service's container."""
        fields = run(
            [
                "docker",
                "inspect",
                "--format",
                "{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}"
                "|{{.State.ExitCode}}",
                self.container(service),
            ]
        ).strip()
        status, health, code = fields.split("|")
        return status, health, int(code)

    def wait_healthy(
        self,
        services: Sequence[str] = LONG_RUNNING + ONE_SHOT,
        timeout: float = 900,
        since: float | None = None,
    ) -> dict[str, float]:
        """Seconds from `since` (default: now) until each service was healthy (a one-shot:
        exited 0), to within the one-second polling."""
        started = time.monotonic() if since is None else since
        ready: dict[str, float] = {}
        while time.monotonic() - started < timeout:
            for service in services:
                if service in ready:
                    continue
                try:
                    status, health, code = self.state(service)
                except HostError:
                    continue
                if service in ONE_SHOT:
                    if status == "exited":
                        if code != 0:
                            raise HostError(f"{service} exited {code}:\n{self.logs(service)}")
                        ready[service] = time.monotonic() - started
                elif health == "healthy":
                    ready[service] = time.monotonic() - started
                elif status in {"exited", "dead"} or health == "unhealthy":
                    raise HostError(f"{service} is {status}/{health}:\n{self.logs(service)}")
            if len(ready) == len(services):
                return ready
            time.sleep(1)
        missing = [s for s in services if s not in ready]
        tails = "\n".join(f"--- {s}\n{self.logs(s)}" for s in missing)
        raise HostError(f"not healthy after {timeout:.0f} s: {', '.join(missing)}\n{tails}")

    def logs(self, service: str, lines: int = 40) -> str:
        try:
            return self.run("logs", "--no-color", "--tail", str(lines), service)
        except HostError as error:
            return str(error)

    def memory(self) -> dict[str, str]:
        """Each running container's memory use, as `docker stats` reports it."""
        ids = {}
        for service in LONG_RUNNING:
            with suppress(HostError):
                ids[self.container(service)] = service
        output = run(["docker", "stats", "--no-stream", "--format", "{{.ID}} {{.MemUsage}}", *ids])
        usage = {}
        for line in output.splitlines():
            short_id, used = line.split(" ", 1)
            service = next(s for cid, s in ids.items() if cid.startswith(short_id))
            usage[service] = used.split(" / ")[0]
        return usage

    def sql(self, statement: str) -> list[list[str]]:
        """Rows of a query, run by psql inside the postgres container."""
        output = self.run(
            "exec",
            "-T",
            "postgres",
            "psql",
            "-U",
            self.env.get("POSTGRES_USER", "service"),
            "-d",
            self.env.get("POSTGRES_DB", "service"),
            "-v",
            "ON_ERROR_STOP=1",
            "-tAF",
            "|",
            "-c",
            statement,
        )
        return [line.split("|") for line in output.splitlines() if line]


def image_size(tag: str) -> int:
    return int(run(["docker", "image", "inspect", "--format", "{{.Size}}", tag]).strip())


class WebChatVisitor:
    """One person on the published web chat page: a cookie jar of their own."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        with self.opener.open(f"{base}/webhooks/webchat/", timeout=60) as response:
            if response.status != 200:
                raise HostError(f"the web chat page answered {response.status}")

    def say(self, message: str, timeout: float = 120) -> str:
        """The assistant's answer to `message`, its texts and button titles joined."""
        request = urllib.request.Request(
            f"{self.base}/webhooks/webchat/webhook",
            data=json.dumps({"message": message}).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with self.opener.open(request, timeout=timeout) as response:
            replies = json.loads(response.read())
        parts = []
        for reply in replies:
            parts.append(reply.get("text", ""))
            parts.extend(button.get("title", "") for button in reply.get("buttons") or [])
        return "\n".join(part for part in parts if part)


def post_rest(base: str, sender: str, message: str) -> tuple[int, str]:
    request = urllib.request.Request(
        f"{base}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            replies = json.loads(response.read())
            return int(response.status), "\n".join(r.get("text", "") for r in replies)
    except urllib.error.HTTPError as error:
        return error.code, ""


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def kill(container_ids: Sequence[str]) -> None:
    subprocess.run(["docker", "kill", *container_ids], check=True, capture_output=True)
