"""Nobody reads another person's data: for each domain, the actions (run as the action
server runs them, with slots a client could have set) and the data functions behind them
answer a different sender, an unverified sender and a role without rights as if the data
did not exist; the review desk answers nothing without a valid, current sign-in."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from actions.complaints import ActionComplaintStatus, ActionListOpenComplaints
from actions.gas import ActionGasAnswer
from actions.policies import ActionAnswerPolicy, ActionListPolicies
from actions.school import (
    ActionCancelLeave,
    ActionCareTimes,
    ActionListLeaves,
    ActionSubmitLeave,
    ActionTeacherLeaves,
)
from actions.visits import ActionCancelBooking, ActionCheckBooking, ActionNurseVisits
from bot.admin.app import create_app
from bot.admin.auth import create_user, deactivate_user
from bot.complaints.catalog import get_catalog
from bot.complaints.filing import ComplaintDraft, complaint_for_sender, file_complaint
from bot.gas.accounts import BindOutcome, bind_account, bound_account
from bot.gas.faults import report_fault, reports_of
from bot.infra import db, settings
from bot.models import (
    BookingState,
    Community,
    GasAccount,
    HalfDay,
    HomeVisitBooking,
    LeaveRequest,
    LeaveState,
    MeterFaultKind,
    Nurse,
    Patient,
    StaffRole,
    Student,
    Teacher,
)
from bot.notify import Delivery, DeliveryStatus
from bot.ops.seed import seed_demo, seed_policies
from bot.policies.answer import audiences_for
from bot.school.binding import bind_guardian, children_of
from bot.staff import create_invite, redeem_invite
from bot.visits.booking import may_see

# Wednesday 2026-11-25, 15:45 in Shanghai (the clock the actions read).
FROZEN_NOW = "2026-11-25T15:45:00+08:00"
NOW = datetime.fromisoformat(FROZEN_NOW)
TOMORROW = date(2026, 11, 26)

ALICE, BOB, STRANGER = "tg:1001", "web:bob", "web:stranger"  # stranger: never verified
SUPERVISOR, TEACHER, NURSE, CLERK = "tg:2001", "tg:2002", "tg:2003", "tg:2004"


@dataclass
class World:
    engine: Engine
    account_a: GasAccount  # bound to Alice
    account_b: GasAccount  # bound to Bob
    fault_ticket: str  # Alice's
    alice_child: Student  # 三年级(1)班, head teacher 李雪梅
    bob_child: Student  # 三年级(2)班
    complaint_ticket: str  # Alice's
    booking_no: str  # Alice's home infusion, nurse 陈静(演示) tomorrow morning


def _staff(session, sender: str, name: str, role: StaffRole, **invite: Any) -> Any:
    created, code = create_invite(session=session, name=name, role=role, now=NOW, **invite)
    assert (
        redeem_invite(session=session, sender_id=sender, code=code, now=NOW).outcome.value
        == "bound"
    )
    return created


@pytest.fixture()
def world(engine, database_url, monkeypatch) -> Iterator[World]:
    """The demo data, two customers each verified for their own records, and staff of
    every role; the actions read this database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("FROZEN_NOW", FROZEN_NOW)
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    with db.session_scope(engine) as session:
        seed_policies(session=session)
        seed_demo(session=session)
        account_a, account_b = session.scalars(
            select(GasAccount)
            .where(GasAccount.account_no.in_(["31001001", "31001002"]))
            .order_by(GasAccount.account_no)
        ).all()
        for sender, account in ((ALICE, account_a), (BOB, account_b)):
            result = bind_account(
                session=session,
                sender_id=sender,
                account_no=account.account_no,
                phone_last4=account.phone[-4:],
                now=NOW,
            )
            assert result.outcome is BindOutcome.BOUND
        fault = report_fault(
            session=session,
            account=account_a,
            sender_id=ALICE,
            description="表走得快",
            kind=MeterFaultKind.FAST,
            now=NOW,
        )
        students = {s.student_no: s for s in session.scalars(select(Student))}
        alice_child, bob_child = students["2024010101"], students["2024010201"]
        assert (
            bind_guardian(
                session=session, sender_id=ALICE, student_no="2024010101", phone="1001", now=NOW
            ).outcome.value
            == "bound"
        )
        assert (
            bind_guardian(
                session=session, sender_id=BOB, student_no="2024010201", phone="1012", now=NOW
            ).outcome.value
            == "bound"
        )
        for student in (alice_child, bob_child):
            session.add(
                LeaveRequest(
                    student_id=student.id,
                    care_date=TOMORROW,
                    reason="发烧了",
                    requested_by=ALICE if student is alice_child else BOB,
                )
            )
        complaint = file_complaint(
            session=session,
            draft=ComplaintDraft("gas", "attitude", "抄表员态度很差", contact="13900001111"),
            sender_id=ALICE,
            channel="telegram",
            now=NOW,
            catalog=get_catalog(),
        )
        teacher = session.scalars(select(Teacher).where(Teacher.name == "李雪梅")).one()
        nurse = session.scalars(select(Nurse).where(Nurse.name == "陈静(演示)")).one()
        _staff(session, SUPERVISOR, "王主管", StaffRole.SUPERVISOR)
        _staff(session, TEACHER, "李雪梅", StaffRole.TEACHER, teacher_id=teacher.id)
        nurse.invite_id = _staff(session, NURSE, "陈静", StaffRole.NURSE).id
        _staff(session, CLERK, "张会计", StaffRole.STAFF)
        community = session.scalars(select(Community).where(Community.code == "kangning")).one()
        patient = Patient(
            name="王秀英",
            phone="13700001234",
            address="康宁路1号",
            community_id=community.id,
            created_by=ALICE,
        )
        session.add(patient)
        session.flush()
        booking = HomeVisitBooking(
            booking_no="SY20261125-00001",
            patient_id=patient.id,
            sender_id=ALICE,
            community_id=community.id,
            nurse_id=nurse.id,
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
        session.flush()
        built = World(
            engine,
            account_a,
            account_b,
            fault.ticket_no,
            alice_child,
            bob_child,
            complaint.ticket_no,
            booking.booking_no,
        )
    yield built
    db.get_engine.cache_clear()
    settings.get_settings.cache_clear()


def run(action: Action, sender: str, text: str = "", **slots: Any) -> list[dict[str, Any]]:
    """Run an action as the action server does; what it would send back."""
    tracker = Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": slots,
            "latest_message": {"text": text, "intent": {"name": "", "confidence": 1.0}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )
    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker, {})
    return dispatcher.messages


