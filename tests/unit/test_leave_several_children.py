"""A leave for several children at once, driven through the leave form without a model:
a parent bound to 张子涵 (三年级) and 张子轩 (四年级) of 实验小学 asks for both, in the first
message or in answer to "which child?"; each child is checked by its own school's rules,
confirmed together and recorded together. A name or "大的那个" still picks one child."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.school import (
    ActionAskLeaveConfirmed,
    ActionAskLeaveStudent,
    ActionSubmitLeave,
    ValidateLeaveForm,
)
from bot.infra import db
from bot.infra import settings as bot_settings
from bot.models import LeaveRequest, Student
from bot.school import service
from tests.formdriver import FormDriver

WEDNESDAY_MORNING = "2026-11-25T09:00:00+08:00"
THURSDAY = "2026-11-26"
BOTH = ("张子涵", "张子轩")


@pytest.fixture()
def world(service_database, monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("FROZEN_NOW", WEDNESDAY_MORNING)
    bot_settings.get_settings.cache_clear()
    yield service_database
    bot_settings.get_settings.cache_clear()


def parent() -> str:
    """A sender bound to both children of 张伟."""
    who = f"web:{uuid.uuid4().hex[:12]}"
    now = datetime.fromisoformat(WEDNESDAY_MORNING)
    for student_no in ("2024010101", "2023010301"):
        service.bind_guardian_by_phone(
            sender_id=who, student_no=student_no, phone="19900001001", now=now
        )
    return who


def leave_form(who: str) -> FormDriver:
    return FormDriver("leave_form", ValidateLeaveForm(), ActionSubmitLeave(), sender=who)


def leaves_recorded(who: str) -> dict[str, list[str]]:
    with db.session_scope() as session:
        rows = session.execute(
            select(Student.name, LeaveRequest.care_date)
            .join(Student, Student.id == LeaveRequest.student_id)
            .where(LeaveRequest.requested_by == who)
        ).all()
    recorded: dict[str, list[str]] = {}
    for name, day in rows:
        recorded.setdefault(name, []).append(day.isoformat())
    return recorded


def run_ask(action, form: FormDriver) -> list[dict]:
    tracker = Tracker(form.sender, dict(form.slots), {}, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker, {})
    return dispatcher.messages


@pytest.mark.parametrize(
    "first", ["两个孩子明天都请假 全家回老家", "俩孩子明天都不去了 全家回老家"]
)
def test_both_children_in_the_first_message_are_confirmed_and_recorded_together(world, first):
    who = parent()
    form = leave_form(who)
    said = form.say(first, intent="request_leave")
    assert "utter_ask_leave_student" not in said
    assert said[-1] == "utter_ask_leave_confirmed"
    [confirm] = run_ask(ActionAskLeaveConfirmed(), form)
    assert confirm["student_name"] == "张子涵、张子轩"
    said = form.say("确认", intent="affirm")
    assert form.finished and said.count("utter_leave_recorded") == 2
    assert leaves_recorded(who) == {name: [THURSDAY] for name in BOTH}


@pytest.mark.parametrize("answer", ["两个都请", "都请", "俩孩子都不去了"])
def test_both_children_in_answer_to_which_child(world, answer):
    who = parent()
    form = leave_form(who)
    said = form.say("孩子明天请假 发烧了", intent="request_leave")
    assert said[-1] == "utter_ask_leave_student"
    said = form.say(answer, intent="inform")
    assert said[-1] == "utter_ask_leave_confirmed"
    form.say("对", intent="affirm")
    assert leaves_recorded(who) == {name: [THURSDAY] for name in BOTH}


def test_the_which_child_buttons_offer_both(world):
    form = leave_form(parent())
    [ask] = run_ask(ActionAskLeaveStudent(), form)
    assert [button["title"] for button in ask["buttons"]] == [*BOTH, "都请"]


@pytest.mark.parametrize(
    ("words", "child"), [("大的那个", "张子轩"), ("小的", "张子涵"), ("子涵", "张子涵")]
)
def test_one_child_is_picked_by_name_or_by_age(world, words, child):
    who = parent()
    form = leave_form(who)
    form.say("孩子明天请假 发烧了", intent="request_leave")
    form.say(words, intent="inform")
    form.say("确认", intent="affirm")
    assert leaves_recorded(who) == {child: [THURSDAY]}


def test_each_child_is_checked_by_its_own_rules_and_a_refused_one_is_left_out(world):
    who = parent()
    # 张子轩 is no longer enrolled in care from Thursday on: only 张子涵's leave is taken.
    with db.session_scope() as session:
        student = session.scalars(select(Student).where(Student.name == "张子轩")).one()
        for enrollment in student.enrollments:
            enrollment.ends_on = date(2026, 11, 25)
    form = leave_form(who)
    said = form.say("两个孩子明天都请假 全家回老家", intent="request_leave")
    assert "utter_leave_not_enrolled" in said and said[-1] == "utter_ask_leave_confirmed"
    [confirm] = run_ask(ActionAskLeaveConfirmed(), form)
    assert confirm["student_name"] == "张子涵"
    form.say("确认", intent="affirm")
    assert leaves_recorded(who) == {"张子涵": [THURSDAY]}


def test_a_stop_leaves_nothing_for_either_child(world):
    who = parent()
    form = leave_form(who)
    form.say("两个孩子明天都请假 去奶奶家", intent="request_leave")
    form.say("算了 不请了", intent="cancel_leave")
    assert form.finished and leaves_recorded(who) == {}


@pytest.mark.parametrize(
    "question", ["学校那个晚托是不是必须得去啊 我家娃不想留", "看护可以不参加吗"]
)
def test_whether_care_must_be_attended_gets_the_care_times_not_a_leave_form(world, question):
    who = parent()
    form = leave_form(who)
    said = form.say(question, intent="request_leave", confidence=0.99)
    assert said[0] == "utter_care_times" and not any(r.startswith("utter_ask_") for r in said)
    assert form.finished and leaves_recorded(who) == {}


def test_a_question_with_a_day_in_it_is_still_a_leave(world):
    form = leave_form(parent())
    said = form.say("两个孩子明天必须请假吗 去奶奶家", intent="request_leave", confidence=0.99)
    assert "utter_care_times" not in said and not form.finished


def test_after_the_cutoff_each_child_is_refused_by_name(world, monkeypatch):
    monkeypatch.setenv("FROZEN_NOW", "2026-11-25T16:00:00+08:00")
    bot_settings.get_settings.cache_clear()
    who = parent()
    form = leave_form(who)
    said = form.say("两个孩子今天都请假 家里有事", intent="request_leave")
    assert said.count("utter_leave_too_late") == 2
    assert form.finished and leaves_recorded(who) == {}


def test_two_weeks_is_about_the_days_not_the_children(world):
    form = leave_form(parent())
    said = form.say("孩子要请两个星期的假 从明天开始", intent="request_leave")
    assert "utter_ask_leave_student" in said
