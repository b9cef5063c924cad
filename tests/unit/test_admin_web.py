"""The review desk over HTTP (Starlette's TestClient): sign-in, CSRF, throttling, escaping,
the review actions with optimistic locking, statistics and the CSV export."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.admin.app import create_app
from bot.admin.auth import DeskRole, create_user
from bot.complaints.catalog import get_catalog
from bot.complaints.filing import ComplaintDraft, file_complaint
from bot.infra.db import create_engine, session_scope
from bot.infra.migrate import upgrade
from bot.infra.settings import Settings
from bot.models import Complaint, ComplaintNotification, ComplaintState
from bot.notify import Delivery, DeliveryStatus

NOW = datetime(2026, 11, 25, 7, 45, tzinfo=timezone.utc)
PASSWORD = "a long enough password"
XSS = "<script>alert('xss')</script>'; DROP TABLE complaint; --"


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, sender_id: str, text: str) -> Delivery:
        self.sent.append((sender_id, text))
        return Delivery(DeliveryStatus.SENT)


@pytest.fixture()
def desk(tmp_path) -> Iterator[tuple[TestClient, object, Outbox]]:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    engine = create_engine(url)
    with session_scope(engine) as session:
        create_user(session=session, username="wang", password=PASSWORD, display_name="王主管")
        for sender, draft in (
            ("tg:1001", ComplaintDraft("gas", "attitude", XSS, occurred="<b>营业厅</b>")),
            ("web:b", ComplaintDraft("school", "safety", "孩子自己跑出了校门,没人看着")),
        ):
            file_complaint(
                session=session,
                draft=draft,
                sender_id=sender,
                channel="telegram",
                now=NOW,
                catalog=get_catalog(),
            )
    settings = replace(
        Settings(),
        database_url=url,
        admin_secret_key="test-secret",
        tracker_database_url=f"sqlite:///{tmp_path / 'no-tracker.db'}",
    )
    outbox = Outbox()
    app = create_app(settings=settings, engine=engine, notify=outbox)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client, engine, outbox
    engine.dispose()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: TestClient, password: str = PASSWORD, username: str = "wang"):
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def ticket_of(engine, category: str) -> str:
    with session_scope(engine) as session:
        return str(
            session.scalar(select(Complaint.ticket_no).where(Complaint.category == category))
        )


def test_every_page_needs_a_sign_in(desk):
    client, engine, _ = desk
    for path in (
        "/",
        "/complaints",
        "/stats",
        "/complaints.csv",
        f"/complaints/{ticket_of(engine, 'safety')}",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
    response = client.post(
        f"/complaints/{ticket_of(engine, 'safety')}/close", follow_redirects=False
    )
    assert response.status_code == 303


def test_sign_in_sets_an_httponly_samesite_cookie(desk):
    client, _, _ = desk
    response = sign_in(client)
    assert response.status_code == 200 and "投诉列表" in response.text
    cookie = response.history[0].headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'none'" in response.headers["content-security-policy"]


def test_a_wrong_password_is_refused_and_ten_lock_the_account(desk):
    client, _, _ = desk
    response = sign_in(client, password="wrong password")
    assert response.status_code == 401 and "用户名或密码不正确" in response.text
    assert sign_in(client, username="nobody").status_code == 401
    for _ in range(9):
        sign_in(client, password="wrong password")
    locked = sign_in(client)  # the right password, too late
    assert locked.status_code == 429 and "锁定" in locked.text
    assert client.get("/complaints", follow_redirects=False).status_code == 303


def test_a_forged_or_missing_csrf_token_is_rejected(desk):
    client, engine, _ = desk
    login = client.post(
        "/login", data={"username": "wang", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert login.status_code == 403
    sign_in(client)
    ticket = ticket_of(engine, "safety")
    for data in (
        {"version": "2", "assignee": "李"},
        {"version": "2", "assignee": "李", "csrf_token": "x" * 43},
    ):
        response = client.post(f"/complaints/{ticket}/assign", data=data)
        assert response.status_code == 403
    with session_scope(engine) as session:
        complaint = session.scalars(select(Complaint).where(Complaint.ticket_no == ticket)).one()
        assert complaint.assignee == "" and len(complaint.events) == 1


def test_script_and_sql_in_a_complaint_are_shown_as_text(desk):
    client, engine, _ = desk
    sign_in(client)
    listing = client.get("/complaints?status=")
    assert "<script>alert" not in listing.text
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in listing.text
    detail = client.get(f"/complaints/{ticket_of(engine, 'attitude')}")
    assert "<script>" not in detail.text and "<b>营业厅</b>" not in detail.text
    assert "&lt;b&gt;营业厅&lt;/b&gt;" in detail.text
    assert "对话记录暂时无法读取" in detail.text
    with session_scope(engine) as session:
        assert len(session.scalars(select(Complaint)).all()) == 2


def test_filters_narrow_the_list(desk):
    client, engine, _ = desk
    sign_in(client)
    school = client.get("/complaints?status=open&department=school")
    assert ticket_of(engine, "safety") in school.text
    assert ticket_of(engine, "attitude") not in school.text
    category = client.get("/complaints?status=&category=attitude")
    assert ticket_of(engine, "attitude") in category.text
    assert ticket_of(engine, "safety") not in category.text
    # Values the page never offers are refused, never passed on to the database.
    assert client.get("/complaints?status=x'--&department=<x>&age=abc").status_code == 400


def post_action(client, ticket: str, action: str, **fields: str):
    page = client.get(f"/complaints/{ticket}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    data = {"csrf_token": csrf_of(page), "version": version.group(1), **fields}
    return client.post(f"/complaints/{ticket}/{action}", data=data)


def test_review_a_complaint_to_its_close_and_the_complainant_is_told(desk):
    client, engine, outbox = desk
    sign_in(client)
    ticket = ticket_of(engine, "attitude")
    assert "已分派" in post_action(client, ticket, "assign", assignee="王主管").text
    no_staff = post_action(client, ticket, "finding", finding="substantiated")
    assert "须填写责任人" in no_staff.text
    post_action(client, ticket, "finding", finding="substantiated", responsible_staff="营业员 李四")
    post_action(client, ticket, "resolve", resolution="已批评教育,当面致歉")
    closed = post_action(client, ticket, "close")
    assert "处理结果已发送给投诉人" in closed.text
    assert outbox.sent and outbox.sent[0][0] == "tg:1001"
    assert "当面致歉" in outbox.sent[0][1]
    with session_scope(engine) as session:
        complaint = session.scalars(select(Complaint).where(Complaint.ticket_no == ticket)).one()
        assert complaint.state is ComplaintState.CLOSED
        assert [e.actor for e in complaint.events][1:5] == ["admin:wang"] * 4
        assert session.scalar(select(ComplaintNotification.status)) == "sent"
    assert "王主管" in closed.text and "营业员 李四" in closed.text


def test_a_stale_form_is_refused_with_the_complaint_changed(desk):
    client, engine, _ = desk
    sign_in(client)
    ticket = ticket_of(engine, "safety")
    page = client.get(f"/complaints/{ticket}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    stale = {"csrf_token": csrf_of(page), "version": version.group(1)}
    post_action(client, ticket, "assign", assignee="王主管")
    response = client.post(f"/complaints/{ticket}/assign", data={**stale, "assignee": "李主管"})
    assert "刚刚被其他人修改过" in response.text
    with session_scope(engine) as session:
        assert (
            session.scalar(select(Complaint.assignee).where(Complaint.ticket_no == ticket))
            == "王主管"
        )


def test_statistics_and_csv_export(desk):
    client, engine, _ = desk
    sign_in(client)
    stats = client.get("/stats")
    assert stats.status_code == 200 and "<svg" in stats.text and "按类别" in stats.text
    export = client.get("/complaints.csv?status=")
    assert export.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in export.headers["content-disposition"]
    assert export.content.startswith(b"\xef\xbb\xbf")
    body = export.content.decode("utf-8-sig")
    assert body.splitlines()[0].startswith("受理编号,受理时间,部门,类别")
    assert ticket_of(engine, "attitude") in body and XSS in body


def test_sign_out_ends_the_session(desk):
    client, _, _ = desk
    page = sign_in(client).text
    client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert client.get("/complaints", follow_redirects=False).status_code == 303


def test_create_user_from_the_command_line(tmp_path):
    import os
    import subprocess
    import sys

    from bot.infra.settings import PROJECT_ROOT

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "bot", "admin", "create-user", "li", "--password-stdin"]
    short = subprocess.run(command, input="short\n", capture_output=True, text=True, env=env)
    assert short.returncode == 1 and "at least" in short.stderr
    made = subprocess.run(command, input=PASSWORD + "\n", capture_output=True, text=True, env=env)
    assert made.returncode == 0, made.stderr
    engine = create_engine(url)
    with session_scope(engine) as session:
        from bot.admin.auth import LoginOutcome, authenticate

        result = authenticate(
            session=session, username="li", password=PASSWORD, client="cli", now=NOW
        )
        assert result.outcome is LoginOutcome.OK
    engine.dispose()


def test_a_supervisor_labels_an_unplaced_message_and_a_stale_label_is_refused(
    tmp_path, monkeypatch
):
    from bot.analytics.service import EVENTS
    from tests.unit.test_analytics import NOW as ANALYTICS_NOW
    from tests.unit.test_analytics import TODAY, Conversation

    monkeypatch.setenv("FROZEN_NOW", ANALYTICS_NOW.isoformat())

    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    engine = create_engine(url)
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    tracker = create_engine(tracker_url)
    EVENTS.metadata.create_all(tracker)
    talk = Conversation("tg:9", "telegram", TODAY).user(
        "nlu_fallback", "我手机13912345678<b>停气</b>"
    )
    with tracker.begin() as connection:
        connection.execute(EVENTS.insert(), talk.rows)
    with session_scope(engine) as session:
        create_user(session=session, username="wang", password=PASSWORD, role=DeskRole.SUPERVISOR)
    settings = replace(
        Settings(), database_url=url, admin_secret_key="t", tracker_database_url=tracker_url
    )
    with TestClient(
        create_app(settings=settings, engine=engine), base_url="http://127.0.0.1"
    ) as client:
        sign_in(client)
        page = client.get("/review").text
        assert "13912345678" not in page and "<b>停气" not in page
        assert "&lt;b&gt;停气" in page
        item = re.findall(r'action="/review/(\d+)"', page)[0]
        version = re.findall(r'name="version" value="(\d+)"', page)[0]
        form = {"csrf_token": csrf_of(page), "version": version, "kind": "intent"}
        refused = client.post(f"/review/{item}", data={**form, "intent": "no_such"})
        assert "已有的意图" in refused.text
        client.post(f"/review/{item}", data={**form, "intent": "report_meter_fault"})
        stale = client.post(f"/review/{item}", data={**form, "kind": "out_of_scope"})
        assert "被其他人标注过" in stale.text
        assert "report_meter_fault" in stale.text  # the first label stands
        analytics = client.get("/analytics?days=3").text
        assert 'id="conversations">1<' in analytics
        assert client.get("/analytics?days=abc").status_code == 400
    engine.dispose()
    tracker.dispose()