def said(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages, ensure_ascii=False)


def responses(messages: list[dict[str, Any]]) -> list[str | None]:
    return [m.get("response") for m in messages]


# --- gas statements ----------------------------------------------------------------


def test_nobody_else_reads_a_gas_statement_even_naming_the_account(world):
    for sender in (BOB, STRANGER, SUPERVISOR, CLERK):
        for request in ("check_gas_bill", "check_gas_usage"):
            messages = run(
                ActionGasAnswer(), sender, gas_request=request, gas_account=str(world.account_a.id)
            )
            assert responses(messages) == ["utter_gas_need_binding"]
        with db.session_scope(world.engine) as session:
            assert (
                bound_account(session=session, sender_id=sender, account_id=world.account_a.id)
                is None
            )


def test_the_holder_reads_their_statement(world):
    messages = run(
        ActionGasAnswer(), ALICE, gas_request="check_gas_bill", gas_account=str(world.account_a.id)
    )
    assert responses(messages)[0] == "utter_gas_statement"


def test_knowing_the_digits_does_not_take_over_a_bound_account(world):
    with db.session_scope(world.engine) as session:
        result = bind_account(
            session=session,
            sender_id=BOB,
            account_no="31001001",
            phone_last4=world.account_a.phone[-4:],
            now=NOW,
        )
        assert result.outcome is BindOutcome.BOUND_ELSEWHERE
        assert bound_account(session=session, sender_id=BOB, account_id=world.account_a.id) is None


def test_fault_reports_are_only_the_holders(world):
    for sender in (BOB, STRANGER, SUPERVISOR):
        with db.session_scope(world.engine) as session:
            assert reports_of(session=session, sender_id=sender, ticket_no=world.fault_ticket) == []
            assert [r.ticket_no for r in reports_of(session=session, sender_id=ALICE)] == [
                world.fault_ticket
            ]


# --- after-school leaves -----------------------------------------------------------------


def test_an_unverified_sender_or_staff_lists_no_leaves(world):
    for sender in (STRANGER, SUPERVISOR, TEACHER):
        assert responses(run(ActionListLeaves(), sender, "孩子请了哪几天假")) == [
            "utter_leave_need_binding"
        ]


