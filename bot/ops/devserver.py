"""`make run`: start the action server, the Rasa server and the supervisors' dashboard,
then chat in the terminal.

The servers run in their own process groups with logs in var/log/. Ctrl-C (or the
end of the chat) stops everything this started. The end-to-end tests start their
servers with the same `start_servers`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt

from bot.infra.keys import private_dir, private_file
from bot.infra.settings import PROJECT_ROOT, get_settings

LOG_DIR = PROJECT_ROOT / "var" / "log"
STARTUP_TIMEOUT = 300.0


class ServerStartError(RuntimeError):
    """A server exited or did not answer in time; the message names its log."""


def new_jwt_secret() -> str:
    """A secret for one run of the servers, when RASA_JWT_SECRET does not name one."""
    return secrets.token_urlsafe(32)


def api_token(jwt_secret: str) -> str:
    """A bearer token for Rasa's HTTP API: the admin role, which may read any conversation."""
    payload = {"user": {"username": "service-assistant", "role": "admin"}}
    return jwt.encode(payload, jwt_secret, algorithm="HS256")


def auth_headers(jwt_secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(jwt_secret)}"}


def api_request(
    url: str, jwt_secret: str, payload: object | None = None, *, timeout: float = 60
) -> Any:
    """GET `url` (POST `payload` as JSON) from Rasa's HTTP API, authenticated; the JSON
    answer. HTTP errors raise `urllib.error.HTTPError`."""
    headers = auth_headers(jwt_secret)
    data = None
    if payload is not None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


