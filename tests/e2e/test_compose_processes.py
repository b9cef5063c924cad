"""docker-compose.yml's services run here without Docker: the commands, environment, health
checks and endpoints of the compose file, as processes against the local PostgreSQL and
Redis. Only what Docker provides is replaced: host names become 127.0.0.1, fixed ports
free ones, the passwords those of the local test servers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import redis
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.infra.db import create_engine
from bot.infra.settings import PROJECT_ROOT
from bot.ops.devserver import Servers
from tests.compose import environment_of, load_compose
from tests.e2e.conftest import MODEL, free_port

pytestmark = pytest.mark.e2e
# Starting with "-", as a random secret may: it must still reach Rasa as the secret.
JWT_SECRET = "-compose-test-jwt-secret-of-at-least-32-bytes"
STARTUP_SECONDS = 240


@dataclass
class Deployment:
    rasa_url: str
    dashboard_url: str
    database_url: str
    redis_url: str


def localize(parts: list[Any], ports: dict[str, int], endpoints: Path) -> list[str]:
    """A compose command or health check with Docker's ports and paths replaced by ours."""
    replaced = []
    for part in map(str, parts):
        for docker_port, service in (("5055", "actions"), ("5005", "rasa"), ("8080", "dashboard")):
            part = re.sub(rf"\b{docker_port}\b", str(ports[service]), part)
        part = part.replace("0.0.0.0", "127.0.0.1")
        part = part.replace("endpoints.docker.yml", str(endpoints))
        replaced.append(sys.executable if part == "python" else part)
    return replaced


def local_endpoints(path: Path, action_port: int, redis_url: str) -> Path:
    """endpoints.docker.yml pointing at this machine (${...} kept for Rasa to fill in)."""
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.docker.yml").read_text("utf-8"))
    endpoints["action_endpoint"]["url"] = f"http://localhost:{action_port}/webhook"
    endpoints["tracker_store"]["url"] = "127.0.0.1"
    redis_target = make_url(redis_url)
    endpoints["lock_store"].update(
        url=redis_target.host, port=redis_target.port or 6379, db=int(redis_target.database)
    )
    path.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    return path


def wait_healthy(name: str, check: list[str], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{name} exited:\n{log.read_text(errors='replace')[-3000:]}"
        if subprocess.run(check, cwd=PROJECT_ROOT, capture_output=True).returncode == 0:
            return
        time.sleep(1)
    pytest.fail(
        f"{name} not healthy in {STARTUP_SECONDS} s:\n{log.read_text(errors='replace')[-3000:]}"
    )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, postgres_server, redis_server) -> Iterator[Deployment]:
    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    workdir = tmp_path_factory.mktemp("compose")
    database = f"svc_compose_{os.getpid()}_{int(time.time())}"
    autocommit = postgres_server.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    server_url = make_url(str(postgres_server.url))
    database_url = server_url.set(database=database).render_as_string(hide_password=False)
    services = load_compose()["services"]
    ports = {"actions": free_port(), "rasa": free_port(), "dashboard": free_port()}
    endpoints = local_endpoints(workdir / "endpoints.yml", ports["actions"], redis_server)
    base_env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(PROJECT_ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
    }

    def env_for(name: str, **extra: str) -> dict[str, str]:
        env = {**base_env, **environment_of(services[name])}
        env.update(
            DATABASE_URL=database_url,
            TRACKER_DATABASE_URL=database_url,
            REDIS_URL=redis_server,
            RASA_SERVER_URL=f"http://localhost:{ports['rasa']}",
            ACTION_SERVER_URL=f"http://localhost:{ports['actions']}/webhook",
        )
        env.update(extra)
        return env

    migrate = subprocess.run(
        services["migrate"]["command"],
        cwd=PROJECT_ROOT,
        env=env_for("migrate", SEED_DEMO="1"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    running = Servers(rasa_url=f"http://localhost:{ports['rasa']}", action_url="")
    try:
        for name, extra in (
            ("actions", {}),
            (
                "rasa",
                {
                    "RASA_JWT_SECRET": JWT_SECRET,
                    "POSTGRES_DB": database,
                    "POSTGRES_USER": server_url.username or "postgres",
                    "POSTGRES_PASSWORD": server_url.password or "",
                    "REDIS_PASSWORD": make_url(redis_server).password or "",
                },
            ),
            ("dashboard", {}),
        ):
            command = localize(services[name]["command"], ports, endpoints)
            log = workdir / f"{name}.log"
            with log.open("ab") as output:
                process = subprocess.Popen(
                    command,
                    cwd=PROJECT_ROOT,
                    env=env_for(name, **extra),
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            running.processes.append(process)
            check = localize(services[name]["healthcheck"]["test"][1:], ports, endpoints)
            wait_healthy(name, check, process, log)
        yield Deployment(
            rasa_url=f"http://localhost:{ports['rasa']}",
            dashboard_url=f"http://localhost:{ports['dashboard']}",
            database_url=database_url,
            redis_url=redis_server,
        )
    finally:
        running.stop()
        with autocommit.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def get(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=30
        ) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_the_migration_seeded_policies_and_on_request_demo_data(deployment):
    engine = create_engine(deployment.database_url)
    try:
        with engine.connect() as connection:
            assert (
                connection.execute(text("select count(*) from policy_document")).scalar_one() >= 15
            )
            assert connection.execute(text("select count(*) from gas_account")).scalar_one() > 0
    finally:
        engine.dispose()


def test_the_rasa_http_api_answers_only_with_a_valid_jwt(deployment):
    status_url = f"{deployment.rasa_url}/status"
    admin = {"user": {"username": "ops", "role": "admin"}}
    assert get(status_url) == 401
    assert (
        get(status_url, jwt.encode(admin, "another-secret-of-at-least-32-bytes", algorithm="HS256"))
        == 401
    )
    assert get(status_url, jwt.encode(admin, JWT_SECRET, algorithm="HS256")) == 200
    assert get(f"{deployment.rasa_url}/") == 200  # what the health check asks


def test_a_conversation_is_kept_in_postgres_under_the_redis_lock_store(deployment):
    sender = f"web:compose-{time.time_ns()}"
    request = urllib.request.Request(
        f"{deployment.rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": "你好"}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        replies = json.loads(response.read())
    assert any("您好" in reply.get("text", "") for reply in replies)
    engine = create_engine(deployment.database_url)
    try:
        with engine.connect() as connection:
            events = connection.execute(
                text("select count(*) from events where sender_id = :sender"), {"sender": sender}
            ).scalar_one()
    finally:
        engine.dispose()
    assert events > 0
    # Rasa's lock store took and released the conversation's lock in this Redis database.
    client = redis.Redis.from_url(deployment.redis_url)
    try:
        database = int(make_url(deployment.redis_url).database)
        others = [
            c
            for c in client.client_list()
            if int(c["db"]) == database and c["cmd"] != "client|list"
        ]
    finally:
        client.close()
    # (bot.infra.lock_store takes an unlocked conversation with SET NX and frees it with an EVAL
    # script; it changes a lock held by others in a WATCH/MULTI/EXEC transaction.)
    lock_commands = {"get", "set", "del", "eval", "evalsha", "exec", "watch", "unwatch"}
    assert any(c["cmd"] in lock_commands for c in others), others


def test_the_dashboard_answers_its_health_check(deployment):
    assert get(f"{deployment.dashboard_url}/health") == 200