def test_a_parent_lists_only_their_own_childs_leaves(world):
    text = said(run(ActionListLeaves(), ALICE, "孩子请了哪几天假"))
    assert world.alice_child.name in text and world.bob_child.name not in text


def test_a_parent_cannot_file_or_cancel_a_leave_for_another_child(world):
    # Bob names Alice's child in the slot a client could set.
    messages = run(
        ActionSubmitLeave(),
        BOB,
        leave_student=str(world.alice_child.id),
        leave_dates=["2026-11-27"],
        leave_confirmed=True,
        leave_reason="x",
    )
    assert world.alice_child.name not in said(messages)
    run(ActionCancelLeave(), BOB, "取消明天的请假")
    with db.session_scope(world.engine) as session:
        leaves = session.scalars(
            select(LeaveRequest).where(LeaveRequest.student_id == world.alice_child.id)
        ).all()
        assert [(leave.care_date, leave.state) for leave in leaves] == [
            (TOMORROW, LeaveState.REQUESTED)
        ]
        assert [c.id for c in children_of(session=session, sender_id=BOB)] == [world.bob_child.id]
        assert children_of(session=session, sender_id=None) == []


def test_only_a_linked_teacher_sees_class_leaves(world):
    for sender in (STRANGER, ALICE, SUPERVISOR, CLERK, NURSE):
        assert responses(run(ActionTeacherLeaves(), sender, "明天班上有谁请假")) == [
            "utter_teacher_only"
        ]


def test_a_teacher_sees_only_the_classes_they_head_or_mind(world):
    text = said(run(ActionTeacherLeaves(), TEACHER, "明天班上有谁请假"))
    assert world.alice_child.name in text  # 三年级(1)班, headed by 李雪梅
    assert world.bob_child.name not in text  # 三年级(2)班 is not hers


# --- home-visit bookings -----------------------------------------------------------------


def test_nobody_else_looks_up_or_cancels_a_booking(world):
    for sender in (BOB, STRANGER, TEACHER, CLERK):
        messages = run(ActionCheckBooking(), sender, f"查询预约 {world.booking_no}")
        assert responses(messages) == ["utter_visit_booking_not_found"]
        assert "王秀英" not in said(messages)
        assert responses(run(ActionCancelBooking(), sender, f"取消预约 {world.booking_no}")) == [
            "utter_visit_booking_not_found"
        ]
        with db.session_scope(world.engine) as session:
            booking = session.scalars(select(HomeVisitBooking)).one()
            assert booking.state is BookingState.AWAITING_CONSENT
            assert not may_see(session=session, booking=booking, sender_id=sender)
            assert not may_see(session=session, booking=booking, sender_id=None)


def test_the_booker_and_health_staff_see_the_booking(world):
    for sender in (ALICE, NURSE, SUPERVISOR):
        assert "王秀英" in said(run(ActionCheckBooking(), sender, f"查询预约 {world.booking_no}"))


def test_only_a_bound_nurse_sees_the_visit_list(world):
    for sender in (ALICE, STRANGER, SUPERVISOR, TEACHER, CLERK):
        assert responses(run(ActionNurseVisits(), sender, "明天的出诊")) == ["utter_nurse_only"]
        assert "13700001234" in said(run(ActionNurseVisits(), NURSE, "明天的出诊"))


# --- complaints ---------------------------------------------------------------------------


def test_a_complaint_is_not_shown_to_others_or_to_staff_without_the_role(world):
    for sender in (BOB, STRANGER, TEACHER, NURSE, CLERK):
        messages = run(ActionComplaintStatus(), sender, f"投诉进度 {world.complaint_ticket}")
        assert responses(messages) == ["utter_complaint_status_unknown"]
        with db.session_scope(world.engine) as session:
            assert (
                complaint_for_sender(
                    session=session, ticket_no=world.complaint_ticket, sender_id=sender
                )
                is None
            )
        # Without a number: only the sender's own complaints (none).
        assert responses(run(ActionComplaintStatus(), sender, "我的投诉怎么样了")) == [
            "utter_complaint_status_none"
        ]
        assert responses(run(ActionListOpenComplaints(), sender, "有哪些待处理的投诉")) == [
            "utter_supervisor_only"
        ]