@dataclass
class Servers:
    """The running action server and Rasa server.

    Rasa's HTTP API (/model/parse, /conversations/...) answers only requests carrying a
    token signed with `jwt_secret` (`api_request`); the channels' webhooks need none."""

    rasa_url: str
    action_url: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    jwt_secret: str = field(default_factory=new_jwt_secret, repr=False)
    # What the Rasa server sends the action server (bot.runtime.action_server refuses others).
    action_token: str = field(default_factory=new_jwt_secret, repr=False)

    def auth_headers(self) -> dict[str, str]:
        return auth_headers(self.jwt_secret)

    def api(self, path: str, payload: object | None = None, *, timeout: float = 60) -> Any:
        """Call Rasa's HTTP API at `path` ("/model/parse") with the servers' token."""
        return api_request(f"{self.rasa_url}{path}", self.jwt_secret, payload, timeout=timeout)

    def running(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def stop(self) -> None:
        """Stop both servers and their workers: SIGTERM, then SIGKILL after 15 s."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _rasa() -> str:
    return str(Path(sys.executable).with_name("rasa"))


def _start(log_path: Path, args: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        # A new session: the server and any workers it forks are stopped together.
        return subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )


def wait_until_up(
    url: str,
    process: subprocess.Popen[bytes],
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> bool:
    """Poll `url` until it answers 200, the process dies or `timeout` passes."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers=dict(headers or {}))
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    return False


def server_env(extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the servers run with: this one, the project importable."""
    return {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "PYTHONPATH": str(PROJECT_ROOT),
        **(extra_env or {}),
    }


# TensorFlow's thread pools for the Rasa server: one thread each. The server runs one
# model call at a time (one event loop), DIET and TED are small, and on 2 CPUs the other
# CPU is better left to the action server and the database (`make bench`: 26.6 → 33.3
# turns/s at concurrency 1). Set in the environment to override.
TF_THREADS = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}


# How the Rasa server serves, wherever it runs: `python -m bot run`, `make bench` (which
# measures exactly this) and the end-to-end tests all start it through `start_servers`.
# Each setting's measurement is in the README (Speed); the environment overrides any.
RASA_SERVING_ENV = {**TF_THREADS}


def rasa_server_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with the serving settings (RASA_SERVING_ENV) it does not set itself."""
    return {**RASA_SERVING_ENV, **env}


def action_server_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without the Rasa server's serving settings: given a TensorFlow one, `rasa run
    actions` would load TensorFlow to apply it (350 MB) although no action uses it, and
    SANIC_WORKERS is the Rasa server's (ACTION_SERVER_SANIC_WORKERS is the action server's)."""
    return {name: value for name, value in env.items() if name not in RASA_SERVING_ENV}


def action_server_command(port: int) -> list[str]:
    """The guarded action server (`bot.runtime.action_server`): 127.0.0.1, token required."""
    module = "bot.runtime.action_server"
    return [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)]


def guarded_api_args() -> list[str]:
    """`rasa run` options: on localhost only, the HTTP API only for tokens signed with
    RASA_JWT_SECRET, which `bot.runtime.rasa_server` reads from its environment."""
    return ["--enable-api", "--interface", "127.0.0.1"]


def rasa_server_command(port: int, endpoints: Path, model: Path | None = None) -> list[str]:
    """Rasa with the project's endpoints and channels (`bot.runtime.rasa_server`: no secret on the
    command line, no CORS); see `guarded_api_args`."""
    args = [
        sys.executable,
        "-m",
        "bot.runtime.rasa_server",
        *guarded_api_args(),
        "--port",
        str(port),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(PROJECT_ROOT / "credentials.yml"),
    ]
    if model is not None:
        args += ["--model", str(model)]
    return args


def secret_env(jwt_secret: str, action_token: str) -> dict[str, str]:
    """The secrets both servers need, passed in their environment (never on argv)."""
    return {"RASA_JWT_SECRET": jwt_secret, "ACTION_SERVER_TOKEN": action_token}


def start_process(
    name: str,
    args: list[str],
    health_url: str,
    *,
    log_dir: Path = LOG_DIR,
    env: Mapping[str, str],
    timeout: float = STARTUP_TIMEOUT,
    headers: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start one server (log in `log_dir/<name>.log`) and wait until `health_url` answers
    (sent with `headers`); stopped again if it does not."""
    process = _start(log_dir / f"{name}.log", args, env)
    if not wait_until_up(health_url, process, timeout, headers):
        Servers("", "", [process]).stop()
        raise ServerStartError(f"the {name} server did not start: see {log_dir}/{name}.log")
    return process


def start_servers(
    *,
    action_port: int,
    rasa_port: int,
    log_dir: Path = LOG_DIR,
    endpoints: Path = PROJECT_ROOT / "endpoints.yml",
    model: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = STARTUP_TIMEOUT,
    admin_port: int | None = None,
    admin_host: str = "127.0.0.1",
    jwt_secret: str | None = None,
) -> Servers:
    """Start the action server and the Rasa server (and, given a port, the dashboard)
    and wait until they answer. Rasa's HTTP API takes tokens signed with `jwt_secret`
    (default: RASA_JWT_SECRET, else a new secret for this run only)."""
    settings = get_settings()
    servers = Servers(
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_url=f"http://localhost:{action_port}/webhook",
        jwt_secret=jwt_secret or settings.rasa_jwt_secret or new_jwt_secret(),
        action_token=settings.action_server_token or new_jwt_secret(),
    )
    env = {
        **server_env(extra_env),
        **secret_env(servers.jwt_secret, servers.action_token),
    }
    checks: list[tuple[str, list[str], str, dict[str, str], dict[str, str]]] = [
        (
            "actions",
            action_server_command(action_port),
            f"http://localhost:{action_port}/health",
            {},
            action_server_env(env),
        ),
        (
            "rasa",
            rasa_server_command(rasa_port, endpoints, model),
            f"{servers.rasa_url}/status",
            servers.auth_headers(),
            rasa_server_env(env),
        ),
    ]
    if admin_port is not None:
        admin_args = [sys.executable, "-m", "bot", "admin", "--host", admin_host]
        admin_args += ["--port", str(admin_port)]
        admin_url = f"http://{admin_host}:{admin_port}/health"
        checks.append(("admin", admin_args, admin_url, {}, action_server_env(env)))
    try:
        for name, args, health_url, headers, process_env in checks:
            servers.processes.append(
                start_process(
                    name,
                    args,
                    health_url,
                    log_dir=log_dir,
                    env=process_env,
                    timeout=timeout,
                    headers=headers,
                )
            )
    except BaseException:
        servers.stop()
        raise
    return servers


def start_telegram_bridge(
    log_dir: Path = LOG_DIR, extra_env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`python -m bot telegram` in its own process group, logging to telegram.log."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(extra_env or {})}
    return _start(log_dir / "telegram.log", [sys.executable, "-m", "bot", "telegram"], env)


def secure_var() -> None:
    """var/ (databases, logs, keys) mode 0700 and its files 0600; the servers, which
    inherit this process's umask, create theirs so too."""
    os.umask(0o077)
    var = private_dir(PROJECT_ROOT / "var")
    for path in [*var.iterdir(), *(var / "log").glob("*")]:
        if path.is_dir() and not path.is_symlink():
            private_dir(path)
        elif path.is_file():
            private_file(path)


def run(*, chat: bool = True) -> int:
    """Serve the assistant until Ctrl-C; with a terminal, chat with it."""

    def _terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    # Also when started in the background, where SIGINT would otherwise be ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    settings = get_settings()
    secure_var()
    action_port = urlsplit(settings.action_server_url).port or 5055
    rasa_port = urlsplit(settings.rasa_server_url).port or 5005
    started = time.monotonic()
    admin_port = settings.admin_port
    print(
        f"starting the action server (:{action_port}), Rasa (:{rasa_port}) and the "
        f"review desk (:{admin_port}); logs in {LOG_DIR}"
    )
    servers: Servers | None = None
    try:
        servers = start_servers(
            action_port=action_port,
            rasa_port=rasa_port,
            admin_port=admin_port,
            admin_host=settings.admin_host,
        )
        print(f"ready in {time.monotonic() - started:.0f} s")
        print(f"REST channel: POST {servers.rasa_url}/webhooks/rest/webhook")
        if settings.telegram_bot_token:
            servers.processes.append(start_telegram_bridge())
            print(f"Telegram bridge started; log in {LOG_DIR}/telegram.log")
        print(
            f"review desk: http://{settings.admin_host}:{admin_port}/ "
            "(accounts: python -m bot admin create-user NAME)"
        )
        if chat and sys.stdin.isatty():
            from bot.runtime.chat import chat as chat_loop

            return chat_loop(server_url=servers.rasa_url)
        print("serving; press Ctrl-C to stop")
        while servers.running():
            time.sleep(1)
        print(f"a server stopped unexpectedly; see the logs in {LOG_DIR}", file=sys.stderr)
        return 1
    except ServerStartError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if servers is not None:
            servers.stop()
        print("stopped")
