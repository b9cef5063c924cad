"""Desk roles: the conversations, review inbox and analytics pages open only for analysts
and supervisors, the complaint pages only for agents and supervisors; a refused page
answers 403 and shows no data. The conversations page over HTTP: filters, pages, a
masked transcript. Roles granted from the command line; accounts that existed before
the roles keep every page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from bot.admin.app import create_app
from bot.admin.auth import DeskRole, create_user, grant_role
from bot.analytics.conversations import ConversationPage, find_conversations
from bot.analytics.service import EVENTS
from bot.complaints.catalog import get_catalog
from bot.complaints.filing import ComplaintDraft, file_complaint
from bot.infra.db import create_engine, session_scope
from bot.infra.migrate import upgrade
from bot.infra.settings import PROJECT_ROOT, Settings
from bot.models import ConversationSession, DashboardUser
from tests.unit.test_admin_web import csrf_of
from tests.unit.test_analytics import NOW, TODAY, Conversation

PASSWORD = "a long enough password"
PHONE = "13912345678"
OPERATIONS_PAGES = ("/conversations", "/conversations/1", "/review", "/analytics")
COMPLAINT_PAGES = ("/complaints", "/stats", "/complaints.csv")


@dataclass
class Desk:
    client: TestClient
    engine: Engine
    ticket: str


@pytest.fixture()
def desk(tmp_path, monkeypatch) -> Iterator[Desk]:
    monkeypatch.setenv("FROZEN_NOW", NOW.isoformat())
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    engine = create_engine(url)
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    tracker = create_engine(tracker_url)
    EVENTS.metadata.create_all(tracker)
    talks = [
        Conversation("tg:5550001", "telegram", TODAY + timedelta(hours=9))
        .user("request_leave", f"明天请假,发烧了,我电话{PHONE}")
        .action("leave_form")
        .loop("leave_form")
        .bot(1.0)
        .user("stop", "不请了")
        .action("action_deactivate_loop")
        .loop(None)
        .bot(1.0),
        Conversation("web:abc", "web", TODAY + timedelta(hours=10))
        .user("nlu_fallback", "嗯那个啥")
        .bot(0.5),
    ]
    with tracker.begin() as connection:
        connection.execute(insert(EVENTS), [r for talk in talks for r in talk.rows])
    tracker.dispose()
    with session_scope(engine) as session:
        for name, role in (
            ("agent", DeskRole.AGENT),
            ("analyst", DeskRole.ANALYST),
            ("boss", DeskRole.SUPERVISOR),
        ):
            create_user(session=session, username=name, password=PASSWORD, role=role)
        complaint = file_complaint(
            session=session,
            draft=ComplaintDraft("gas", "attitude", "抄表员态度很差"),
            sender_id="tg:1",
            channel="telegram",
            now=NOW,
            catalog=get_catalog(),
        )
        ticket = complaint.ticket_no
    settings = replace(
        Settings(), database_url=url, admin_secret_key="t", tracker_database_url=tracker_url
    )
    with TestClient(
        create_app(settings=settings, engine=engine), base_url="http://127.0.0.1"
    ) as client:
        yield Desk(client, engine, ticket)
    engine.dispose()


def sign_in(client: TestClient, username: str) -> None:
    client.cookies.clear()
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def _indexed(engine: Engine) -> int:
    with session_scope(engine) as session:
        return len(session.scalars(select(ConversationSession.id)).all())


def test_an_agent_gets_403_on_the_operators_pages_and_nothing_is_read(desk: Desk) -> None:
    sign_in(desk.client, "agent")
    for path in OPERATIONS_PAGES:
        page = desk.client.get(path)
        assert page.status_code == 403, path
        assert "无权访问" in page.text
        assert "telegram" not in page.text and "嗯那个啥" not in page.text
        assert 'href="/conversations"' not in page.text  # not offered in the menu either
    csrf = csrf_of(desk.client.get("/complaints").text)
    posted = desk.client.post("/review/1", data={"csrf_token": csrf, "version": "1"})
    assert posted.status_code == 403
    assert _indexed(desk.engine) == 0  # the tracker store was not even read
    assert desk.client.get(f"/complaints/{desk.ticket}").status_code == 200
    assert desk.client.get("/", follow_redirects=False).headers["location"] == "/complaints"


def test_an_analyst_gets_the_operators_pages_but_not_the_complaints(desk: Desk) -> None:
    sign_in(desk.client, "analyst")
    for path in (*COMPLAINT_PAGES, f"/complaints/{desk.ticket}"):
        page = desk.client.get(path)
        assert page.status_code == 403, path
        assert "抄表员态度很差" not in page.text and desk.ticket not in page.text
    assert desk.client.get("/", follow_redirects=False).headers["location"] == "/conversations"
    for path in ("/conversations", "/review", "/analytics"):
        assert desk.client.get(path).status_code == 200, path


def test_a_supervisor_opens_every_page_and_a_granted_role_counts_at_the_next_page(
    desk: Desk,
) -> None:
    sign_in(desk.client, "boss")
    for path in (*COMPLAINT_PAGES, "/conversations", "/review", "/analytics"):
        assert desk.client.get(path).status_code == 200, path
    with session_scope(desk.engine) as session:
        assert grant_role(session=session, username="boss", role=DeskRole.AGENT)
        assert not grant_role(session=session, username="nobody", role=DeskRole.AGENT)
    assert desk.client.get("/conversations").status_code == 403


def test_conversations_are_found_by_filters_and_read_masked(desk: Desk) -> None:
    sign_in(desk.client, "analyst")
    page = desk.client.get("/conversations").text
    assert "共 2 段会话" in page
    assert "5550001" not in page  # the sender id is masked too
    found = desk.client.get(
        "/conversations",
        params={"channel": "telegram", "flow": "leave_form", "outcome": "abandoned",
                "from": TODAY.date().isoformat(), "to": TODAY.date().isoformat()},
    ).text  # fmt: skip
    assert "共 1 段会话" in found and "中途放弃" in found
    assert "共 0 段会话" in desk.client.get("/conversations?outcome=completed").text
    link = re.findall(r'href="/conversations/(\d+)"', found)[0]
    transcript = desk.client.get(f"/conversations/{link}").text
    assert "明天请假" in transcript and "不请了" in transcript
    assert PHONE not in transcript and "发烧" not in transcript
    for bad in ("channel=sms", "flow=nope", "outcome=x", "from=2026-13-01", "page=0"):
        assert desk.client.get(f"/conversations?{bad}").status_code == 400, bad
    assert desk.client.get("/conversations/999").status_code == 404
    assert desk.client.get("/conversations/abc").status_code == 404


def test_pages_of_conversations_go_newest_first(desk: Desk, monkeypatch) -> None:
    def one_per_page(**given: Any) -> ConversationPage:
        return find_conversations(**{**given, "per_page": 1})

    monkeypatch.setattr("bot.admin.app.find_conversations", one_per_page)
    sign_in(desk.client, "boss")
    first = desk.client.get("/conversations").text
    assert "第 1/2 页" in first and ">web<" in first.split('id="conversations"')[1]
    second = desk.client.get("/conversations?outcome=&page=2").text
    assert "第 2/2 页" in second and ">telegram<" in second and 'id="previous"' in second


def test_the_role_is_granted_from_the_command_line(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(PROJECT_ROOT)}

    def admin(*args: str, given: str = "") -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "bot", "admin", *args]
        return subprocess.run(command, input=given, capture_output=True, text=True, env=env)

    made = admin("create-user", "li", "--password-stdin", given=PASSWORD + "\n")
    assert made.returncode == 0 and "role agent" in made.stdout, made.stderr
    granted = admin("grant", "li", "analyst")
    assert granted.returncode == 0 and "analyst" in granted.stdout, granted.stderr
    assert admin("grant", "nobody", "analyst").returncode == 1
    assert admin("grant", "li", "root").returncode == 2  # not a role
    engine = create_engine(url)
    with session_scope(engine) as session:
        role = session.scalars(select(DashboardUser.role).where(DashboardUser.username == "li"))
        assert role.one() == "analyst"
    engine.dispose()


def test_accounts_made_before_the_roles_keep_every_page(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0015")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO dashboard_user (username, display_name, password_hash, is_active,"
                " created_at) VALUES ('old', 'old', 'x', 1, '2026-01-01 00:00:00')"
            )
        )
    upgrade(url)
    with session_scope(engine) as session:
        assert session.scalars(select(DashboardUser.role)).one() == "supervisor"
        create_user(session=session, username="new", password=PASSWORD)
        roles = dict(session.execute(select(DashboardUser.username, DashboardUser.role)).all())
    assert roles == {"old": "supervisor", "new": "agent"}
    engine.dispose()
