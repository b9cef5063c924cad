"""Attacks 4 to 7 (the desk's part): bookings of another team, guessable numbers, the
desk's transcript, sessions that outlive logout, readable cookies, 500 on bad queries."""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select, text
from starlette.testclient import TestClient

from actions.visits import (
    ActionCancelBooking,
    ActionCheckBooking,
    ActionNurseVisits,
    ActionSubmitReschedule,
    ValidateRescheduleForm,
)
from bot.admin.app import create_app
from bot.admin.auth import create_user
from bot.cli import main as cli_main
from bot.complaints.catalog import get_catalog
from bot.complaints.filing import ComplaintDraft, file_complaint
from bot.infra.db import create_engine, session_scope
from bot.infra.settings import Settings
from bot.models import (
    BookingState,
    Community,
    DashboardSession,
    HalfDay,
    HomeVisitBooking,
    Nurse,
    Patient,
    StaffRole,
)
from bot.notify import Delivery, DeliveryStatus
from bot.staff import create_invite, redeem_invite
from bot.visits.booking import _new_booking_no
from tests.formdriver import FormDriver
from tests.security.conftest import FROZEN_NOW

NOW = datetime.fromisoformat(FROZEN_NOW)
TOMORROW = date(2026, 11, 26)
BOOKER, OWN_NURSE, OTHER_NURSE = "tg:1001", "tg:nurse-kangning", "tg:nurse-heyuan"


# --- attack 4: another team's booking ---------------------------------------------------


@dataclass
class Bookings:
    booking_no: str


@pytest.fixture()
def bookings(demo) -> Bookings:
    with session_scope(demo.engine) as session:
        kangning = session.scalars(select(Community).where(Community.code == "kangning")).one()
        other = session.scalars(select(Community).where(Community.code != "kangning")).first()
        assert other is not None
        for sender, team_id in ((OWN_NURSE, kangning.team_id), (OTHER_NURSE, other.team_id)):
            nurse = session.scalars(select(Nurse).where(Nurse.team_id == team_id)).first()
            assert nurse is not None
            invite, code = create_invite(session=session, name=sender, role=StaffRole.NURSE)
            nurse.invite_id = invite.id
            session.flush()
            redeem_invite(session=session, sender_id=sender, code=code)
        own = session.scalars(select(Nurse).where(Nurse.team_id == kangning.team_id)).first()
        patient = Patient(
            name="王秀英", phone="13700001234", address="康宁路1号", community_id=kangning.id
        )
        session.add(patient)
        session.flush()
        booking = HomeVisitBooking(
            booking_no="placeholder",
            patient_id=patient.id,
            sender_id=BOOKER,
            community_id=kangning.id,
            nurse_id=own.id if own else None,
            visit_date=TOMORROW,
            half_day=HalfDay.MORNING,
            condition="bedridden",
            has_doctor_order=True,
            drug_text="生理盐水",
            drug_source="centre",
            outcome="eligible",
            state=BookingState.AWAITING_CONSENT,
        )
        session.add(booking)
        _new_booking_no(session, booking, NOW)
        return Bookings(booking.booking_no)


def run(action: Any, sender: str, message: str) -> str:
    tracker = Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": {},
            "latest_message": {"text": message, "intent": {"name": "", "confidence": 1.0}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )
    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker, {})
    return json.dumps(dispatcher.messages, ensure_ascii=False)


def state_of(demo, booking_no: str) -> tuple[BookingState, HalfDay | None]:
    with session_scope(demo.engine) as session:
        booking = session.scalars(
            select(HomeVisitBooking).where(HomeVisitBooking.booking_no == booking_no)
        ).one()
        return booking.state, booking.half_day


