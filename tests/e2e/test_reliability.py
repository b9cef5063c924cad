"""Faults with the real servers on the local PostgreSQL and Redis: two Rasa servers sharing
the PostgreSQL tracker store and the Redis lock store, one action server; the database and
the action server are reached through links the tests can break (tests/e2e/faults.py),
and processes are killed with SIGKILL.

- a burst from one sender, sent alternately to both Rasa servers, is handled in order and
  none of it is lost;
- the action server down or hanging, the database down: the user is told the system is
  busy, with an incident id that is in the log; the conversation goes on afterwards;
- kill -9 of the action server in a leave form, and of the action server and a Rasa
  server while a complaint is being confirmed: nothing unconfirmed is written, nothing
  confirmed is lost, the user carries on.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine, make_url

from bot.infra.db import create_engine, session_scope
from bot.infra.migrate import upgrade
from bot.models import Complaint, LeaveRequest, Student
from bot.ops.devserver import (
    action_server_command,
    api_request,
    auth_headers,
    new_jwt_secret,
    rasa_server_command,
    secret_env,
    server_env,
    start_process,
)
from bot.ops.seed import seed_demo, seed_policies
from bot.runtime.chat import send_message
from tests.conftest import TEST_POSTGRES_URL, _require_services
from tests.e2e.conftest import FROZEN_NOW, MODEL, free_port, new_sender, texts
from tests.e2e.faults import FaultyLink, LinkMode

pytestmark = pytest.mark.e2e

INCIDENT = re.compile(r"E\d{8}-[0-9A-F]{6}")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# Short enough for a test, long enough for any turn: how long the Rasa server waits for an
# action, and how long a dead Rasa server's hold on a conversation lasts.
ACTION_TIMEOUT = 3
LOCK_LIFETIME = 12


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=2).ping()
    except Exception as exc:  # any driver or network error means: no server here
        message = f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc.__class__.__name__}"
        if _require_services():
            pytest.fail(message)
        pytest.skip(message)


def _create_database(server: Engine, name: str) -> str:
    with server.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(TEST_POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def _drop_database(server: Engine, name: str) -> None:
    with server.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Cluster:
    """One action server and two Rasa servers, each started and killed at will."""

    workdir: Path
    database_url: str
    endpoints: Path
    env: dict[str, str]
    db_link: FaultyLink
    action_link: FaultyLink
    action_port: int
    rasa_ports: tuple[int, int]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    jwt_secret: str = field(default_factory=new_jwt_secret, repr=False)
    action_token: str = field(default_factory=new_jwt_secret, repr=False)

    @property
    def process_env(self) -> dict[str, str]:
        return {**self.env, **secret_env(self.jwt_secret, self.action_token)}

    def rasa_url(self, server: int) -> str:
        return f"http://127.0.0.1:{self.rasa_ports[server]}"

    def start_actions(self) -> None:
        self.processes["actions"] = start_process(
            "actions",
            action_server_command(self.action_port),
            f"http://127.0.0.1:{self.action_port}/health",
            log_dir=self.workdir / "logs",
            env=self.process_env,
        )

    def start_rasa(self, server: int) -> None:
        self.processes[f"rasa{server}"] = start_process(
            f"rasa{server}",
            rasa_server_command(self.rasa_ports[server], self.endpoints, MODEL),
            f"{self.rasa_url(server)}/status",
            log_dir=self.workdir / "logs",
            env=self.process_env,
            headers=auth_headers(self.jwt_secret),
        )

    def kill(self, name: str) -> None:
        """SIGKILL the server's whole process group: no clean-up of any kind."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def log(self, name: str) -> str:
        return (self.workdir / "logs" / f"{name}.log").read_text(errors="replace")

    def post(self, server: int, sender: str, message: str) -> tuple[int, list[dict[str, Any]]]:
        try:
            return 200, send_message(self.rasa_url(server), sender, message, timeout=90)
        except urllib.error.HTTPError as error:
            return error.code, []

    def say(self, server: int, sender: str, message: str) -> str:
        status, replies = self.post(server, sender, message)
        assert status == 200, f"{message!r}: HTTP {status}"
        return texts(replies)

    def tracker(self, server: int, sender: str) -> dict[str, Any]:
        url = f"{self.rasa_url(server)}/conversations/{sender}/tracker"
        result: dict[str, Any] = api_request(url, self.jwt_secret)
        return result

    def rows(self, query: Any) -> list[Any]:
        engine = create_engine(self.database_url)
        try:
            with session_scope(engine) as session:
                return list(session.execute(query).all())
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def cluster(postgres_server: Engine, tmp_path_factory) -> Iterator[Cluster]:
    _redis_or_skip()
    if not MODEL.is_file():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    workdir = tmp_path_factory.mktemp("reliability")
    suffix = uuid.uuid4().hex[:10]
    service_db, tracker_db = f"svc_rel_{suffix}", f"svc_rel_tracker_{suffix}"
    database_url = _create_database(postgres_server, service_db)
    _create_database(postgres_server, tracker_db)
    upgrade(database_url)
    engine = create_engine(database_url)
    with session_scope(engine) as session:
        seed_policies(session=session)
        seed_demo(session=session)
    engine.dispose()

    server = make_url(TEST_POSTGRES_URL)
    db_link = FaultyLink(server.port or 5432, server.host or "127.0.0.1")
    action_port = free_port()
    action_link = FaultyLink(action_port)
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_link.port}/webhook"\n'
        "  enable_selective_domain: true\n"
        "tracker_store:\n  type: bot.infra.tracker_store.ThreadedSQLTrackerStore\n"
        "  dialect: postgresql\n"
        f'  url: "{server.host or "127.0.0.1"}"\n  port: {server.port or 5432}\n'
        f'  username: "{server.username or "postgres"}"\n  db: "{tracker_db}"\n'
        "lock_store:\n  type: bot.infra.lock_store.AtomicRedisLockStore\n"
        f"  url: {REDIS_HOST}\n  port: {REDIS_PORT}\n"
        f'  key_prefix: "rel{suffix}"\n',
        encoding="utf-8",
    )
    through_link = make_url(database_url).set(host="127.0.0.1", port=db_link.port)
    env = server_env(
        {
            "DATABASE_URL": through_link.render_as_string(hide_password=False),
            "FROZEN_NOW": FROZEN_NOW,
            "ACTION_TIMEOUT": str(ACTION_TIMEOUT),
            "TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME),
        }
    )
    cluster = Cluster(
        workdir=workdir,
        database_url=database_url,
        endpoints=endpoints,
        env=env,
        db_link=db_link,
        action_link=action_link,
        action_port=action_port,
        rasa_ports=(free_port(), free_port()),
    )
    try:
        cluster.start_actions()
        # Both Rasa servers load the model at the same time.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(cluster.start_rasa, (0, 1)))
        yield cluster
    finally:
        cluster.stop()
        db_link.close()
        action_link.close()
        for name in (service_db, tracker_db):
            _drop_database(postgres_server, name)


