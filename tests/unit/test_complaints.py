"""Complaints: ticket numbers (also under concurrency), the review workflow and its audit
trail, optimistic locking, the survey, who may see a complaint, statistics and CSV."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from actions.complaints import find_contact, find_score, says_what_happened, stops_complaint
from bot.admin.auth import (
    MAX_FAILURES,
    AccountError,
    LoginOutcome,
    authenticate,
    create_user,
)
from bot.complaints import workflow
from bot.complaints.catalog import get_catalog
from bot.complaints.filing import (
    ComplaintDraft,
    ComplaintError,
    complaint_for_sender,
    file_complaint,
    find_staff,
    find_ticket_no,
    record_praise,
)
from bot.complaints.queries import ComplaintFilter, export_csv, list_complaints, statistics
from bot.complaints.transcript import read_transcript
from bot.infra.db import create_engine, session_scope
from bot.models import (
    Complaint,
    ComplaintEvent,
    ComplaintFinding,
    ComplaintNotification,
    ComplaintState,
    StaffMember,
    StaffRole,
    SurveyAnswer,
)
from bot.notify import Delivery, DeliveryStatus

# Wednesday 2026-11-25 15:45 in Shanghai.
NOW = datetime(2026, 11, 25, 7, 45, tzinfo=timezone.utc)
CATALOG = get_catalog()
DRAFT = ComplaintDraft(
    department="gas",
    category="attitude",
    description="抄表员态度很差,还对我大声嚷嚷",
    occurred="昨天下午 幸福小区",
    staff_involved="工号0236",
    contact="13900001111",
)


def file_one(engine, sender: str = "web:alice", draft: ComplaintDraft = DRAFT, now=NOW) -> str:
    with session_scope(engine) as session:
        complaint = file_complaint(
            session=session, draft=draft, sender_id=sender, channel="rest", now=now, catalog=CATALOG
        )
        return complaint.ticket_no


class FakeDelivery:
    def __init__(self, status: DeliveryStatus = DeliveryStatus.SENT) -> None:
        self.status = status
        self.sent: list[tuple[str, str]] = []

    def __call__(self, sender_id: str, message: str) -> Delivery:
        self.sent.append((sender_id, message))
        return Delivery(self.status, "" if self.status is DeliveryStatus.SENT else "no push")


def load(session, ticket: str) -> Complaint:
    return session.scalars(select(Complaint).where(Complaint.ticket_no == ticket)).one()


def test_the_ticket_number_is_the_local_day_and_five_random_digits(engine):
    ticket = file_one(engine)
    with session_scope(engine) as session:
        complaint = load(session, ticket)
        assert re.fullmatch(r"TS20261125-\d{5}", ticket)
        assert complaint.state is ComplaintState.NEW
        # 服务态度: a response within 24 hours.
        assert complaint.due_at.replace(tzinfo=timezone.utc) == NOW + timedelta(hours=24)
        [event] = complaint.events
        assert (event.actor, event.action) == ("web:alice", "filed")
    late = datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc)  # 01:00 on the 26th locally
    assert file_one(engine, now=late).startswith("TS20261126-")


def test_tickets_are_unique_when_filed_at_the_same_moment(engine):
    tickets: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            tickets.append(file_one(engine, sender=f"web:user{n}"))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(tickets) == len(set(tickets)) == 8
    with session_scope(engine) as session:
        assert session.scalar(select(func.count(Complaint.id))) == 8


@pytest.mark.parametrize(
    ("message", "ticket"),
    [
        ("我的投诉 TS20261125-00007 怎么样了", "TS20261125-00007"),
        ("ts2026112500007", "TS20261125-00007"),
        ("查一下 TS 20261125 - 00012", "TS20261125-00012"),
        ("报修 BX20261125-00007", None),
    ],
)
def test_ticket_numbers_are_found_in_messages(message, ticket):
    assert find_ticket_no(message) == ticket


def test_an_empty_or_unknown_complaint_is_refused(engine):
    for draft in (
        ComplaintDraft("gas", "attitude", "   "),
        ComplaintDraft("gas", "attitude", "差"),
        ComplaintDraft("bank", "attitude", "柜员态度不好"),
        ComplaintDraft("gas", "rudeness", "柜员态度不好"),
    ):
        with pytest.raises(ComplaintError), session_scope(engine) as session:
            file_complaint(
                session=session,
                draft=draft,
                sender_id="web:a",
                channel="",
                now=NOW,
                catalog=CATALOG,
            )
    with session_scope(engine) as session:
        assert session.scalar(select(func.count(Complaint.id))) == 0


def test_script_and_sql_in_a_complaint_are_stored_as_text(engine):
    nasty = "<script>alert('x')</script>'; DROP TABLE complaint; --"
    ticket = file_one(engine, draft=ComplaintDraft("gas", "other", nasty))
    with session_scope(engine) as session:
        assert load(session, ticket).description == nasty
        assert session.scalar(select(func.count(Complaint.id))) == 1


def review_to_resolved(engine, ticket: str) -> int:
    """Assign, record a finding and a resolution; return the version reached."""
    with session_scope(engine) as session:
        complaint = load(session, ticket)
        workflow.assign(
            session=session,
            complaint=complaint,
            assignee="王主管",
            actor="admin:wang",
            expected_version=complaint.version,
            now=NOW,
        )
        workflow.record_finding(
            session=session,
            complaint=complaint,
            finding=ComplaintFinding.SUBSTANTIATED,
            responsible_staff="抄表员 张三",
            actor="admin:wang",
            expected_version=complaint.version,
            now=NOW,
        )
        workflow.resolve(
            session=session,
            complaint=complaint,
            resolution="已对抄表员批评教育,并上门致歉。",
            actor="admin:wang",
            expected_version=complaint.version,
            now=NOW,
        )
        assert complaint.state is ComplaintState.RESOLVED
        return int(complaint.version)


def test_each_change_moves_the_state_and_is_audited(engine):
    ticket = file_one(engine)
    review_to_resolved(engine, ticket)
    with session_scope(engine) as session:
        events = load(session, ticket).events
        assert [e.action for e in events] == ["filed", "assign", "finding", "resolve"]
        assign = events[1]
        assert assign.actor == "admin:wang"
        assert json.loads(assign.before) == {"assignee": "", "state": "new"}
        assert json.loads(assign.after) == {"assignee": "王主管", "state": "assigned"}
        finding = events[2]
        assert json.loads(finding.after)["finding"] == "substantiated"
        assert json.loads(finding.after)["state"] == "in_progress"


def test_a_substantiated_finding_names_who_was_responsible_and_a_resolution_needs_a_finding(
    engine,
):
    ticket = file_one(engine)
    with session_scope(engine) as session:
        complaint = load(session, ticket)
        with pytest.raises(workflow.TransitionError):
            workflow.resolve(
                session=session,
                complaint=complaint,
                resolution="已处理",
                actor="admin:wang",
                expected_version=complaint.version,
                now=NOW,
            )
        with pytest.raises(workflow.TransitionError):
            workflow.record_finding(
                session=session,
                complaint=complaint,
                finding=ComplaintFinding.SUBSTANTIATED,
                responsible_staff=" ",
                actor="admin:wang",
                expected_version=complaint.version,
                now=NOW,
            )
        with pytest.raises(workflow.TransitionError):
            workflow.close(
                session=session,
                complaint=complaint,
                actor="admin:wang",
                expected_version=complaint.version,
                now=NOW,
                catalog=CATALOG,
                deliver=FakeDelivery(),
            )


def test_closing_tells_the_complainant_and_records_the_notification(engine):
    ticket = file_one(engine, sender="tg:4242")
    version = review_to_resolved(engine, ticket)
    delivery = FakeDelivery()
    with session_scope(engine) as session:
        complaint = load(session, ticket)
        workflow.close(
            session=session,
            complaint=complaint,
            actor="admin:wang",
            expected_version=version,
            now=NOW,
            catalog=CATALOG,
            deliver=delivery,
        )
    [(sender, message)] = delivery.sent
    assert sender == "tg:4242"
    assert ticket in message and "上门致歉" in message and "1-5" in message
    with session_scope(engine) as session:
        complaint = load(session, ticket)
        assert complaint.state is ComplaintState.CLOSED and complaint.closed_at is not None
        [notification] = complaint.notifications
        assert (notification.kind, notification.status) == ("closed", "sent")
        assert [e.action for e in complaint.events][-2:] == ["close", "notified"]
        with pytest.raises(workflow.TransitionError):
            workflow.assign(
                session=session,
                complaint=complaint,
                assignee="李",
                actor="admin:li",
                expected_version=complaint.version,
                now=NOW,
            )


def test_a_complainant_without_a_push_channel_is_logged_as_such(engine):
    ticket = file_one(engine, sender="web:bob")
    version = review_to_resolved(engine, ticket)
    with session_scope(engine) as session:
        result = workflow.close(
            session=session,
            complaint=load(session, ticket),
            actor="admin:wang",
            expected_version=version,
            now=NOW,
            catalog=CATALOG,
            deliver=FakeDelivery(DeliveryStatus.NO_CHANNEL),
        )
        assert result.notification.status == "no_channel"
    with session_scope(engine) as session:
        assert session.scalar(select(ComplaintNotification.status)) == "no_channel"


def test_a_change_based_on_an_old_version_is_refused(engine):
    ticket = file_one(engine)
    with session_scope(engine) as session:
        complaint = load(session, ticket)
        with pytest.raises(workflow.ComplaintChanged):
            workflow.assign(
                session=session,
                complaint=complaint,
                assignee="王",
                actor="admin:wang",
                expected_version=complaint.version + 1,
                now=NOW,
            )


def test_two_supervisors_closing_at_once_one_wins_and_one_message_goes_out(engine):
    ticket = file_one(engine)
    version = review_to_resolved(engine, ticket)
    delivery = FakeDelivery()
    first = session_scope(engine)
    second = session_scope(engine)
    session_a = first.__enter__()
    session_b = second.__enter__()
    # Both load the same version before either writes.
    complaint_a, complaint_b = load(session_a, ticket), load(session_b, ticket)
    assert complaint_a.version == complaint_b.version == version
    workflow.close(
        session=session_a,
        complaint=complaint_a,
        actor="admin:wang",
        expected_version=version,
        now=NOW,
        catalog=CATALOG,
        deliver=delivery,
    )
    first.__exit__(None, None, None)
    with pytest.raises(workflow.ComplaintChanged):
        workflow.close(
            session=session_b,
            complaint=complaint_b,
            actor="admin:li",
            expected_version=version,
            now=NOW,
            catalog=CATALOG,
            deliver=delivery,
        )
    try:
        session_b.rollback()
    finally:
        second.__exit__(None, None, None)
    assert len(delivery.sent) == 1
    with session_scope(engine) as session:
        complaint = load(session, ticket)
        closes = [e for e in complaint.events if e.action == "close"]
        assert [e.actor for e in closes] == ["admin:wang"]
        assert len(complaint.notifications) == 1


def close_for(engine, sender: str) -> str:
    ticket = file_one(engine, sender=sender)
    version = review_to_resolved(engine, ticket)
    with session_scope(engine) as session:
        workflow.close(
            session=session,
            complaint=load(session, ticket),
            actor="admin:wang",
            expected_version=version,
            now=NOW,
            catalog=CATALOG,
            deliver=FakeDelivery(),
        )
    return ticket


def test_the_survey_answer_goes_to_the_senders_closed_complaint_once(engine):
    # Another complaint of the same sender, still open (the same words would be the same
    # complaint: filing is idempotent).
    open_ticket = file_one(
        engine, sender="web:carol", draft=ComplaintDraft("gas", "billing", "估抄导致气费翻倍")
    )
    ticket = close_for(engine, "web:carol")
    with session_scope(engine) as session:
        assert (
            workflow.answer_survey(session=session, sender_id="web:dave", score=5, now=NOW) is None
        )
        answer = workflow.answer_survey(session=session, sender_id="web:carol", score=4, now=NOW)
        assert answer is not None and answer.complaint.ticket_no == ticket
    with session_scope(engine) as session:
        assert (
            workflow.answer_survey(session=session, sender_id="web:carol", score=1, now=NOW) is None
        )
        with pytest.raises(ValueError):
            workflow.answer_survey(session=session, sender_id="web:carol", score=6, now=NOW)
        assert session.scalars(select(SurveyAnswer.score)).all() == [4]
        assert load(session, open_ticket).survey is None
        assert load(session, ticket).events[-1].action == "survey"


def test_only_the_complainant_or_staff_see_a_complaint(engine):
    ticket = file_one(engine, sender="web:erin")
    with session_scope(engine) as session:
        session.add(StaffMember(sender_id="tg:99", name="王主管", role=StaffRole.SUPERVISOR))
    with session_scope(engine) as session:
        assert complaint_for_sender(session=session, ticket_no=ticket, sender_id="web:erin")
        assert complaint_for_sender(session=session, ticket_no=ticket, sender_id="tg:99")
        assert (
            complaint_for_sender(session=session, ticket_no=ticket, sender_id="web:mallory") is None
        )
        assert (
            complaint_for_sender(
                session=session, ticket_no="TS20991231-99999", sender_id="web:erin"
            )
            is None
        )


def test_filters_and_overdue(engine):
    file_one(engine, draft=ComplaintDraft("school", "safety", "孩子在操场摔伤没人管"))
    file_one(engine, draft=ComplaintDraft("gas", "billing", "估抄导致气费翻倍"))
    later = NOW + timedelta(hours=10)  # past the 4-hour frame for safety only
    with session_scope(engine) as session:
        overdue = list_complaints(
            session=session, filters=ComplaintFilter(state="open", overdue=True), now=later
        )
        assert [c.category for c in overdue] == ["safety"]
        gas = list_complaints(
            session=session, filters=ComplaintFilter(state="", department="gas"), now=later
        )
        assert [c.category for c in gas] == ["billing"]
        old = list_complaints(
            session=session, filters=ComplaintFilter(older_than_days=1), now=later
        )
        assert old == []


def test_statistics_and_a_csv_that_excel_reads(engine):
    close_for(engine, "web:frank")
    file_one(engine, draft=ComplaintDraft("health", "quality", '=HYPERLINK("http://x")护士迟到'))
    with session_scope(engine) as session:
        figures = statistics(session=session, now=NOW, catalog=CATALOG)
        assert (figures.total, figures.open) == (2, 1)
        assert dict(figures.by_department)["燃气服务"] == 1
        assert figures.by_week[-1] == ("11-23", 2)
        assert figures.hours_to_close_median == 0.0
        body = export_csv(
            list_complaints(session=session, filters=ComplaintFilter(state=""), now=NOW),
            catalog=CATALOG,
            now=NOW,
        )
    assert body.startswith("\ufeff受理编号,")
    assert "'=HYPERLINK" in body
    assert "燃气服务,服务态度,已办结" in body


def test_praise_is_logged_with_the_service_and_the_staff_member(engine):
    with session_scope(engine) as session:
        praise = record_praise(
            session=session,
            sender_id="web:g",
            channel="rest",
            text="今天上门输液的王护士特别耐心,表扬一下",
            now=NOW,
            catalog=CATALOG,
        )
        assert (praise.department, praise.staff_named) == ("health", "王护士")


@pytest.mark.parametrize(
    ("message", "department", "category"),
    [
        ("我要投诉,抄表员态度很差", "gas", "attitude"),
        ("营业员多收了我50块钱", "gas", "overcharge"),
        # A job named after what it does is no category: 收费员 is no 乱收费.
        ("收费员啥态度啊 还甩脸子", "gas", "attitude"),
        ("收费员多收了我钱", "gas", "overcharge"),
        ("看护老师不管孩子,孩子摔伤了", "school", "safety"),
        ("小区保安态度恶劣", "property", "attitude"),
        # Home care (meals, bathing) is the health centre's.
        ("投诉你们送的午饭 连着三天都是凉的", "health", "quality"),
        # A reading estimated instead of taken is a billing error, however it is put.
        ("你们抄表员没进门 就照上个月的数估一个填上了", "gas", "billing"),
        ("人压根没来抄 数是估的", None, "billing"),
        ("我要投诉", None, None),
    ],
)
def test_the_first_message_is_read_for_department_and_category(message, department, category):
    assert CATALOG.guess_department(message) == department
    assert CATALOG.guess_category(message) == category


def test_what_the_chat_reads_from_a_message():
    assert says_what_happened("我要投诉,抄表员态度很差")
    assert not says_what_happened("我要投诉")
    assert not says_what_happened("/file_complaint")
    assert find_staff("我要投诉工号 0236 的营业员") == "工号0236"
    assert find_contact("电话 139 0000 1111") == "13900001111"
    assert find_contact("就在这里联系我") == "本聊天渠道"
    assert find_contact("随便") is None
    assert [find_score(t) for t in ("5", "打4分", "给五分", "三星", "2026", "很好")] == [
        5,
        4,
        5,
        3,
        None,
        None,
    ]


def test_the_transcript_is_read_from_the_tracker_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    assert not read_transcript(tracker_url=url, sender_id="web:a").available
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT,"
                " timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)"
            )
        )
        for n, (kind, said) in enumerate(
            [("user", "我要投诉"), ("action", ""), ("bot", "请问是哪项服务?"), ("user", "燃气")]
        ):
            connection.execute(
                text("INSERT INTO events VALUES (:id, 'web:a', :kind, :ts, '', '', :data)"),
                {"id": n + 1, "kind": kind, "ts": 1000.0 + n, "data": json.dumps({"text": said})},
            )
    engine.dispose()
    transcript = read_transcript(tracker_url=url, sender_id="web:a")
    assert transcript.available
    assert [(m.speaker, m.text) for m in transcript.messages] == [
        ("user", "我要投诉"),
        ("bot", "请问是哪项服务?"),
        ("user", "燃气"),
    ]
    assert read_transcript(tracker_url=url, sender_id="web:other").messages == []


def test_dashboard_sign_in_is_throttled_after_ten_wrong_passwords(engine):
    with session_scope(engine) as session:
        with pytest.raises(AccountError):
            create_user(session=session, username="wang", password="short")
        create_user(session=session, username="wang", password="correct horse battery")
        assert "correct" not in session.scalar(text("SELECT password_hash FROM dashboard_user"))
    for n in range(MAX_FAILURES):
        with session_scope(engine) as session:
            result = authenticate(
                session=session,
                username="wang",
                password=f"guess{n}",
                client="127.0.0.1",
                now=NOW + timedelta(seconds=n),
            )
            assert result.outcome is LoginOutcome.WRONG
    with session_scope(engine) as session:
        locked = authenticate(
            session=session,
            username="wang",
            password="correct horse battery",
            client="127.0.0.1",
            now=NOW + timedelta(minutes=1),
        )
        assert locked.outcome is LoginOutcome.LOCKED
        later = authenticate(
            session=session,
            username="wang",
            password="correct horse battery",
            client="127.0.0.1",
            now=NOW + timedelta(minutes=20),
        )
        assert later.outcome is LoginOutcome.OK


def test_the_audit_trail_keeps_every_event(engine):
    ticket = close_for(engine, "web:h")
    with session_scope(engine) as session:
        actions = session.scalars(
            select(ComplaintEvent.action)
            .join(Complaint)
            .where(Complaint.ticket_no == ticket)
            .order_by(ComplaintEvent.id)
        ).all()
    assert actions == ["filed", "assign", "finding", "resolve", "close", "notified"]


@pytest.mark.parametrize(
    ("text", "intent", "stops"),
    [
        ("差", {"name": "goodbye", "confidence": 0.95}, False),
        ("脏", {"name": "goodbye", "confidence": 0.99}, False),
        ("拜", {"name": "goodbye", "confidence": 0.6}, True),
        ("好的先这样吧", {"name": "goodbye", "confidence": 0.5}, True),
        ("没事了我走了", {"name": "goodbye", "confidence": 0.93}, True),
        ("态度很差", {"name": "goodbye", "confidence": 0.7}, False),
        ("拜托快点处理", {"name": "goodbye", "confidence": 0.7}, False),
        ("算了不投诉了", {"name": "deny", "confidence": 0.4}, True),
        ("差", None, False),
    ],
)
def test_only_a_clear_goodbye_stops_a_complaint(text, intent, stops):
    assert stops_complaint(text, intent) is stops