def test_a_nurse_of_another_team_can_neither_see_nor_change_a_booking(demo, bookings):
    number = bookings.booking_no
    for action, message in (
        (ActionCheckBooking(), f"查询预约 {number}"),
        (ActionCancelBooking(), f"取消预约 {number}"),
    ):
        answer = run(action, OTHER_NURSE, message)
        assert "utter_visit_booking_not_found" in answer and "王秀英" not in answer
    # Moving a booking is for its booker only, staff included.
    form = FormDriver(
        "reschedule_form", ValidateRescheduleForm(), ActionSubmitReschedule(), OTHER_NURSE
    )
    said = form.say(f"把{number}改到后天下午", intent="reschedule_booking")
    assert said == ["utter_visit_reschedule_none"] and form.finished
    assert "王秀英" not in run(ActionNurseVisits(), OTHER_NURSE, "明天的出诊")
    assert state_of(demo, number) == (BookingState.AWAITING_CONSENT, HalfDay.MORNING)
    # The patient's own team and the booker do.
    assert "王秀英" in run(ActionCheckBooking(), OWN_NURSE, f"查询预约 {number}")
    assert "王秀英" in run(ActionCheckBooking(), BOOKER, f"查询预约 {number}")


def test_booking_and_ticket_numbers_do_not_follow_each_other(demo, bookings):
    numbers = []
    with session_scope(demo.engine) as session:
        template = session.scalars(select(HomeVisitBooking)).one()
        for n in range(20):
            booking = HomeVisitBooking(
                booking_no=f"placeholder-{n}",
                patient_id=template.patient_id,
                sender_id=BOOKER,
                community_id=template.community_id,
                condition="bedridden",
                has_doctor_order=True,
                drug_text="生理盐水",
                drug_source="centre",
                outcome="eligible",
                state=BookingState.REQUESTED,
            )
            session.add(booking)
            _new_booking_no(session, booking, NOW)
            numbers.append(booking.booking_no)
        tickets = [
            file_complaint(
                session=session,
                draft=ComplaintDraft("gas", "attitude", f"第{n}次投诉:抄表员态度差"),
                sender_id=f"web:c{n}",
                channel="webchat",
                now=NOW,
                catalog=get_catalog(),
            ).ticket_no
            for n in range(20)
        ]
    for series, prefix in ((numbers, "SY20261125-"), (tickets, "TS20261125-")):
        assert all(re.fullmatch(rf"{prefix}\d{{5}}", number) for number in series)
        suffixes = [int(number[-5:]) for number in series]
        steps = {b - a for a, b in itertools.pairwise(suffixes)}
        assert len(set(series)) == len(series)
        assert steps != {1}, "consecutive numbers: the next one can be guessed"
        assert sum(1 for step in steps if abs(step) <= 2) < 3


# --- attacks 5, 6, 7: the review desk ---------------------------------------------------

PASSWORD = "correct horse battery"


@dataclass
class Desk:
    app: Any
    engine: Any
    ticket: str