def test_the_complainant_and_a_supervisor_see_the_complaint(world):
    assert responses(run(ActionComplaintStatus(), ALICE, f"进度 {world.complaint_ticket}")) == [
        "utter_complaint_status"
    ]
    detail = run(ActionComplaintStatus(), SUPERVISOR, f"进度 {world.complaint_ticket}")
    assert responses(detail) == ["utter_complaint_detail_for_supervisor"]


# --- staff-only regulations --------------------------------------------------------------


def test_customers_are_never_answered_from_staff_only_regulations(world):
    for sender in (ALICE, STRANGER):
        with db.session_scope(world.engine) as session:
            assert [a.value for a in audiences_for(session=session, sender_id=sender)] == ["public"]
        answer = said(run(ActionAnswerPolicy(), sender, "服务器密码要多久改?"))
        assert "机房管理制度" not in answer
        listing = said(run(ActionListPolicies(), sender, "有哪些制度"))
        assert "机房管理制度" not in listing and "饮用水消毒制度" in listing


def test_bound_staff_are_answered_from_staff_only_regulations(world):
    assert "机房管理制度" in said(run(ActionAnswerPolicy(), CLERK, "服务器密码要多久改?"))


# --- the review desk -------------------------------------------------------------------------

PASSWORD = "a long enough password"


@pytest.fixture()
def desk(world, database_url) -> Iterator[TestClient]:
    with db.session_scope(world.engine) as session:
        create_user(session=session, username="wang", password=PASSWORD)
    app_settings = replace(
        settings.Settings(),
        database_url=database_url,
        admin_secret_key="test-secret",
    )
    app = create_app(
        settings=app_settings,
        engine=world.engine,
        notify=lambda sender, text: Delivery(DeliveryStatus.SENT),
    )
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def sign_in(client: TestClient, password: str = PASSWORD) -> int:
    page = client.get("/login").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    response = client.post(
        "/login",
        data={"username": "wang", "password": password, "csrf_token": match.group(1)},
        follow_redirects=False,
    )
    return response.status_code


def assert_refused(client: TestClient, world: World) -> None:
    for path in (
        "/",
        "/complaints",
        "/complaints.csv",
        f"/complaints/{world.complaint_ticket}",
        "/stats",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path
        assert "抄表员态度很差" not in response.text and "13900001111" not in response.text
    response = client.post(
        f"/complaints/{world.complaint_ticket}/assign",
        data={"assignee": "x"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_review_desk_shows_nothing_without_signing_in(desk, world):
    assert_refused(desk, world)
    assert sign_in(desk, password="a wrong password!") == 401
    assert_refused(desk, world)


def test_a_deactivated_user_loses_access_at_once(desk, world):
    assert sign_in(desk) == 303
    assert "抄表员态度很差" in desk.get(f"/complaints/{world.complaint_ticket}").text
    with db.session_scope(world.engine) as session:
        assert deactivate_user(session=session, username="wang")
    assert_refused(desk, world)
    assert sign_in(desk) == 401  # and cannot sign in again
    assert_refused(desk, world)


def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(desk, world):
    assert sign_in(desk) == 303
    assert desk.get("/complaints", follow_redirects=False).status_code == 200
    with db.session_scope(world.engine) as session:
        create_user(session=session, username="wang", password="another long password")
    assert_refused(desk, world)


# --- care on a day asked ------------------------------------------------------------------


def test_care_on_a_day_asked_says_whether_it_is_held_at_each_school(world):
    [message] = run(ActionCareTimes(), STRANGER, "那12月18号礼拜五也照常吗")
    assert message["response"] == "utter_care_times_on_day"
    lines = message["schools"].split("\n")
    assert any("实验小学" in line and "校运动会，没有课后看护" in line for line in lines)
    assert any("星河小学" in line and "照常看护" in line for line in lines)
    [weekend] = run(ActionCareTimes(), STRANGER, "这礼拜六有看护吗")
    assert weekend["schools"].count("不是看护日，没有课后看护") == 2
    # A parent is told of their own child's school only; no day asked: the hours.
    [own] = run(ActionCareTimes(), ALICE, "看护几点散")
    assert own["response"] == "utter_care_times"
    assert "实验小学" in own["schools"] and "星河小学" not in own["schools"]
    # A school named is answered, whoever asks: its hours are its public arrangements.
    for sender in (ALICE, STRANGER):
        [other] = run(ActionCareTimes(), sender, "那星河小学呢")
        assert "星河小学" in other["schools"] and "实验小学" not in other["schools"]
