"""Home visits in chat, with the action server's clock at 2026-11-25 15:45 (Wed).

Demo data: 康宁社区 (康乐苑, 人民路 ...) is covered by team east (two nurses, 3 + 2 places
per half-day); 幸福里社区 (幸福小区 ...) by team north (two nurses, one place each).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from bot.infra.db import create_engine, session_scope
from bot.models import (
    BookingState,
    Community,
    ElderlyCareClient,
    HalfDay,
    HomeVisitBooking,
    Nurse,
    StaffRole,
)
from bot.staff import create_invite
from bot.visits.booking import PatientDetails, request_infusion
from bot.visits.drugs import default_catalogue
from bot.visits.eligibility import (
    DrugSource,
    Health,
    InfusionRequest,
    PatientCondition,
    check_infusion_eligibility,
)
from tests.e2e.conftest import FROZEN_NOW, new_sender, texts

pytestmark = pytest.mark.e2e

# The questions of the infusion form, each by a word of it, with a good answer; a question
# is matched by the first key it contains (the drug question mentions the doctor's order).
GOOD_ANSWERS = {
    "目前的情况": "卧床不起",
    "什么药": "葡萄糖氯化钠",
    "别的药": "没有了",
    "从哪里来": "本中心开的",
    "首诊医院已经用过": "用过,没有不良反应",
    "任何不良反应": "没有",
    "病历在手边": "有",
    "医嘱": "/affirm",
    "过敏史": "都没有",
    "姓名": "王秀英",
    "联系电话": "19912345678",
    "详细地址": "康乐苑2幢301",
    "哪天上门": "明天",
    "上午还是下午": "上午",
}


def converse(assistant, sender: str, opening: str, **answers: str) -> str:
    """Start with `opening`, answer each question the form asks (by a word in it) from
    `answers` or GOOD_ANSWERS, and return everything said after the last answer."""
    chosen = {**GOOD_ANSWERS, **{key.replace("_", " "): value for key, value in answers.items()}}
    reply = texts(assistant.say(opening, sender))
    asked: set[str] = set()
    while True:
        question = next((key for key in chosen if key in reply.splitlines()[-1]), None)
        if question is None or question in asked:  # done, or asked again after an error
            return reply
        asked.add(question)
        reply = texts(assistant.say(chosen[question], sender))


def bookings(assistant, sender: str) -> list[HomeVisitBooking]:
    engine = create_engine(assistant.database_url)
    with session_scope(engine) as session:
        rows = list(
            session.scalars(
                select(HomeVisitBooking)
                .where(HomeVisitBooking.sender_id == sender)
                .order_by(HomeVisitBooking.id)
            )
        )
        session.expunge_all()
    engine.dispose()
    return rows


def test_an_eligible_infusion_is_booked_and_the_consent_form_is_asked_for(assistant):
    sender = new_sender()
    done = converse(assistant, sender, "我妈卧床好几年了 能不能上门打点滴", 目前的情况="以上都不是")
    [booking] = bookings(assistant, sender)
    assert booking.condition == "bedridden"  # read from the first message, not asked
    assert booking.state is BookingState.AWAITING_CONSENT
    assert booking.visit_date == date(2026, 11, 26)
    assert booking.half_day is HalfDay.MORNING
    assert booking.nurse_id is not None
    assert booking.booking_no.startswith("SY20261125-")
    assert booking.booking_no in done
    assert "11月26日（周四）上午" in done
    assert "《家庭输液治疗知情同意书》" in done

    checked = texts(assistant.say(f"查询预约 {booking.booking_no}", sender))
    assert "待签《家庭输液治疗知情同意书》" in checked


def test_the_first_message_can_carry_the_condition_and_the_day(assistant):
    sender = new_sender()
    done = converse(assistant, sender, "我爸瘫在床上 明天下午能派护士上门输液吗")
    [booking] = bookings(assistant, sender)
    assert booking.condition == "bedridden"
    assert (booking.visit_date, booking.half_day) == (date(2026, 11, 26), HalfDay.AFTERNOON)
    assert booking.booking_no in done


@pytest.mark.parametrize(
    ("answers", "reason", "citation"),
    [
        ({"目前的情况": "以上都不是"}, "行动不便的患者提供", "服务管理制度6 第1条"),
        ({"医嘱": "/deny"}, "医嘱", "服务管理制度6 第2条"),
        ({"什么药": "头孢曲松"}, "皮试", "服务管理制度6 第3条"),
        ({"什么药": "丹参注射液"}, "中成药针剂", "服务管理制度6 第3条"),
        ({"从哪里来": "不清楚"}, "来源不明", "服务管理制度6 第2条"),
        (
            {"从哪里来": "外院带来的", "首诊医院已经用过": "还没用过"},
            "首诊医院完成首次使用",
            "服务管理制度6 第5条",
        ),
        (
            {"从哪里来": "外院带来的", "首诊医院已经用过": "打过一次 但是起了疹子"},
            "出现了异常反应",
            "服务管理制度6 第5条",
        ),
        ({"过敏史": "她对青霉素过敏"}, "药物过敏史", "服务管理制度6 第3条"),
        ({"过敏史": "有禁忌症"}, "无禁忌症", "服务管理制度6 第1条"),
    ],
)
def test_a_refusal_says_which_rule_and_offers_the_centre(assistant, answers, reason, citation):
    sender = new_sender()
    said = converse(assistant, sender, "我想预约上门输液", **answers)
    assert "不能为您安排上门输液" in said
    assert reason in said
    assert citation in said
    assert "担架" in said and "轮椅" in said
    # Refused before any personal detail was asked, and kept without one.
    assert "姓名" not in said and "哪天上门" not in said
    [booking] = bookings(assistant, sender)
    assert booking.state is BookingState.REFUSED
    assert booking.nurse_id is None
    assert booking.patient_id is None


@pytest.mark.parametrize(
    "opening",
    ["医生开了葡萄糖加阿莫西林 想约护士上门输液", "我妈要打盐水和头孢，卧床起不来，能上门吗"],
)
def test_two_drugs_in_the_first_message_are_both_checked_and_refused_at_once(assistant, opening):
    sender = new_sender()
    said = texts(assistant.say(opening, sender))
    assert "不能为您安排上门输液" in said
    assert "皮试" in said
    assert "姓名" not in said
    [booking] = bookings(assistant, sender)
    assert booking.state is BookingState.REFUSED


def test_a_known_drug_beside_an_unknown_one_waits_for_the_pharmacist(assistant):
    sender = new_sender()
    said = converse(assistant, sender, "预约出诊输液", 什么药="葡萄糖加血必净")
    assert "药剂人员审核" in said
    [booking] = bookings(assistant, sender)
    assert booking.state is BookingState.REQUESTED
    assert "血必净" in booking.review_note


def test_the_nurses_list_flags_an_outside_drug_and_what_the_family_said(assistant):
    family = new_sender()
    converse(assistant, family, "我想预约上门输液", 从哪里来="外院带来的")
    [booking] = bookings(assistant, family)
    assert booking.state is BookingState.AWAITING_CONSENT
    engine = create_engine(assistant.database_url)
    with session_scope(engine) as session:
        nurse = session.get(Nurse, booking.nurse_id)
        assert nurse is not None
        invite, code = create_invite(session=session, name=nurse.name, role=StaffRole.NURSE)
        nurse.invite_id = invite.id
    engine.dispose()
    nurse_sender = new_sender()
    assistant.say(f"员工绑定码 {code}", nurse_sender)
    listed = texts(assistant.say("我明天的出诊", nurse_sender))
    assert booking.booking_no in listed
    assert "外院药品" in listed
    assert "无不良反应" in listed


def test_an_unknown_drug_goes_to_the_pharmacist(assistant):
    sender = new_sender()
    said = converse(assistant, sender, "预约出诊输液", 什么药="某某进口特效针")
    assert "药剂人员审核" in said
    [booking] = bookings(assistant, sender)
    assert booking.state is BookingState.REQUESTED
    assert booking.nurse_id is None
    assert "某某进口特效针" in booking.review_note


def test_a_booking_is_cancelled_only_by_its_owner(assistant):
    owner, stranger = new_sender(), new_sender()
    converse(assistant, owner, "帮我约一下上门输液")
    [booking] = bookings(assistant, owner)
    number = booking.booking_no

    assert "没有找到您名下的预约" in texts(assistant.say(f"查询预约 {number}", stranger))
    assert "没有找到您名下的预约" in texts(assistant.say(f"取消预约 {number}", stranger))
    assert bookings(assistant, owner)[0].state is BookingState.AWAITING_CONSENT

    cancelled = texts(assistant.say(f"取消预约 {number}", owner))
    assert f"已取消预约 {number}" in cancelled
    assert bookings(assistant, owner)[0].state is BookingState.CANCELLED


def test_an_address_outside_every_community_is_explained(assistant):
    sender = new_sender()
    said = converse(assistant, sender, "我想预约上门输液", 详细地址="火星路1号")
    assert "不在本中心的上门服务范围内" in said
    assert "康宁社区" in said
    assert "详细地址" in said.splitlines()[-1]  # asked again
    assert bookings(assistant, sender) == []


@pytest.mark.parametrize(
    ("day", "reply"), [("12月20日", "14 天内"), ("11月20日", "已经过去了"), ("今天", "已经开始")]
)
def test_a_day_outside_the_window_is_refused(assistant, day, reply):
    sender = new_sender()
    said = converse(assistant, sender, "我想预约上门输液", 哪天上门=day)
    assert reply in said
    assert bookings(assistant, sender) == []


def test_a_full_half_day_offers_the_next_free_ones(assistant):
    engine = create_engine(assistant.database_url)
    request = InfusionRequest(
        condition=PatientCondition.BEDRIDDEN,
        has_doctor_order=True,
        drug_text="生理盐水",
        drug_source=DrugSource.PRESCRIBED_HERE,
        health=Health.NONE,
    )
    decision = check_infusion_eligibility(request, default_catalogue())
    for n in range(2):  # team north has two places on Friday morning
        with session_scope(engine) as session:
            xingfu = session.scalars(select(Community).where(Community.code == "xingfu")).one()
            request_infusion(
                session=session,
                sender_id=f"web:filler{n}",
                channel="rest",
                patient=PatientDetails(f"病人{n}", "19900009999", "幸福小区1幢"),
                community=xingfu,
                request=request,
                decision=decision,
                day=date(2026, 11, 27),
                half_day=HalfDay.MORNING,
                now=datetime.fromisoformat(FROZEN_NOW),
            )
    engine.dispose()
    sender = new_sender()
    answers = {**GOOD_ANSWERS, "详细地址": "幸福小区3栋201", "哪天上门": "11月27日上午"}
    replies = assistant.say("我想预约上门输液", sender)
    for _ in range(10):
        last = texts(replies).splitlines()[-1]
        key = next((k for k in answers if k in last), None)
        if key is None or "约满" in texts(replies):
            break
        replies = assistant.say(answers[key], sender)
    said = texts(replies)
    assert "约满" in said
    buttons = [b["title"] for r in replies for b in r.get("buttons", [])]
    assert buttons[0] == "11月27日（周五）下午"
    assert bookings(assistant, sender) == []
    done = texts(assistant.say(buttons[0], sender))
    [booking] = bookings(assistant, sender)
    assert (booking.visit_date, booking.half_day) == (date(2026, 11, 27), HalfDay.AFTERNOON)
    assert booking.booking_no in done


def test_a_bound_nurse_sees_tomorrows_visits(assistant):
    family = new_sender()
    converse(assistant, family, "我想预约上门输液")
    [booking] = bookings(assistant, family)
    engine = create_engine(assistant.database_url)
    with session_scope(engine) as session:
        nurse = session.get(Nurse, booking.nurse_id)
        assert nurse is not None
        invite, code = create_invite(session=session, name=nurse.name, role=StaffRole.NURSE)
        nurse.invite_id = invite.id
    engine.dispose()
    nurse_sender = new_sender()
    assert "绑定成功" in texts(assistant.say(f"员工绑定码 {code}", nurse_sender))
    listed = texts(assistant.say("我明天的出诊", nurse_sender))
    assert booking.booking_no in listed
    assert "王秀英" in listed
    assert "只对本中心的护士开放" in texts(assistant.say("我明天的出诊", new_sender()))


def test_an_elderly_person_is_registered_with_follow_up_visits(assistant):
    sender = new_sender()
    assert "姓名" in texts(assistant.say("我想给老人申请居家养老上门服务", sender))
    assistant.say("张桂兰", sender)
    assistant.say("19912340001", sender)
    assert "哪些" in texts(assistant.say("和园小区7幢101", sender))
    assert "哪天" in texts(assistant.say("助餐和打扫卫生", sender))
    summary = texts(assistant.say("后天上午", sender))
    assert "请确认" in summary and "和园小区7幢101" in summary and "助餐、助洁" in summary
    done = texts(assistant.say("对的", sender))
    assert "档案号" in done
    assert "助餐、助洁" in done
    assert "回访" in done and "12月4日" in done
    assert "每季度核实一次" in done and "下次季度核实" in done
    engine = create_engine(assistant.database_url)
    with session_scope(engine) as session:
        client = session.scalars(
            select(ElderlyCareClient).where(ElderlyCareClient.phone == "19912340001")
        ).one()
        assert client.service_items == "助餐、助洁"
        # The service visit, the centre's two follow-ups and the next quarterly re-check.
        assert len(client.visits) == 4
    engine.dispose()
    listed = texts(assistant.say("查一下我的预约", sender))
    assert "张桂兰" in listed and "定期回访" in listed


def test_a_booking_is_moved_to_another_half_day(assistant):
    sender = new_sender()
    converse(assistant, sender, "我想预约上门输液")
    [booking] = bookings(assistant, sender)
    number = booking.booking_no
    too_far = texts(assistant.say(f"把{number}改到12月25日上午", sender))
    assert "14 天内" in too_far
    [unchanged] = bookings(assistant, sender)
    assert unchanged.visit_date == booking.visit_date
    # The move is shown and confirmed before it is made.
    confirm = texts(assistant.say("后天下午", sender))
    assert "11月27日（周五）下午" in confirm and "确认" in confirm
    [still] = bookings(assistant, sender)
    assert still.visit_date == booking.visit_date
    moved = texts(assistant.say("/affirm", sender))
    assert "11月27日（周五）下午" in moved
    [after] = bookings(assistant, sender)
    assert (after.visit_date, after.half_day) == (date(2026, 11, 27), HalfDay.AFTERNOON)
    assert after.state is BookingState.AWAITING_CONSENT
    refused = texts(assistant.say(f"把{number}改到明天上午"))
    assert "名下" in refused and "没有" in refused
