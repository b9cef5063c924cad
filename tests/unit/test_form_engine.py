"""The form engine (actions/forms.py) as people use every form: a stop in plain words ends
any form and stores nothing, a correction changes the slot it names and keeps the rest, and
no question is asked a third time after two answers the form could not use."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.complaints import ActionSubmitComplaint, ValidateComplaintForm
from actions.contact import ActionContact
from actions.gas import ActionGasAnswer, ValidateGasAccountForm
from actions.school import (
    ActionSubmitBindStudent,
    ActionSubmitLeave,
    ValidateBindStudentForm,
    ValidateLeaveForm,
    _other_child_named,
)
from actions.visits import (
    ActionSubmitCare,
    ActionSubmitInfusion,
    ValidateCareForm,
    ValidateInfusionForm,
)
from bot.gas.accounts import bindings_of
from bot.infra import db
from bot.infra import settings as bot_settings
from bot.models import Complaint, ElderlyCareClient, HomeVisitBooking, StaffMember, StaffRole
from bot.school.binding import children_of
from bot.school.service import Child
from tests.formdriver import FormDriver, domain

FROZEN_NOW = "2026-11-25T09:00:00+08:00"  # a Wednesday morning, before every cutoff


@pytest.fixture()
def world(service_database, monkeypatch) -> Iterator[str]:
    """The actions read a fresh copy of the demo database (tests/unit/conftest.py) at the
    frozen time."""
    monkeypatch.setenv("FROZEN_NOW", FROZEN_NOW)
    bot_settings.get_settings.cache_clear()
    yield service_database
    bot_settings.get_settings.cache_clear()


def sender() -> str:
    return f"web:{uuid.uuid4().hex[:12]}"


def count(model: type, who: str, column) -> int:
    with db.session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(column == who)))


def complaint(who: str) -> FormDriver:
    return FormDriver(
        "complaint_form", ValidateComplaintForm(), ActionSubmitComplaint(), sender=who
    )


def leave(who: str) -> FormDriver:
    return FormDriver("leave_form", ValidateLeaveForm(), ActionSubmitLeave(), sender=who)


@pytest.mark.parametrize("stop", ["我没要投诉", "我不是投诉 我是员工", "算了", "不投诉了"])
def test_a_stop_in_plain_words_ends_a_complaint_and_stores_nothing(world, stop):
    who = sender()
    form = complaint(who)
    form.say("我要投诉", intent="file_complaint")
    said = form.say(stop, intent="inform")
    assert "utter_complaint_abandoned" in said
    assert form.finished and form.slots["complaint_staff"] is None
    assert count(Complaint, who, Complaint.sender_id) == 0


def test_stop_words_are_never_stored_as_the_patients_name(world):
    who = sender()
    form = FormDriver("infusion_form", ValidateInfusionForm(), ActionSubmitInfusion(), sender=who)
    form.say("我想预约上门输液", intent="book_home_visit")
    said = form.say("不预约了", intent="inform")
    assert "utter_visit_abandoned" in said and form.finished
    assert form.slots["visit_patient_name"] is None
    assert count(HomeVisitBooking, who, HomeVisitBooking.sender_id) == 0


def bound_leave(who: str, request: str = "孩子明天请假") -> FormDriver:
    form = leave(who)
    form.say(request, intent="request_leave")
    form.say("2024010101")
    said = form.say("19900001001")
    assert "utter_student_bound" in said
    return form


def test_a_correction_changes_the_date_and_keeps_the_reason(world):
    who = sender()
    form = bound_leave(who)
    assert form.slots["leave_dates"] == ["2026-11-26"]
    form.say("发烧了")
    assert form.slots["requested_slot"] == "leave_confirmed"
    said = form.say("不对,是后天")
    assert "utter_form_corrected" in said
    assert form.slots["leave_dates"] == ["2026-11-27"]
    assert form.slots["leave_reason"] == "发烧了"
    assert said[-1] == "utter_ask_leave_confirmed"


def test_a_correction_in_the_middle_is_not_taken_as_the_answer(world):
    who = sender()
    form = bound_leave(who)
    assert form.slots["requested_slot"] == "leave_reason"
    form.say("改成周五")
    assert form.slots["leave_dates"] == ["2026-11-27"]
    assert form.slots["leave_reason"] is None
    assert form.slots["requested_slot"] == "leave_reason"


def test_narrowing_two_days_to_one_at_the_confirmation_keeps_only_that_day(world):
    who = sender()
    form = leave(who)
    form.say(
        "韦嘉怡明天后天两天看护都不去了 跟她爸去外地喝喜酒 学号2025020201 手机19900001041",
        intent="request_leave",
    )
    assert form.slots["leave_reason"] == "跟她爸去外地喝喜酒"
    assert form.slots["requested_slot"] == "leave_confirmed"
    said = form.say("哎等等 她爸刚说明天走不了 礼拜五早上才走 那就只请后天一天 明天照常去看护")
    assert "utter_form_corrected" in said
    assert form.slots["leave_dates"] == ["2026-11-27"]
    assert form.slots["leave_reason"] == "跟她爸去外地喝喜酒"


def test_a_day_taken_back_while_the_reason_is_asked_changes_the_days_and_stops_nothing(world):
    form = bound_leave(sender(), "明天后天请假")
    assert form.slots["requested_slot"] == "leave_reason"
    said = form.say("等一下 明天不请了 只请后天")
    assert "utter_form_corrected" in said and not form.finished
    assert form.slots["leave_dates"] == ["2026-11-27"]
    assert form.slots["leave_reason"] is None
    assert form.slots["requested_slot"] == "leave_reason"


def test_a_polite_no_with_a_day_in_it_still_stops_the_leave(world):
    who = sender()
    form = bound_leave(who)
    assert form.slots["requested_slot"] == "leave_reason"
    said = form.say("不用了谢谢 明天再说")
    assert "utter_leave_abandoned" in said and form.finished
    assert form.slots["leave_reason"] is None


def test_no_question_is_asked_a_third_time(world):
    who = sender()
    form = complaint(who)
    form.say("我要投诉", intent="file_complaint")
    asked = form.slots["requested_slot"]
    form.say("嗯嗯嗯")
    assert form.slots["requested_slot"] == asked and not form.finished
    said = form.say("啊啊啊")
    assert "utter_form_stuck" in said and form.finished
    assert count(Complaint, who, Complaint.sender_id) == 0


def gas(who: str) -> FormDriver:
    return FormDriver("gas_account_form", ValidateGasAccountForm(), ActionGasAnswer(), sender=who)


def _as_staff(who: str) -> None:
    with db.session_scope() as session:
        session.add(StaffMember(sender_id=who, name="抄表员小严", role=StaffRole.STAFF))


def test_a_meter_readers_question_whether_estimating_is_allowed_ends_the_gas_form(world):
    who = sender()
    _as_staff(who)
    form = gas(who)
    said = form.say(
        "敲了半天门家里没人 我照上个月的数差不多估一个填上行不行啊 反正也差不了多少",
        intent="check_gas_bill",
    )
    assert not form.active and "utter_ask_gas_account_no" not in said
    assert said[0].startswith("utter_policy")


@pytest.mark.parametrize(
    "text",
    [
        "敲了半天门家里没人 我照上个月的数差不多估一个填上行不行啊 反正也差不了多少",
        "收钱那会儿碰着张一百的 摸着不大对劲 排队的人又多 俺就直接收了得了呗",
    ],
)
def test_a_verified_staff_members_question_read_as_a_complaint_files_none(world, text):
    who = sender()
    _as_staff(who)
    form = complaint(who)
    said = form.say(text, intent="file_complaint")
    assert not form.active and said[0].startswith("utter_policy")
    assert count(Complaint, who, Complaint.sender_id) == 0


def test_a_customers_complaint_asking_if_it_is_allowed_stays_a_complaint(world):
    form = complaint(sender())
    form.say("营业员上班时间一直玩手机 这合规定吗 行不行啊", intent="file_complaint")
    assert form.active and form.slots["requested_slot"] is not None


def test_saying_one_is_staff_makes_a_question_in_the_gas_form_the_regulations(world):
    form = gas(sender())
    form.say("抄表的事问一下", intent="ask_meter_schedule")
    said = form.say("我是抄表员 问能不能估着填表数", intent="ask_meter_schedule")
    assert not form.active and said[0].startswith("utter_policy")


@pytest.mark.parametrize(
    "text", ["我家燃气费能不能微信交", "我是员工 能不能查下我家的燃气费", "能不能查燃气费"]
)
def test_a_customers_question_stays_in_the_gas_form(world, text):
    who = sender()
    _as_staff(who)  # staff are customers at home too
    form = gas(who)
    said = form.say(text, intent="check_gas_bill")
    assert form.active and said[-1] == "utter_ask_gas_account_no"


def test_a_binding_that_also_asks_the_bill_is_answered_with_the_bill(world):
    who = sender()
    form = gas(who)
    said = form.say(
        "再帮我绑个我妈家的燃气 户号31001006 她手机尾号2006 绑好了告诉我她家最近一期多少钱",
        intent="bind_gas_account",
    )
    assert form.finished and "utter_gas_statement" in said
    assert "31001006" in bound_accounts(who)


def bound_accounts(who: str) -> list[str]:
    with db.session_scope() as session:
        return [b.account.account_no for b in bindings_of(session=session, sender_id=who)]


def test_the_account_and_the_phone_digits_in_the_first_message_verify_at_once(world):
    who = sender()
    form = gas(who)
    said = form.say("查燃气费 户号31001006 尾号2006", intent="check_gas_bill")
    assert "utter_gas_bound" in said and form.finished
    assert bound_accounts(who) == ["31001006"]


def test_both_answers_in_the_reply_to_the_first_question_are_taken(world):
    who = sender()
    form = gas(who)
    form.say("查燃气费", intent="check_gas_bill")
    assert form.slots["requested_slot"] == "gas_account_no"
    said = form.say("3100 1005 手机后四位 二零零五")
    assert "utter_gas_bound" in said
    assert not any(name.startswith("utter_ask_gas_phone") for name in said)


def test_a_corrected_account_number_with_its_digits_binds_the_corrected_account(world):
    who = sender()
    form = gas(who)
    form.say("帮我看看我家燃气预存的钱还剩多少 户号31001011", intent="check_gas_bill")
    assert form.slots["requested_slot"] == "gas_phone_last4"
    said = form.say("哎不对 户号我抄成对门的了 我家是31001015 手机尾号2015")
    assert "utter_gas_bound" in said and "utter_gas_bind_no_match" not in said
    assert bound_accounts(who) == ["31001015"]


def test_a_corrected_account_number_alone_is_asked_its_own_digits(world):
    who = sender()
    form = gas(who)
    form.say("查燃气费 户号31001011", intent="check_gas_bill")
    said = form.say("不对 户号是31001015")
    assert "utter_gas_bind_no_match" not in said and "utter_gas_phone_invalid" not in said
    assert form.slots["gas_account_no"] == "31001015"
    assert form.slots["requested_slot"] == "gas_phone_last4"
    said = form.say("2015")
    assert "utter_gas_bound" in said and bound_accounts(who) == ["31001015"]


def test_a_bill_question_that_also_asks_the_reading_day_gets_both_answers(world):
    who = sender()
    form = gas(who)
    said = form.say(
        "你好 小城咖啡馆的 户号32002008 手机尾号2024 问两个事 上个月气费多少钱 "
        "还有你们抄表的每个月几号来 我好留人开门",
        intent="check_gas_bill",
    )
    assert form.finished and "utter_gas_statement" in said
    assert said[-1] == "utter_gas_schedule_bound"


def test_full_width_digits_are_an_account_number(world):
    who = sender()
    form = gas(who)
    form.say("查燃气费", intent="check_gas_bill")
    form.say("３１００１００７")
    assert form.slots["gas_account_no"] == "31001007"


def test_another_day_given_at_the_confirmation_corrects_the_date(world):
    who = sender()
    form = bound_leave(who)
    form.say("去奶奶家")
    assert form.slots["requested_slot"] == "leave_confirmed"
    said = form.say("不是 周五呢")
    assert "utter_form_corrected" in said
    assert form.slots["leave_dates"] == ["2026-11-27"] and not form.finished


def test_a_correction_may_give_what_is_not_asked_yet_and_the_question_is_asked_again(world):
    who = sender()
    form = FormDriver("infusion_form", ValidateInfusionForm(), ActionSubmitInfusion(), sender=who)
    form.say("婆婆行动不便 想约护士上门输液", intent="book_home_visit")
    form.say("生理盐水")
    form.say("本中心开的")
    asked = form.slots["requested_slot"]
    said = form.say("不对 改成下周一上午")
    assert "utter_form_corrected" in said and not form.finished
    assert form.slots["visit_date"] == "2026-11-30"
    assert form.slots["requested_slot"] == asked
    assert count(HomeVisitBooking, who, HomeVisitBooking.sender_id) == 0


def test_the_student_number_phone_and_date_in_the_first_message_are_not_asked_again(world):
    who = sender()
    form = leave(who)
    said = form.say("学号2024010102 家长电话19900001003 明天请假 发烧了", intent="request_leave")
    assert "utter_student_bound" in said
    assert not any(name in said for name in ("utter_ask_student_no", "utter_ask_guardian_phone"))
    assert form.slots["leave_dates"] == ["2026-11-26"]
    assert said[-1] == "utter_ask_leave_confirmed"


def test_a_complaint_after_a_gas_emergency_keeps_what_the_emergency_message_described(world):
    who = sender()
    form = complaint(who)
    hazard = "投诉 建设路19号楼道燃气管道接口漏气 师傅看了一眼就走了"
    before = {"event": "user", "text": hazard, "parse_data": {"intent": {"name": "gas_leak"}}}
    form.history.append(before)
    form.say("我已经在楼外了 我是要投诉那个维修师傅", intent="file_complaint")
    assert "接口漏气" in form.slots["complaint_description"]


def test_a_complaint_that_starts_by_telling_of_a_leak_is_warned_of_it_first(world):
    form = complaint(sender())
    said = form.say(
        "投诉 建设路19号楼道燃气管道接口漏气 师傅来看了一眼说没事就走了 现在还有味道",
        intent="file_complaint",
    )
    assert said[0] == "utter_gas_leak" and said[-1].startswith("utter_ask_")
    assert "接口漏气" in form.slots["complaint_description"]


def test_a_complaint_right_after_the_leak_was_answered_is_not_warned_again(world):
    form = complaint(sender())
    hazard = "楼道燃气管道接口漏气 师傅来看了一眼说没事就走了"
    form.history.append(
        {"event": "user", "text": hazard, "parse_data": {"intent": {"name": "gas_leak"}}}
    )
    said = form.say("我已经在楼外了 我是要投诉那个维修师傅 漏气不管就走", intent="file_complaint")
    assert "utter_gas_leak" not in said


def test_what_happened_told_as_the_kind_of_problem_stays_in_the_description(world):
    who = sender()
    form = complaint(who)
    form.say("投诉", intent="file_complaint")
    form.say("抄表的")
    said = form.say("压根没来过 账单上的数是估的")
    assert form.slots["complaint_category"] and said[-1] == "utter_ask_complaint_description"
    form.say("多收了俺一百多方的钱")
    told = "压根没来过 账单上的数是估的；多收了俺一百多方的钱"
    assert form.slots["complaint_description"] == told


def test_a_kind_of_problem_not_named_twice_is_filed_as_other(world):
    who = sender()
    form = complaint(who)
    form.say("投诉", intent="file_complaint")
    form.say("抄表的")
    assert form.slots["requested_slot"] == "complaint_category"
    said = form.say("这俺哪说得好")
    assert said[-1] == "utter_ask_complaint_category" or "utter_complaint_category_unknown" in said
    said = form.say("俺也不知道算哪样")
    assert "utter_complaint_category_other" in said and not form.finished
    assert form.slots["complaint_category"] == "other"
    assert form.slots["requested_slot"] == "complaint_description"
    # What happened then says which kind it is; their "don't know" is no part of it.
    form.say("抄表的压根没进门 照上个月的数估了一个 这个月气费贵了一百多")
    assert form.slots["complaint_category"] == "billing"
    assert form.slots["complaint_description"].startswith("抄表的压根没进门")


def test_a_kind_chosen_as_other_stays_other(world):
    form = complaint(sender())
    form.say("投诉", intent="file_complaint")
    form.say("抄表的")
    form.say("其他")
    assert form.slots["complaint_category"] == "other"
    form.say("抄表的压根没进门 照上个月的数估了一个")
    assert form.slots["complaint_category"] == "other"


def test_an_emergency_chosen_by_button_keeps_the_message_that_described_it(world):
    who = sender()
    form = complaint(who)
    hazard = "投诉 建设路19号楼道燃气管道接口漏气 师傅来看了一眼说没事就走了"
    unsure = {"intent": {"name": "nlu_fallback"}}
    chosen = {"intent": {"name": "gas_leak"}}
    form.history += [
        {"event": "user", "text": hazard, "parse_data": unsure},
        {"event": "user", "text": "/gas_leak", "parse_data": chosen},
    ]
    form.say("我已经在楼外了 我是要投诉那个维修师傅 漏气不管就走", intent="file_complaint")
    assert "接口漏气" in form.slots["complaint_description"]
    assert form.slots["complaint_category"] == "safety"


def test_a_mistyped_account_number_is_corrected_before_the_phone_digits(world):
    who = sender()
    form = gas(who)
    form.say("查燃气费", intent="check_gas_bill")
    form.say("31001010")
    assert form.slots["requested_slot"] == "gas_phone_last4"
    said = form.say("输错了 是31001011")
    assert "utter_form_corrected" in said
    assert form.slots["gas_account_no"] == "31001011"
    assert form.slots["requested_slot"] == "gas_phone_last4"


def test_checks_that_did_not_match_twice_stop_with_a_verification_reason(world):
    form = gas(sender())
    form.say("查燃气费", intent="check_gas_bill")
    form.say("31001012")
    form.say("不对 户号是31001012 尾号1111")
    form.say("不对 户号是31001013 尾号1112")
    said = form.say("户号31001014 尾号1113")
    assert form.finished and "utter_gas_verification_stuck" in said
    assert "utter_form_stuck" not in said


def test_an_account_number_misread_twice_stops_with_the_general_reason(world):
    form = gas(sender())
    form.say("查燃气费", intent="check_gas_bill")
    form.say("我不记得是多少了 好像是3100")
    said = form.say("310010")
    assert form.finished and "utter_form_stuck" in said


def test_another_drug_named_at_a_yes_no_question_is_added_never_swapped_for_the_first(world):
    who = sender()
    form = FormDriver("infusion_form", ValidateInfusionForm(), ActionSubmitInfusion(), sender=who)
    form.say("我妈卧床 想约护士上门打葡萄糖氯化钠", intent="book_home_visit")
    assert form.slots["requested_slot"] == "visit_drug_more"
    form.say("还有维生素C")
    assert "葡萄糖氯化钠" in (form.slots["visit_drug"] or "")


def test_a_form_started_by_a_button_reads_the_message_before_it(world):
    who = sender()
    form = leave(who)
    misread = "学号2024010104 家长手机19900001006 孩子发烧了明天不参加课后看护"
    form.history.append({"event": "user", "text": misread, "parse_data": {}})
    said = form.say("/request_leave", intent="request_leave")
    assert "utter_student_bound" in said
    assert not any(name in said for name in ("utter_ask_student_no", "utter_ask_guardian_phone"))
    assert form.slots["leave_dates"] == ["2026-11-26"]
    assert "发烧" in (form.slots["leave_reason"] or "")
    assert said[-1] == "utter_ask_leave_confirmed"


def test_a_second_child_is_bound_with_the_number_and_phone_given_together(world):
    who = sender()
    form = FormDriver(
        "bind_student_form", ValidateBindStudentForm(), ActionSubmitBindStudent(), sender=who
    )
    said = form.say("绑定孩子 学号2023010301 电话19900001001", intent="bind_student")
    assert "utter_student_bound" in said and form.finished


def test_a_forgotten_number_is_told_where_to_find_and_the_phone_with_it_is_not_asked(world):
    who = sender()
    form = FormDriver(
        "bind_student_form", ValidateBindStudentForm(), ActionSubmitBindStudent(), sender=who
    )
    said = form.say("我要绑定孩子 我儿子叫蒋睿泽 学号我不记得了", intent="bind_student")
    assert said == ["utter_student_no_where", "utter_ask_student_no"]
    said = form.say("翻到了 学号2025020106 我是他爸 手机19900001037")
    assert "utter_ask_guardian_phone" not in said
    assert "utter_student_bound" in said and form.finished


def test_binding_a_child_stops_in_plain_words_and_binds_nothing(world):
    who = sender()
    form = FormDriver(
        "bind_student_form", ValidateBindStudentForm(), ActionSubmitBindStudent(), sender=who
    )
    form.say("我要绑定孩子", intent="bind_student")
    form.say("2023010301")
    said = form.say("算了 不绑了")
    assert form.finished and "utter_student_bound" not in said
    with db.session_scope() as session:
        assert children_of(session=session, sender_id=who) == []


def test_elderly_care_takes_the_services_from_the_first_message_and_registers(world):
    who = sender()
    form = FormDriver("care_form", ValidateCareForm(), ActionSubmitCare(), sender=who)
    said = form.say("想给我妈申请居家养老上门服务 送饭和打扫卫生", intent="elderly_care")
    assert "utter_ask_care_items" not in said
    form.say("何秀兰")
    form.say("13812345615")
    form.say("康乐苑8幢101")
    form.say("后天")
    said = form.say("下午")
    assert said[-1] == "utter_ask_care_confirmed"
    said = form.say("对", intent="affirm")
    assert form.finished and "utter_care_registered" in said


def test_elderly_care_read_from_words_run_together_by_voice_input(world):
    who = sender()
    form = FormDriver("care_form", ValidateCareForm(), ActionSubmitCare(), sender=who)
    said = form.say(
        "我奶奶甘秀珍一个人住在滨江路20号3单元501电话13812345771"
        "想给她申请每天送个午饭再找人陪她说说话下礼拜四开始就行",
        intent="elderly_care",
    )
    # 20号 is the house, not the 20th: the day is next Thursday; nothing given is asked.
    assert said == ["utter_ask_visit_half_day"]
    assert form.slots["visit_patient_name"] == "甘秀珍"
    assert form.slots["visit_address"] == "滨江路20号3单元501"
    assert form.slots["visit_phone"] == "13812345771"
    assert form.slots["care_items"] == "助餐、陪护"
    assert form.slots["visit_date"] == "2026-12-03"


def test_elderly_care_name_told_in_a_sentence_with_the_address_and_phone(world):
    who = sender()
    form = FormDriver("care_form", ValidateCareForm(), ActionSubmitCare(), sender=who)
    said = form.say("想给我妈申请那个居家养老 上门帮着洗澡", intent="elderly_care")
    assert said[-1] == "utter_ask_visit_patient_name"
    said = form.say("她叫费秀云 住书香苑9幢101 电话13812345796")
    assert form.slots["visit_patient_name"] == "费秀云"
    assert form.slots["visit_phone"] == "13812345796"
    assert "utter_visit_name_invalid" not in said


def test_elderly_care_phone_corrected_in_the_same_message_is_the_corrected_one(world):
    who = sender()
    form = FormDriver("care_form", ValidateCareForm(), ActionSubmitCare(), sender=who)
    form.say("想给我妈申请助餐和助浴 她叫何秀兰 住康乐苑8幢101", intent="elderly_care")
    assert form.say("电话13812345799 哦不对 是13812345798")[-1] != "utter_ask_visit_phone"
    assert form.slots["visit_phone"] == "13812345798"


def test_elderly_care_one_service_dropped_keeps_the_other(world):
    who = sender()
    form = FormDriver("care_form", ValidateCareForm(), ActionSubmitCare(), sender=who)
    form.say(
        "给我爷爷申请上门打扫卫生 还有每天送个午饭 他叫邬长海 住健康新村8幢201",
        intent="elderly_care",
    )
    assert form.slots["visit_patient_name"] == "邬长海"
    assert form.slots["care_items"] == "助餐、助洁"
    said = form.say("算了 打扫不要了 周末我自己去扫 就要送饭", intent="deny")
    assert form.active and form.slots["care_items"] == "助餐"
    assert not form.slots.get("visit_blocked") and "utter_care_items_added" in said


def test_elderly_care_service_dropped_for_another_is_a_swap_not_a_stop(world):
    who = sender()
    form = FormDriver("care_form", ValidateCareForm(), ActionSubmitCare(), sender=who)
    form.say("想给我爸申请上门帮洗澡", intent="elderly_care")
    assert form.slots["care_items"] == "助浴"
    said = form.say("算了洗澡不要了 他不乐意 改成送饭吧", intent="deny")
    assert form.active and form.slots["care_items"] == "助餐"
    assert "utter_care_items_added" in said and not form.slots.get("visit_blocked")


def test_elderly_care_swap_told_with_a_phone_correction_keeps_the_swap(world):
    who = sender()
    form = FormDriver("care_form", ValidateCareForm(), ActionSubmitCare(), sender=who)
    form.say("给我妈钱桂兰申请上门帮洗澡 住和园小区6幢201 电话13812345671", intent="elderly_care")
    form.say("洗澡不要了 她怕冷 换成每天送饭吧 电话刚才说错了 是13812345672", intent="deny")
    assert form.active and form.slots["care_items"] == "助餐"
    assert form.slots["visit_phone"] == "13812345672"


def test_elderly_care_every_service_dropped_is_a_stop(world):
    who = sender()
    form = FormDriver("care_form", ValidateCareForm(), ActionSubmitCare(), sender=who)
    form.say("给我爷爷申请上门打扫卫生 还有每天送个午饭", intent="elderly_care")
    form.say("算了 都不要了", intent="deny")
    assert not form.active


def _care_form_at_confirmation(who: str) -> FormDriver:
    form = FormDriver("care_form", ValidateCareForm(), ActionSubmitCare(), sender=who)
    form.say("给婆婆申请上门打扫卫生", intent="elderly_care")
    form.say("何秀兰")
    form.say("13812345615")
    form.say("康乐苑8幢101")
    form.say("明天")
    assert form.say("下午")[-1] == "utter_ask_care_confirmed"
    return form


def _clients(who: str) -> list[ElderlyCareClient]:
    with db.session_scope() as session:
        query = select(ElderlyCareClient).where(ElderlyCareClient.registered_by == who)
        return list(session.scalars(query))


def test_elderly_care_address_corrected_at_confirmation_is_the_one_registered(world):
    who = sender()
    form = _care_form_at_confirmation(who)
    said = form.say("地址写错了 是康乐苑9幢101", intent="deny")
    assert said == ["utter_form_corrected", "utter_ask_care_confirmed"]
    assert form.slots["visit_address"] == "康乐苑9幢101"
    assert form.slots["visit_phone"] == "13812345615"  # the rest is kept
    said = form.say("确认", intent="affirm")
    assert form.finished and "utter_care_registered" in said
    assert [client.address for client in _clients(who)] == ["康乐苑9幢101"]


def test_elderly_care_phone_corrected_at_confirmation(world):
    who = sender()
    form = _care_form_at_confirmation(who)
    said = form.say("电话打错了 应该是13812345616")
    assert said == ["utter_form_corrected", "utter_ask_care_confirmed"]
    form.say("对", intent="affirm")
    assert [client.phone for client in _clients(who)] == ["13812345616"]


def test_elderly_care_not_confirmed_registers_nothing(world):
    who = sender()
    form = _care_form_at_confirmation(who)
    said = form.say("不登记了", intent="deny")
    assert form.finished and "utter_care_registered" not in said
    assert _clients(who) == []


def test_another_service_asked_mid_form_pauses_it_and_is_never_stored_as_the_answer(world):
    who = sender()
    form = bound_leave(who)
    assert form.slots["requested_slot"] == "leave_reason"
    said = form.say("顺便帮我查一下燃气费", intent="check_gas_bill", confidence=0.97)
    assert said[0] == "utter_form_paused"
    assert form.slots["leave_reason"] is None
    assert form.slots["paused_form"] == "leave_form"
    assert form.slots["leave_dates"] == ["2026-11-26"]  # kept for later


def test_an_answer_that_only_sounds_like_another_service_is_taken_as_the_answer(world):
    who = sender()
    form = bound_leave(who)
    said = form.say("带孩子去医院输液", intent="book_home_visit", confidence=0.95)
    assert "utter_form_paused" not in said
    assert form.slots["leave_reason"] == "带孩子去医院输液"


def test_a_paused_form_taken_up_again_keeps_what_it_held(world):
    who = sender()
    form = bound_leave(who)
    form.say("顺便帮我查一下燃气费", intent="check_gas_bill", confidence=0.97)
    # The gas form ran in between (Rasa's rules); the leave form starts again.
    form.active = False
    said = form.say("接着请假", intent="request_leave")
    assert form.slots["paused_form"] is None
    assert form.slots["leave_dates"] == ["2026-11-26"]
    assert said[-1] == "utter_ask_leave_reason"


def test_asking_for_a_person_mid_form_pauses_it_and_the_person_takes_over(world):
    who = sender()
    form = bound_leave(who)
    said = form.say("转人工", intent="ask_contact", confidence=0.95)
    assert said[0] == "utter_form_paused"
    assert form.slots["paused_form"] == "leave_form"
    assert form.slots["leave_reason"] is None
    # Rasa's rule then runs action_contact with the leave form still active.
    message = {"text": "转人工", "intent": {"name": "ask_contact", "confidence": 0.95}}
    tracker = Tracker(
        who,
        dict(form.slots),
        message,
        [{"event": "user", "text": "转人工", "parse_data": message}],
        False,
        None,
        {"name": "leave_form"},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    events = ActionContact().run(dispatcher, tracker, domain())
    kinds = [event["event"] for event in events]
    assert kinds[0] == "active_loop" and events[0]["name"] is None  # the form ends
    assert "pause" in kinds  # the assistant falls silent: a person has the chat
    assert dispatcher.messages[0]["response"] in {"utter_handoff_queued", "utter_handoff_message"}


def test_a_contact_question_mid_form_still_gets_the_numbers(world):
    who = sender()
    form = bound_leave(who)
    said = form.say("学校电话多少", intent="ask_contact", confidence=0.95)
    assert "utter_form_paused" not in said
    assert form.slots["paused_form"] is None


@pytest.mark.parametrize(
    ("text", "other"),
    [
        ("周梓萱这两礼拜有没有请看护假 学号2024010201 我是她舅舅", "周梓萱"),
        ("就是想看看学号2024010201的请假记录", "学号2024010201"),
        ("赵一鸣这周请假了吗", ""),  # the sender's own child
        ("学号2024010101的请假", ""),
        ("查下请假记录 我手机19900001037", ""),  # a phone is no 学号
        ("看看请假记录", ""),
        ("孩子周三有没有请假", ""),  # a weekday, not a 周
        ("孙女这周请假了没", ""),  # a grandchild, not a 孙
    ],
)
def test_a_child_not_the_senders_is_noticed_when_their_leaves_are_asked(text, other):
    own = [Child(1, "赵一鸣", "2024010101")]
    assert _other_child_named(text, own) == other


def _after_a_leak(who: str) -> FormDriver:
    """A complaint form whose person told of a gas leak and was told what to do."""
    leak = {"name": "gas_leak", "confidence": 0.98}
    told = "厨房一股煤气味"
    form = complaint(who)
    form.history = [
        {
            "event": "user",
            "text": told,
            "parse_data": {"text": told, "intent": leak, "intent_ranking": [leak]},
        },
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_gas_leak"}},
    ]
    return form


@pytest.mark.parametrize("text", ["火我关了 窗也开了 还要干啥", "阀门拧紧了 人都出来了 然后呢"])
def test_a_step_taken_during_a_leak_gets_the_steps_again_not_a_complaint(world, text):
    who = sender()
    form = _after_a_leak(who)
    said = form.say(text, intent="file_complaint")
    assert said[0].startswith("utter_gas_leak_again")
    assert form.finished
    assert count(Complaint, who, Complaint.sender_id) == 0


def test_a_complaint_during_a_leak_is_still_taken(world):
    who = sender()
    form = _after_a_leak(who)
    said = form.say("师傅关了阀就走了 我要投诉", intent="file_complaint")
    assert form.active and not any(s.startswith("utter_gas_leak_again") for s in said)


def test_without_a_leak_the_same_words_start_the_complaint(world):
    form = complaint(sender())
    said = form.say("火我关了 窗也开了 还要干啥", intent="file_complaint")
    assert form.active and not any(s.startswith("utter_gas_leak_again") for s in said)


def test_a_leave_for_another_parents_child_is_refused_and_put_on_nobody(world):
    who = sender()
    bound_leave(who)  # this parent's own child, 2024010101, is verified
    form = leave(who)
    said = form.say(
        "他们班周梓萱明天看护也请个假 她爸出差 托我跟学校说一声 学号2024010201",
        intent="request_leave",
    )
    assert said[0] == "utter_leave_not_yours"
    assert form.finished
    with db.session_scope() as session:
        assert children_of(session=session, sender_id=who)  # still bound to their own
    assert "utter_ask_leave_confirmed" not in said


@pytest.mark.parametrize(
    "text",
    ["学号2024010101 后天请假 去医院复查", "周一到周三请假 回老家", "给孙子请假 明天不去看护"],
)
def test_a_leave_for_ones_own_child_is_never_refused_as_anothers(world, text):
    who = sender()
    bound_leave(who)
    form = leave(who)
    said = form.say(text, intent="request_leave")
    assert "utter_leave_not_yours" not in said