def tracker_events(path: Path, sender: str, ticket: str) -> None:
    """The complainant's conversations: an earlier one about their bill, the complaint,
    and a later one about another account."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT,"
                " timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)"
            )
        )
        said = [
            ("session_started", ""),
            ("user", "查燃气费,户号31001004,地址康宁路1号"),
            ("bot", "您的燃气费余额 12.30 元"),
            ("session_started", ""),
            ("user", "我要投诉抄表员"),
            ("bot", "请留下联系方式"),
            ("user", "电话13900001111"),
            ("bot", f"已受理，受理编号 {ticket}"),
            ("user", "再查一下户号31001007的账单"),
            ("bot", "户号 31001007 欠费 88 元"),
        ]
        for number, (kind, words) in enumerate(said, start=1):
            connection.execute(
                text("INSERT INTO events VALUES (:id, :sender, :kind, :ts, '', '', :data)"),
                {
                    "id": number,
                    "sender": sender,
                    "kind": kind,
                    "ts": 1_764_000_000.0 + number,
                    "data": json.dumps({"text": words}, ensure_ascii=False),
                },
            )
    engine.dispose()


@pytest.fixture()
def desk(demo, tmp_path) -> Iterator[Desk]:
    with session_scope(demo.engine) as session:
        create_user(session=session, username="wang", password=PASSWORD)
        ticket = file_complaint(
            session=session,
            draft=ComplaintDraft("gas", "attitude", "抄表员态度很差", contact="13900001111"),
            sender_id="tg:1001",
            channel="telegram",
            now=NOW,
            catalog=get_catalog(),
        ).ticket_no
    tracker_events(tmp_path / "tracker.db", "tg:1001", ticket)
    settings = replace(
        Settings(),
        database_url=demo.url,
        admin_secret_key="security-test-desk-key",
        tracker_database_url=f"sqlite:///{tmp_path / 'tracker.db'}",
    )
    app = create_app(
        settings=settings, engine=demo.engine, notify=lambda *_: Delivery(DeliveryStatus.SENT)
    )
    yield Desk(app, demo.engine, ticket)


def sign_in(client: TestClient) -> str:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    reply = client.post(
        "/login",
        data={"username": "wang", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert reply.status_code == 303
    cookie = client.cookies.get("review_desk")
    assert cookie
    return cookie


def csrf(client: TestClient) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/complaints").text)
    assert token
    return token.group(1)


def test_the_desk_shows_only_the_complaints_own_session_masked(desk):
    with TestClient(desk.app, base_url="http://127.0.0.1") as client:
        sign_in(client)
        page = client.get(f"/complaints/{desk.ticket}").text
    for elsewhere in ("31001004", "康宁路1号", "12.30", "31001007", "88 元"):
        assert elsewhere not in page, elsewhere
    # The contact given for the complaint is shown as such; the conversation is masked.
    transcript = re.search(r'<ol class="chat" id="transcript">(.*?)</ol>', page, re.S)
    assert transcript is not None
    said = transcript.group(1)
    assert "我要投诉抄表员" in said and desk.ticket in said
    assert "13900001111" not in said and "139****1111" in said


def test_a_cookie_kept_after_logout_opens_nothing(desk):
    with TestClient(desk.app, base_url="http://127.0.0.1") as client:
        old = sign_in(client)
        client.post("/logout", data={"csrf_token": csrf(client)})
    with TestClient(desk.app, base_url="http://127.0.0.1") as replay:
        replay.cookies.set("review_desk", old)
        assert replay.get("/complaints", follow_redirects=False).status_code == 303
    with session_scope(desk.engine) as session:
        assert not session.scalars(
            select(DashboardSession).where(DashboardSession.username == "wang")
        ).all()


def test_disable_user_ends_the_session_at_once(desk):
    with TestClient(desk.app, base_url="http://127.0.0.1") as client:
        sign_in(client)
        assert client.get("/complaints", follow_redirects=False).status_code == 200
        assert cli_main(["admin", "disable-user", "wang"]) == 0
        assert client.get("/complaints", follow_redirects=False).status_code == 303
    with session_scope(desk.engine) as session:
        assert not session.scalars(
            select(DashboardSession).where(DashboardSession.username == "wang")
        ).all()


def test_the_cookie_is_opaque_and_secure_away_from_localhost(desk):
    with TestClient(desk.app, base_url="https://desk.example.org") as client:
        cookie = sign_in(client)
        header = client.get("/login", follow_redirects=False)
        assert header.status_code in {200, 303}
    padded = cookie + "=" * (-len(cookie) % 4)
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            decoded = decode(padded.split(".")[0])
        except (binascii.Error, ValueError):
            continue
        assert b"wang" not in decoded and b"csrf" not in decoded
    with TestClient(desk.app, base_url="https://desk.example.org") as client:
        page = client.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
    with TestClient(desk.app, base_url="http://127.0.0.1") as client:
        page = client.get("/login")
        assert "secure" not in page.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    "query",
    ["age=²", "age=٣", "age=99999999999999999999999999", "age=-1", "status=bogus", "overdue=x"],
)
def test_bad_query_values_get_400_not_500(desk, query):
    with TestClient(desk.app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        sign_in(c)
        assert c.get(f"/complaints?{query}").status_code == 400
        assert c.get(f"/complaints.csv?{query}").status_code == 400
