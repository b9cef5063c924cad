"""Home-infusion bookings on SQLite and PostgreSQL: the covering team, capacity, two
requests racing for the last place, the date window, the state machine, who may see a
booking; and the elderly-care archive with its follow-up visits."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.infra.db import session_scope
from bot.infra.idempotency import retry_on_conflict
from bot.infra.migrate import downgrade, upgrade
from bot.models import (
    BookingEvent,
    BookingState,
    CareVisitKind,
    Community,
    HalfDay,
    HomeVisitBooking,
    Nurse,
    NurseSlot,
    StaffRole,
)
from bot.ops.seed import DEMO_DIR
from bot.staff import create_invite, redeem_invite
from bot.visits.booking import (
    BookingOutcome,
    ChangeOutcome,
    InvalidTransition,
    PatientDetails,
    SlotOffer,
    VisitTimeProblem,
    approve_review,
    cancel_booking,
    check_visit_time,
    find_booking,
    find_booking_no,
    find_community,
    may_see,
    next_free_slots,
    nurse_of,
    request_infusion,
    reschedule_booking,
    transition,
    visits_on,
)
from bot.visits.demo import seed_visits_demo
from bot.visits.drugs import default_catalogue
from bot.visits.elderly import read_service_items, register_care
from bot.visits.eligibility import (
    DrugSource,
    Health,
    InfusionRequest,
    PatientCondition,
    check_infusion_eligibility,
)
from bot.visits.wording import read_condition, read_drug_source, read_half_day, read_yes_no

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 15, 45, tzinfo=SHANGHAI)  # a Wednesday afternoon
TOMORROW = date(2026, 11, 26)
PATIENT = PatientDetails("李大爷", "19912345678", "幸福小区3栋201")
ORDINARY = InfusionRequest(
    condition=PatientCondition.BEDRIDDEN,
    has_doctor_order=True,
    drug_text="葡萄糖氯化钠",
    drug_source=DrugSource.PRESCRIBED_HERE,
    health=Health.NONE,
)


@pytest.fixture()
def demo(engine):
    with session_scope(engine) as session:
        seed_visits_demo(session=session, path=DEMO_DIR / "visits.yml")
    return engine


def community(session, code: str) -> Community:
    found = session.scalars(select(Community).where(Community.code == code)).one()
    return found


def book(
    engine,
    request: InfusionRequest = ORDINARY,
    *,
    day: date = TOMORROW,
    half_day: HalfDay = HalfDay.MORNING,
    sender: str = "web:family",
    code: str = "xingfu",
):
    with session_scope(engine) as session:
        decision = check_infusion_eligibility(request, default_catalogue())
        result = request_infusion(
            session=session,
            sender_id=sender,
            channel="rest",
            patient=PATIENT,
            community=community(session, code),
            request=request,
            decision=decision,
            day=day,
            half_day=half_day,
            now=NOW,
        )
        return result.outcome, result.booking.booking_no if result.booking else None, result.offers


def state_of(engine, booking_no: str) -> BookingState:
    with session_scope(engine) as session:
        booking = find_booking(session=session, booking_no=booking_no)
        assert booking is not None
        return booking.state


def test_an_eligible_request_is_booked_awaiting_consent_with_every_change_logged(demo):
    outcome, booking_no, _ = book(demo)
    assert outcome is BookingOutcome.AWAITING_CONSENT
    assert booking_no is not None and booking_no.startswith("SY20261125-")
    with session_scope(demo) as session:
        booking = find_booking(session=session, booking_no=booking_no)
        assert booking is not None
        assert booking.nurse is not None and booking.nurse.team.code == "north"
        assert [e.to_state for e in booking.events] == [
            BookingState.REQUESTED,
            BookingState.BOOKED,
            BookingState.AWAITING_CONSENT,
        ]
        assert booking.events[0].actor == "web:family"
        assert booking.drug_names == "葡萄糖氯化钠注射液"


def test_a_refusal_is_recorded_as_refused_without_a_nurse(demo):
    request = InfusionRequest(
        condition=PatientCondition.NONE,
        has_doctor_order=True,
        drug_text="生理盐水",
        drug_source=DrugSource.PRESCRIBED_HERE,
        health=Health.NONE,
    )
    outcome, booking_no, _ = book(demo, request)
    assert outcome is BookingOutcome.REFUSED
    with session_scope(demo) as session:
        booking = find_booking(session=session, booking_no=booking_no or "")
        assert booking is not None
        assert booking.state is BookingState.REFUSED
        assert booking.nurse_id is None
        assert booking.reasons == "not_homebound"


def test_an_unknown_drug_waits_for_the_pharmacist_and_can_then_be_booked(demo):
    request = InfusionRequest(
        condition=PatientCondition.BEDRIDDEN,
        has_doctor_order=True,
        drug_text="某某神药",
        drug_source=DrugSource.PRESCRIBED_HERE,
        health=Health.NONE,
    )
    outcome, booking_no, _ = book(demo, request)
    assert outcome is BookingOutcome.REVIEW
    with session_scope(demo) as session:
        booking = find_booking(session=session, booking_no=booking_no or "")
        assert booking is not None
        assert booking.state is BookingState.REQUESTED
        assert "某某神药" in booking.review_note
        assert booking.nurse_id is None
        assert approve_review(session=session, booking=booking, actor="药师", now=NOW) is (
            ChangeOutcome.DONE
        )
        assert booking.state is BookingState.AWAITING_CONSENT
        assert booking.nurse_id is not None


def test_capacity_full_offers_the_next_free_half_days_and_writes_nothing(demo):
    # 幸福里 (team north): two nurses with one place each per half-day. Three families ask
    # (one family asking twice is one request: see test_a_repeated_confirmation_...).
    assert book(demo, sender="web:family1")[0] is BookingOutcome.AWAITING_CONSENT
    assert book(demo, sender="web:family2")[0] is BookingOutcome.AWAITING_CONSENT
    with session_scope(demo) as session:
        before = session.scalar(select(func.count(HomeVisitBooking.id)))
    outcome, booking_no, offers = book(demo, sender="web:family3")
    assert (outcome, booking_no) == (BookingOutcome.FULL, None)
    assert offers[0] == SlotOffer(TOMORROW, HalfDay.AFTERNOON)
    assert len(offers) == 3
    with session_scope(demo) as session:
        assert session.scalar(select(func.count(HomeVisitBooking.id))) == before
        nurses = session.scalars(select(Nurse).order_by(Nurse.id)).all()
        visiting = {b.nurse_id for b in visits_on(session=session, day=TOMORROW)}
        assert visiting == {n.id for n in nurses if n.team.code == "north"}


def test_cancelling_frees_the_place(demo):
    first = book(demo)[1]
    book(demo, sender="web:family2")
    assert book(demo, sender="web:family3")[0] is BookingOutcome.FULL
    with session_scope(demo) as session:
        booking = find_booking(session=session, booking_no=first or "")
        assert booking is not None
        assert cancel_booking(session=session, booking=booking, actor="web:family", now=NOW) is (
            ChangeOutcome.DONE
        )
        assert cancel_booking(session=session, booking=booking, actor="web:family", now=NOW) is (
            ChangeOutcome.FINAL
        )
    assert book(demo)[0] is BookingOutcome.AWAITING_CONSENT


def test_two_requests_for_the_last_place_exactly_one_wins(demo):
    book(demo)  # one of the two places of team north is taken
    barrier = threading.Barrier(2)
    outcomes: list[BookingOutcome] = []
    errors: list[BaseException] = []

    def racer(sender: str) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(book(demo, sender=sender)[0])
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=racer, args=(f"web:racer{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(outcomes) == [BookingOutcome.AWAITING_CONSENT, BookingOutcome.FULL]
    with session_scope(demo) as session:
        held = session.scalar(
            select(func.count(HomeVisitBooking.id)).where(
                HomeVisitBooking.visit_date == TOMORROW,
                HomeVisitBooking.state == BookingState.AWAITING_CONSENT,
            )
        )
    assert held == 2


def test_the_state_machine_allows_only_the_documented_moves(demo):
    booking_no = book(demo)[1] or ""
    with session_scope(demo) as session:
        booking = find_booking(session=session, booking_no=booking_no)
        assert booking is not None
        with pytest.raises(InvalidTransition):
            transition(booking, BookingState.DONE, actor="nurse", now=NOW)
        transition(booking, BookingState.CONSENT_RECORDED, actor="护士陈静", now=NOW)
        transition(booking, BookingState.DONE, actor="护士陈静", now=NOW)
        with pytest.raises(InvalidTransition):
            transition(booking, BookingState.CANCELLED, actor="web:family", now=NOW)
    with session_scope(demo) as session:
        events = session.scalars(
            select(BookingEvent)
            .join(HomeVisitBooking)
            .where(HomeVisitBooking.booking_no == booking_no)
            .order_by(BookingEvent.id)
        ).all()
        assert [(e.from_state, e.to_state) for e in events][-2:] == [
            (BookingState.AWAITING_CONSENT, BookingState.CONSENT_RECORDED),
            (BookingState.CONSENT_RECORDED, BookingState.DONE),
        ]
        assert events[-1].actor == "护士陈静"


def test_rescheduling_moves_the_place(demo):
    booking_no = book(demo)[1] or ""
    book(demo)
    with session_scope(demo) as session:
        booking = find_booking(session=session, booking_no=booking_no)
        assert booking is not None
        assert (
            reschedule_booking(
                session=session,
                booking=booking,
                day=TOMORROW + timedelta(days=20),
                half_day=HalfDay.MORNING,
                actor="web:family",
                now=NOW,
            )
            is ChangeOutcome.INVALID_TIME
        )
        assert (
            reschedule_booking(
                session=session,
                booking=booking,
                day=TOMORROW,
                half_day=HalfDay.AFTERNOON,
                actor="web:family",
                now=NOW,
            )
            is ChangeOutcome.DONE
        )
    assert book(demo)[0] is BookingOutcome.AWAITING_CONSENT  # the morning place came free


@pytest.mark.parametrize(
    ("day", "half_day", "problem"),
    [
        (date(2026, 11, 24), HalfDay.MORNING, VisitTimeProblem.PAST),
        (date(2026, 11, 25), HalfDay.AFTERNOON, VisitTimeProblem.STARTED),
        (date(2026, 11, 25), None, VisitTimeProblem.STARTED),
        (date(2026, 12, 9), HalfDay.AFTERNOON, None),  # today + 14
        (date(2026, 12, 10), HalfDay.MORNING, VisitTimeProblem.TOO_FAR),
        (TOMORROW, HalfDay.MORNING, None),
    ],
)
def test_the_booking_window_is_today_to_fourteen_days(day, half_day, problem):
    assert check_visit_time(day, half_day, NOW) is problem


def test_this_morning_is_open_before_eight():
    early = datetime(2026, 11, 25, 7, 30, tzinfo=SHANGHAI)
    assert check_visit_time(date(2026, 11, 25), HalfDay.MORNING, early) is None


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("幸福小区3栋201", "xingfu"),
        ("我家在解放路12号", "heyuan"),
        ("康乐苑 5 幢", "kangning"),
        ("住在幸福里社区阳光花园", "xingfu"),
        ("火星路1号", None),
    ],
)
def test_an_address_is_matched_to_its_community(demo, address, code):
    with session_scope(demo) as session:
        found = find_community(session=session, address=address)
        assert (found.code if found else None) == code


def test_only_the_booker_the_patients_team_and_supervisors_see_a_booking(demo):
    booking_no = book(demo)[1] or ""
    with session_scope(demo) as session:
        booking = find_booking(session=session, booking_no=booking_no)
        assert booking is not None
        team_id = booking.community.team_id
        own_nurse = session.scalars(select(Nurse).where(Nurse.team_id == team_id)).first()
        other_nurse = session.scalars(select(Nurse).where(Nurse.team_id != team_id)).first()
        assert own_nurse is not None and other_nurse is not None
        for sender, role, nurse in (
            ("tg:nurse", StaffRole.NURSE, own_nurse),
            ("tg:other-team", StaffRole.NURSE, other_nurse),
            ("tg:unlinked-nurse", StaffRole.NURSE, None),
            ("tg:teacher", StaffRole.TEACHER, None),
            ("tg:supervisor", StaffRole.SUPERVISOR, None),
        ):
            invite, code = create_invite(session=session, name=sender, role=role, now=NOW)
            if nurse is not None:
                nurse.invite_id = invite.id
            session.flush()
            redeem_invite(session=session, sender_id=sender, code=code, now=NOW)
        assert may_see(session=session, booking=booking, sender_id="web:family")
        assert may_see(session=session, booking=booking, sender_id="tg:nurse")
        assert may_see(session=session, booking=booking, sender_id="tg:supervisor")
        assert not may_see(session=session, booking=booking, sender_id="tg:other-team")
        assert not may_see(session=session, booking=booking, sender_id="tg:unlinked-nurse")
        assert not may_see(session=session, booking=booking, sender_id="web:stranger")
        assert not may_see(session=session, booking=booking, sender_id="tg:teacher")
        assert not may_see(session=session, booking=booking, sender_id=None)


def test_a_nurse_invite_links_the_nurse_record(demo):
    with session_scope(demo) as session:
        nurse = session.scalars(select(Nurse).where(Nurse.phone == "19900003301")).one()
        invite, code = create_invite(session=session, name=nurse.name, role=StaffRole.NURSE)
        nurse.invite_id = invite.id
        session.flush()
        redeem_invite(session=session, sender_id="tg:sun", code=code)
        found = nurse_of(session=session, sender_id="tg:sun")
        assert found is not None and found.id == nurse.id
        assert nurse_of(session=session, sender_id="tg:other") is None


def test_free_slots_skip_the_half_days_that_have_begun(demo):
    with session_scope(demo) as session:
        team = community(session, "kangning").team
        offers = next_free_slots(session=session, team=team, now=NOW, limit=2)
    assert offers == (
        SlotOffer(TOMORROW, HalfDay.MORNING),
        SlotOffer(TOMORROW, HalfDay.AFTERNOON),
    )


def test_an_elderly_person_is_registered_once_with_follow_ups(demo):
    with session_scope(demo) as session:
        place = community(session, "heyuan")
        first = register_care(
            session=session,
            name="周奶奶",
            phone="19912340000",
            address="书香苑1幢",
            community=place,
            items=["助餐"],
            day=TOMORROW,
            half_day=HalfDay.MORNING,
            sender_id="web:son",
            now=NOW,
        )
        assert first.created
        assert first.client.client_no.startswith("YL20261125-")
        # The centre's follow-up days (data/organisation.yml), then the quarterly re-check
        # (服务管理制度8 第1条) a quarter after registration.
        assert [v.visit_date for v in first.follow_ups] == [
            TOMORROW + timedelta(days=days) for days in (7, 30)
        ]
        assert all(v.kind is CareVisitKind.FOLLOW_UP for v in first.follow_ups)
        assert first.recheck is not None
        assert first.recheck.kind is CareVisitKind.RECHECK
        assert first.recheck.visit_date == date(2027, 2, 25)
        again = register_care(
            session=session,
            name="周奶奶",
            phone="19912340000",
            address="书香苑1幢",
            community=place,
            items=["助洁"],
            day=TOMORROW + timedelta(days=2),
            half_day=HalfDay.AFTERNOON,
            sender_id="web:son",
            now=NOW,
        )
        assert not again.created
        assert again.client.id == first.client.id
        assert again.client.service_items == "助餐、助洁"
        assert again.follow_ups == ()  # already scheduled
        assert again.recheck is first.recheck


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("卧床不起", PatientCondition.BEDRIDDEN),
        ("我妈瘫在床上好几年了", PatientCondition.BEDRIDDEN),
        ("腿脚不便 下不了楼", PatientCondition.LIMITED_MOBILITY),
        ("年老体弱", PatientCondition.FRAIL_ELDERLY),
        ("以上都不是", PatientCondition.NONE),
        ("能走能动的", PatientCondition.NONE),
        ("随便", None),
    ],
)
def test_conditions_are_read_from_what_families_write(text, value):
    assert read_condition(text) is value


def test_answers_are_read():
    assert read_drug_source("外院带来的") is DrugSource.EXTERNAL
    assert read_drug_source("是你们中心开的") is DrugSource.PRESCRIBED_HERE
    assert read_drug_source("不清楚") is DrugSource.UNKNOWN
    assert read_yes_no("有医嘱") is True
    assert read_yes_no("没有") is False
    assert read_yes_no("用过一次了 没有不良反应") is True
    assert read_yes_no("还没用过") is False
    assert read_half_day("明天上午") is HalfDay.MORNING
    assert read_half_day("下午两点") is HalfDay.AFTERNOON
    assert read_half_day("明天") is None
    assert find_booking_no("查一下 sy20261125 00012") == "SY20261125-00012"
    assert find_booking_no("我的预约") is None
    assert read_service_items("送饭 打扫卫生 还有量血压") == ["助餐", "助洁", "健康监测"]


def test_a_repeated_confirmation_returns_the_same_booking_and_takes_one_place(demo):
    outcome, booking_no, _ = book(demo)
    assert outcome is BookingOutcome.AWAITING_CONSENT
    assert book(demo) == (BookingOutcome.AWAITING_CONSENT, booking_no, ())
    # The other nurse's place is still free for somebody else.
    assert book(demo, sender="web:neighbour")[0] is BookingOutcome.AWAITING_CONSENT
    with session_scope(demo) as session:
        assert session.scalar(select(func.count(HomeVisitBooking.id))) == 2
        assert session.scalar(select(func.sum(NurseSlot.booked))) == 2


def test_a_request_on_another_day_or_for_another_half_day_is_a_new_booking(demo):
    first = book(demo)[1]
    assert book(demo, half_day=HalfDay.AFTERNOON)[1] != first
    later = NOW + timedelta(days=1)
    with session_scope(demo) as session:
        result = request_infusion(
            session=session,
            sender_id="web:family",
            channel="rest",
            patient=PATIENT,
            community=community(session, "xingfu"),
            request=ORDINARY,
            decision=check_infusion_eligibility(ORDINARY, default_catalogue()),
            day=TOMORROW,
            half_day=HalfDay.MORNING,
            now=later,
        )
        # The next day, the same words are a new request: the morning's other place.
        assert result.outcome is BookingOutcome.AWAITING_CONSENT
        assert result.booking is not None and result.booking.booking_no != first


def test_repeated_confirmations_racing_make_one_booking(demo):
    barrier = threading.Barrier(4)
    numbers: list[str | None] = []
    errors: list[BaseException] = []

    def confirm() -> None:
        try:
            barrier.wait(timeout=10)
            numbers.append(retry_on_conflict(lambda: book(demo))[1])
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=confirm) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(numbers) == 4 and len(set(numbers)) == 1 and numbers[0] is not None
    with session_scope(demo) as session:
        assert session.scalar(select(func.count(HomeVisitBooking.id))) == 1
        assert session.scalar(select(func.sum(NurseSlot.booked))) == 1


def test_the_infusion_safety_migration_keeps_every_bookings_events(demo, database_url):
    _, booking_no, _ = book(demo)

    def events() -> int:
        with session_scope(demo) as session:
            booking = find_booking(session=session, booking_no=booking_no or "")
            assert booking is not None
            return len(booking.events)

    before = events()
    assert before >= 3
    demo.dispose()
    # Both ways rebuild the table on SQLite: no cascade may take the events with it.
    downgrade(database_url, "0010")
    with demo.connect() as connection:
        kept = connection.exec_driver_sql("SELECT count(*) FROM booking_event").scalar()
    assert kept == before
    upgrade(database_url)
    assert events() == before
