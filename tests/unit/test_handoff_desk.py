"""The desk's handoff inbox over HTTP (Starlette's TestClient), on a copy of the demo
database: the department's queue oldest first, claiming, a reply with markup shown as
text, a clause quoted with its citation, a canned reply, the audit trail, handing back."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from starlette.testclient import TestClient

from bot.admin.app import create_app
from bot.admin.auth import create_user
from bot.handoff import service
from bot.infra.db import create_engine, session_scope
from bot.infra.settings import Settings
from bot.notify import Delivery, DeliveryStatus

NOW = datetime(2026, 11, 25, 7, 45, tzinfo=timezone.utc)  # Wednesday 15:45 in Shanghai
PASSWORD = "a long enough password"
XSS = "<script>alert('xss')</script>"


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, sender_id: str, text: str) -> Delivery:
        self.sent.append((sender_id, text))
        return Delivery(DeliveryStatus.SENT)


@pytest.fixture()
def desk(
    demo_database_file, tmp_path, monkeypatch
) -> Iterator[tuple[TestClient, object, Outbox, list[str]]]:
    path = tmp_path / "service.db"
    shutil.copyfile(demo_database_file, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("FROZEN_NOW", NOW.isoformat())
    engine = create_engine(url)
    with session_scope(engine) as session:
        create_user(
            session=session,
            username="li",
            password=PASSWORD,
            display_name="李客服",
            department="service",
        )
        create_user(
            session=session, username="zhao", password=PASSWORD, display_name="赵", department="gas"
        )
    settings = replace(
        Settings(),
        database_url=url,
        admin_secret_key="test-secret",
        tracker_database_url=f"sqlite:///{tmp_path / 'no-tracker.db'}",
    )
    outbox, resumed = Outbox(), []

    def resume(sender_id: str) -> bool:
        resumed.append(sender_id)
        return True

    app = create_app(settings=settings, engine=engine, notify=outbox, resume=resume)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client, engine, outbox, resumed
    engine.dispose()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: TestClient, username: str = "li") -> None:
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def queue(engine, sender: str, text: str, question: str, minutes: int = 0) -> int:
    ticket = service.request_handoff(
        sender_id=sender,
        text=text,
        question=question,
        flow_department=None,
        reason="asked",
        now=NOW + timedelta(minutes=minutes),
        engine=engine,
    )
    found = service.find_by_reference(reference=ticket.reference, engine=engine)
    assert found is not None
    return found


def test_an_agent_sees_their_departments_queue_oldest_first(desk):
    client, engine, _, _ = desk
    older = queue(engine, "tg:1", "转人工", "投诉处理要多久", minutes=0)
    newer = queue(engine, "web:x", "转人工", "我要表扬", minutes=3)
    queue(engine, "tg:2", "燃气 转人工", "燃气费", minutes=1)  # the gas desk's
    sign_in(client)
    page = client.get("/handoff").text
    assert 'http-equiv="refresh"' in page
    waiting = page.split('id="waiting"')[1].split("</section>")[0]
    assert waiting.index(f"/handoff/{older}") < waiting.index(f"/handoff/{newer}")
    assert "燃气费" not in waiting


def test_claim_reply_quote_and_hand_back(desk):
    client, engine, outbox, resumed = desk
    conversation = queue(engine, "tg:1", "转人工", "蓄水池多久消毒一次")
    sign_in(client)
    page = client.get(f"/handoff/{conversation}").text
    token = csrf_of(page)
    client.post(f"/handoff/{conversation}/claim", data={"csrf_token": token})
    assert outbox.sent[-1][0] == "tg:1" and "李客服" in outbox.sent[-1][1]

    page = client.get(f"/handoff/{conversation}").text
    # The clause that answers the customer's question, ready to quote with its citation.
    cite = re.search(r'href="(/handoff/\d+\?cite=[^"]+)" class="cite"', page)
    assert cite, "no suggested clause"
    quoted = client.get(cite.group(1).replace("&amp;", "&")).text
    assert "根据《饮用水消毒制度》" in quoted
    canned = client.get(f"/handoff/{conversation}?canned=0").text
    assert "您好，请问有什么可以帮您？" in canned.split('id="reply-text"')[1]

    client.post(f"/handoff/{conversation}/reply", data={"csrf_token": token, "text": XSS})
    assert outbox.sent[-1] == ("tg:1", "【李客服】" + XSS)
    page = client.get(f"/handoff/{conversation}").text
    assert XSS not in page and "&lt;script&gt;" in page  # shown as text

    client.post(f"/handoff/{conversation}/close", data={"csrf_token": token})
    assert resumed == ["tg:1"]
    assert "转回智能助手" in outbox.sent[-1][1]
    detail = service.handoff_detail(conversation_id=conversation, now=NOW, engine=engine)
    assert detail is not None and detail.summary.status == "closed"
    assert [e.kind for e in detail.entries] == ["note", "note", "system", "agent", "note", "system"]


def test_an_agent_who_does_not_hold_it_cannot_reply(desk):
    client, engine, outbox, _ = desk
    conversation = queue(engine, "tg:1", "转人工", "你好")
    sign_in(client, "zhao")
    token = csrf_of(client.get("/handoff").text)
    reply = client.post(
        f"/handoff/{conversation}/reply", data={"csrf_token": token, "text": "hello"}
    )
    assert reply.status_code == 200 and "您没有接入这个会话" in reply.text
    assert outbox.sent == []


def test_what_the_agent_may_see_depends_on_the_department(desk):
    client, engine, _, _ = desk
    conversation = queue(engine, "tg:1", "转人工", "你好")
    sign_in(client)
    page = client.get(f"/handoff/{conversation}").text
    assert "已验证燃气户号" not in page  # the service desk sees complaints, not gas accounts
