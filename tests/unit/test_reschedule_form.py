"""Moving a home visit as a conversation, driven through the reschedule form without a
model: the sender's own booking (their only one without asking), the new day and
half-day from any message, then a yes or no on "old -> new"; nothing moves before the
yes, and a stop in any wording leaves the booking as it was.

Wednesday 2026-11-25 09:00 is "now"; 下周二 is 2026-12-01."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.visits import (
    ActionAskRescheduleConfirmed,
    ActionSubmitInfusion,
    ActionSubmitReschedule,
    ValidateInfusionForm,
    ValidateRescheduleForm,
)
from bot.infra import db
from bot.infra import settings as bot_settings
from bot.models import BookingState, HalfDay, HomeVisitBooking
from bot.visits.wording import wanted_half_day, wanted_time
from tests.conversations.outcomes import _book_infusion
from tests.formdriver import FormDriver

NOW = "2026-11-25T09:00:00+08:00"
NEXT_TUESDAY = date(2026, 12, 1)


@pytest.fixture()
def world(service_database, monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("FROZEN_NOW", NOW)
    bot_settings.get_settings.cache_clear()
    yield service_database
    bot_settings.get_settings.cache_clear()


def booked(who: str, day: str = "2026-11-26", half_day: str = "pm") -> str:
    """A booked home infusion of `who`'s; its number."""
    with db.session_scope() as session:
        return _book_infusion(
            session,
            who,
            {
                "name": "周福生",
                "phone": "13812345607",
                "address": "学府路8号",
                "date": day,
                "half_day": half_day,
            },
            datetime.fromisoformat(NOW),
        )


def visit(booking_no: str) -> tuple[date | None, HalfDay | None]:
    with db.session_scope() as session:
        booking = session.scalars(
            select(HomeVisitBooking).where(HomeVisitBooking.booking_no == booking_no)
        ).one()
        return booking.visit_date, booking.half_day


def status(booking_no: str) -> BookingState:
    with db.session_scope() as session:
        return session.scalars(
            select(HomeVisitBooking.state).where(HomeVisitBooking.booking_no == booking_no)
        ).one()


def sender() -> str:
    return f"web:{uuid.uuid4().hex[:12]}"


def reschedule(who: str) -> FormDriver:
    return FormDriver(
        "reschedule_form", ValidateRescheduleForm(), ActionSubmitReschedule(), sender=who
    )