def _turns(tracker: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(user text, the bot's texts that followed it) for each user message."""
    turns: list[tuple[str, list[str]]] = []
    for event in tracker["events"]:
        if event["event"] == "user":
            turns.append((event.get("text") or "", []))
        elif event["event"] == "bot" and turns and event.get("text"):
            turns[-1][1].append(event["text"])
    return turns


def test_a_burst_sent_to_both_servers_is_handled_in_order_and_none_is_lost(cluster):
    sender = new_sender()
    messages = [f"{'你好' if n % 2 else '燃气营业厅在哪'} {n}" for n in range(12)]
    answers: dict[str, list[str]] = {}

    def send(number: int) -> None:
        # A user typing fast: a message every 0.2 s, each to the other server.
        time.sleep(number * 0.2)
        status, replies = cluster.post(number % 2, sender, messages[number])
        assert status == 200
        answers[messages[number]] = [reply["text"] for reply in replies if reply.get("text")]

    with ThreadPoolExecutor(len(messages)) as pool:
        list(pool.map(send, range(len(messages))))

    turns = _turns(cluster.tracker(0, sender))
    # None lost, none twice.
    assert sorted(message for message, _ in turns) == sorted(messages)
    # Each server's messages in the order they were sent to it. (Between the two servers
    # the order is the order of arrival, which a busy server's event loop may delay.)
    for server in (0, 1):
        sent = messages[server::2]
        assert [message for message, _ in turns if message in sent] == sent
    # Each turn's replies are the ones its sender got: no turn ran into another.
    for message, replies in turns:
        assert replies and replies == answers[message]
    assert _turns(cluster.tracker(1, sender)) == turns


def test_messages_sent_at_the_same_moment_to_both_servers_are_all_handled(cluster):
    # Rasa's own Redis lock store loses tickets here (bot/infra/lock_store.py): two servers take
    # the same ticket, or one deletes the lock another is waiting on.
    sender = new_sender()
    messages = [f"{'你好' if n % 2 else '燃气营业厅在哪'} 同时{n}" for n in range(10)]
    answers: dict[str, list[str]] = {}
    start = threading.Barrier(len(messages))

    def send(number: int) -> None:
        start.wait(timeout=10)
        status, replies = cluster.post(number % 2, sender, messages[number])
        assert status == 200
        answers[messages[number]] = [reply["text"] for reply in replies if reply.get("text")]

    with ThreadPoolExecutor(len(messages)) as pool:
        list(pool.map(send, range(len(messages))))

    turns = _turns(cluster.tracker(1, sender))
    assert sorted(message for message, _ in turns) == sorted(messages)
    for message, replies in turns:
        assert replies and replies == answers[message]


def _leaves(cluster: Cluster, student_no: str) -> list[tuple[date, str]]:
    return [
        (row.care_date, row.state.value)
        for row in cluster.rows(
            select(LeaveRequest.care_date, LeaveRequest.state)
            .join(Student, Student.id == LeaveRequest.student_id)
            .where(Student.student_no == student_no)
        )
    ]


def _incident(answer: str) -> str:
    assert "系统繁忙" in answer and "稍后再试" in answer, answer
    match = INCIDENT.search(answer)
    assert match, answer
    return match.group(0)


def test_the_action_server_killed_in_a_leave_form_busy_then_the_form_goes_on(cluster):
    sender = new_sender()
    assert "学号" in cluster.say(0, sender, "孩子明天不参加课后看护,发烧了")
    assert "手机号" in cluster.say(1, sender, "2024010102")

    cluster.kill("actions")
    try:
        incident = _incident(cluster.say(0, sender, "1003"))
        assert incident in cluster.log("rasa0")
        assert _leaves(cluster, "2024010102") == []
    finally:
        cluster.start_actions()

    # The phone number could not be checked, so it is asked for again.
    confirm = cluster.say(1, sender, "1003")
    assert "验证成功" in confirm and "李浩然" in confirm
    assert _leaves(cluster, "2024010102") == []
    assert "已为李浩然登记请假" in cluster.say(0, sender, "/affirm")
    assert _leaves(cluster, "2024010102") == [(date(2026, 11, 26), "requested")]


def test_the_database_down_busy_with_an_incident_in_the_action_log(cluster):
    sender = new_sender()
    cluster.db_link.set_mode(LinkMode.REFUSE)
    try:
        incident = _incident(cluster.say(0, sender, "燃气营业厅在哪"))
    finally:
        cluster.db_link.set_mode(LinkMode.FORWARD)
    log = cluster.log("actions")
    assert incident in log
    assert "OperationalError" in log[log.index(incident) :]
    assert "演示市人民路 88 号" in cluster.say(1, sender, "燃气营业厅在哪")


def test_a_hanging_action_server_busy_after_the_timeout(cluster):
    sender = new_sender()
    cluster.action_link.set_mode(LinkMode.STALL)
    try:
        started = time.monotonic()
        answer = cluster.say(1, sender, "燃气营业厅在哪")
        elapsed = time.monotonic() - started
    finally:
        cluster.action_link.set_mode(LinkMode.FORWARD, drop_connections=True)
    incident = _incident(answer)
    assert ACTION_TIMEOUT <= elapsed < ACTION_TIMEOUT + 10
    assert incident in cluster.log("rasa1")
    assert "演示市人民路 88 号" in cluster.say(0, sender, "燃气营业厅在哪")


def _complaints(cluster: Cluster, sender: str) -> list[str]:
    query = select(Complaint.ticket_no).where(Complaint.sender_id == sender)
    return [row.ticket_no for row in cluster.rows(query)]


def test_kill_9_while_a_complaint_is_confirmed_writes_nothing_then_it_is_filed_once(cluster):
    sender = new_sender()
    assert "什么时间" in cluster.say(0, sender, "我要投诉,抄表员态度很差,还对我大声嚷嚷")
    cluster.say(0, sender, "昨天下午 在幸福小区3幢")
    cluster.say(0, sender, "不知道")
    assert "确认" in cluster.say(0, sender, "13900001111")

    # The confirmation reaches the action server, whose database hangs mid-transaction;
    # then the action server and the Rasa server handling it are killed.
    cluster.db_link.set_mode(LinkMode.STALL)

    def confirm_unanswered() -> None:
        # The server is killed while it handles this message: no answer is expected.
        with contextlib.suppress(OSError, http.client.HTTPException):
            cluster.post(0, sender, "确认")

    confirming = threading.Thread(target=confirm_unanswered, daemon=True)
    confirming.start()
    time.sleep(1.5)
    cluster.kill("actions")
    cluster.kill("rasa0")
    cluster.db_link.set_mode(LinkMode.FORWARD, drop_connections=True)
    confirming.join(timeout=30)
    assert _complaints(cluster, sender) == []  # nothing half-written

    cluster.start_actions()
    # The other server carries on from the last saved turn, once the dead server's hold on
    # the conversation has lapsed: the user confirms again.
    filed = cluster.say(1, sender, "确认")
    [ticket] = _complaints(cluster, sender)
    assert ticket in filed
    cluster.say(1, sender, "确认")
    assert _complaints(cluster, sender) == [ticket]

    # After its restart the killed server knows the conversation and the complaint.
    cluster.start_rasa(0)
    assert ticket in cluster.say(0, sender, "我的投诉处理得怎么样了")
    assert _complaints(cluster, sender) == [ticket]