def confirmation(form: FormDriver) -> dict:
    tracker = Tracker(form.sender, dict(form.slots), {}, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    ActionAskRescheduleConfirmed().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    return message


def test_the_only_booking_is_taken_and_moved_only_after_the_yes(world):
    who = sender()
    number = booked(who)
    form = reschedule(who)
    said = form.say("护士上门的时间能改一下吗", intent="reschedule_booking")
    assert said == ["utter_ask_visit_date"]
    said = form.say("下周二 下午", intent="nlu_fallback")
    assert said == ["utter_ask_reschedule_confirmed"]
    shown = confirmation(form)
    assert shown["old_slot"].startswith("11月26日") and shown["new_slot"].startswith("12月1日")
    assert visit(number) == (date(2026, 11, 26), HalfDay.AFTERNOON)
    said = form.say("对", intent="affirm")
    assert form.finished and "utter_visit_rescheduled" in said
    assert visit(number) == (NEXT_TUESDAY, HalfDay.AFTERNOON)


def test_the_number_and_the_new_time_in_one_answer(world):
    who = sender()
    number = booked(who)
    booked(who, day="2026-11-27", half_day="am")  # two bookings: which one is asked
    form = reschedule(who)
    assert form.say("护士上门的时间能改一下吗", intent="reschedule_booking") == [
        "utter_ask_reschedule_booking_no"
    ]
    said = form.say(f"{number} 下周二 下午", intent="nlu_fallback")
    assert said == ["utter_ask_reschedule_confirmed"]
    form.say("确认修改", intent="affirm")
    assert visit(number) == (NEXT_TUESDAY, HalfDay.AFTERNOON)


@pytest.mark.parametrize(
    ("text", "moved_to"),
    [
        # The half-day moved to is taken, not the one given up.
        (
            "我家老头子后天上午护士来输液那个 能不能麻烦您给挪到下礼拜一下半天 后天我得去医院",
            (date(2026, 11, 30), HalfDay.AFTERNOON),
        ),
        # A correction in the same message is what the booking moves to.
        (
            "后天上午护士来输液那个改一下改到下周三下午 哦不对不对 下周三上午 下午我得去医院拿药",
            (date(2026, 12, 2), HalfDay.MORNING),
        ),
    ],
)
def test_the_time_moved_to_is_the_one_the_message_settles_on(world, text, moved_to):
    who = sender()
    number = booked(who, day="2026-11-27", half_day="am")
    form = reschedule(who)
    said = form.say(text, intent="reschedule_booking")
    assert said == ["utter_ask_reschedule_confirmed"]
    form.say("对", intent="affirm")
    assert visit(number) == moved_to


@pytest.mark.parametrize(
    ("text", "day", "half_day"),
    [
        ("改到周三下午 不对 上午", date(2026, 11, 25), HalfDay.MORNING),
        ("改到周五上午 不对 下午吧 上午有事", date(2026, 11, 27), HalfDay.AFTERNOON),
        ("下周一上午 哦不对 是下周二", date(2026, 12, 1), HalfDay.MORNING),
        ("改下礼拜一下午 后天俺闺女不在家", date(2026, 11, 30), HalfDay.AFTERNOON),
    ],
)
def test_the_time_a_message_corrects_itself_to(text, day, half_day):
    assert wanted_time(text, date(2026, 11, 25)) == (day, half_day)


@pytest.mark.parametrize(
    ("text", "half_day"),
    [
        ("改到下周一下午 上午家里没人", HalfDay.AFTERNOON),
        ("后天上午那个挪到周五吧", None),  # the morning is the one given up
        ("明天上午", HalfDay.MORNING),
    ],
)
def test_the_half_day_asked_for(text, half_day):
    assert wanted_half_day(text) is half_day


def test_a_no_at_the_confirmation_changes_nothing(world):
    who = sender()
    number = booked(who)
    form = reschedule(who)
    form.say("预约改到下周二下午", intent="reschedule_booking")
    said = form.say("不改了", intent="deny")
    assert form.finished and "utter_visit_reschedule_kept" in said
    assert visit(number) == (date(2026, 11, 26), HalfDay.AFTERNOON)


@pytest.mark.parametrize("stop", ["算了", "不改了 就原来的时间吧", "不用了"])
def test_a_stop_in_any_wording_leaves_the_booking_as_it_was(world, stop):
    who = sender()
    number = booked(who)
    form = reschedule(who)
    form.say("护士上门的时间能改一下吗", intent="reschedule_booking")
    said = form.say(stop, intent="deny")
    assert form.finished and "utter_visit_reschedule_abandoned" in said
    assert visit(number) == (date(2026, 11, 26), HalfDay.AFTERNOON)


def test_another_day_at_the_confirmation_corrects_the_new_time(world):
    who = sender()
    number = booked(who)
    form = reschedule(who)
    form.say("预约改到下周二下午", intent="reschedule_booking")
    said = form.say("不对 改到周五上午", intent="inform")
    assert "utter_form_corrected" in said and said[-1] == "utter_ask_reschedule_confirmed"
    assert (form.slots["visit_date"], form.slots["visit_half_day"]) == ("2026-11-27", "am")
    form.say("好的", intent="affirm")
    assert visit(number) == (date(2026, 11, 27), HalfDay.MORNING)


def test_someone_elses_booking_is_not_moved(world):
    number = booked(sender())
    who = sender()
    booked(who, day="2026-11-27")
    booked(who, day="2026-11-30")
    form = reschedule(who)
    said = form.say(f"把{number}改到下周二下午", intent="reschedule_booking")
    assert "utter_visit_reschedule_not_own" in said
    assert form.slots["reschedule_booking_no"] is None
    assert visit(number) == (date(2026, 11, 26), HalfDay.AFTERNOON)


def test_a_time_that_cannot_be_booked_is_asked_again(world):
    who = sender()
    booked(who)
    form = reschedule(who)
    said = form.say("改到昨天上午", intent="reschedule_booking")
    assert "utter_visit_date_past" in said and said[-1] == "utter_ask_visit_date"


def test_without_a_booking_nothing_is_asked(world):
    form = reschedule(sender())
    said = form.say("护士上门的时间能改一下吗", intent="reschedule_booking")
    assert said == ["utter_visit_reschedule_none"] and form.finished


# --- calling a booking off in the middle of asking for a new one ---------------------------


def _infusion(who: str) -> FormDriver:
    return FormDriver("infusion_form", ValidateInfusionForm(), ActionSubmitInfusion(), sender=who)


def test_the_booking_the_conversation_names_is_called_off_from_a_new_booking_form(world):
    who = sender()
    number = booked(who, day="2026-11-27", half_day="pm")
    form = _infusion(who)
    form.say("后天下午护士上门打针那个", intent="book_home_visit")
    said = form.say("不用来了 老头子住院了", intent="cancel_booking", confidence=0.96)
    assert form.finished and said[0].startswith("utter_visit_cancel")
    assert status(number) is BookingState.CANCELLED


def test_without_naming_a_booking_only_the_new_one_is_given_up(world):
    who = sender()
    number = booked(who, day="2026-12-01", half_day="am")
    form = _infusion(who)
    form.say("想约护士上门输液", intent="book_home_visit")
    form.say("不用来了", intent="cancel_booking", confidence=0.96)
    assert status(number) is not BookingState.CANCELLED
