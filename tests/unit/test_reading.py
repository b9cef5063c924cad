"""Reading what people type: numbers however written, phones, stops and corrections."""

from __future__ import annotations

from datetime import date

import pytest

from bot.reading import (
    corrected_value,
    find_last_four,
    find_mobile,
    find_phone,
    may_smell_gas,
    numbers_in,
    says_correction,
    says_stop,
    speaks_of_gas_emergency,
    tells_of_leak_steps,
    to_digits,
)
from bot.reading.dates import DateParseError, parse_dates

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("１３９００００１１１１", "13900001111"),
        ("幺三九 0000 一一一一", "13900001111"),
        ("139-0000-1111", "13900001111"),
        ("户号8800 1234", "户号88001234"),
        ("学号是二零二四零一零三", "学号是20240103"),
        ("十二点", "12点"),
        ("二十三号", "23号"),
    ],
)
def test_numbers_are_read_in_digits_however_they_are_written(text, digits):
    assert to_digits(text) == digits


def test_two_numbers_side_by_side_stay_two_numbers():
    assert numbers_in("88001234 13900001111") == ["88001234", "13900001111"]


def test_a_date_is_not_taken_for_one_grouped_number():
    assert numbers_in("2026-12-03") == ["2026", "12", "03"]


@pytest.mark.parametrize(
    ("text", "mobile"),
    [
        ("我电话 139 0000 1111", "13900001111"),
        ("+8613900001111", "13900001111"),
        ("幺三九零零零零幺幺幺幺", "13900001111"),
        ("12345", None),
    ],
)
def test_mobile_numbers(text, mobile):
    assert find_mobile(text) == mobile


def test_a_landline_is_a_phone_but_not_a_mobile():
    assert find_mobile("0571-88886666") is None
    assert find_phone("座机0571-88886666") == "0571-88886666"


@pytest.mark.parametrize(
    ("text", "four"),
    [
        ("尾号1111", "1111"),
        ("后四位是一一一一", "1111"),
        ("13900001111", "1111"),
        ("12", None),
        ("那个尾号是2007 对 2007", "2007"),  # said twice, to be sure
        ("尾号2017 不对 是2007", "2007"),  # corrected in the same message
        ("2017还是2007来着", None),  # unsure: ask again
    ],
)
def test_the_last_four_digits_of_a_phone(text, four):
    assert find_last_four(text) == four


@pytest.mark.parametrize(
    "text",
    [
        "算了",
        "不用了",
        "取消",
        "不预约了",
        "我没要投诉",
        "我不是投诉 我是员工",
        "先不请了",
        "算了吧 谢谢",
    ],
)
def test_clear_stops_in_any_wording(text):
    assert says_stop(text)


@pytest.mark.parametrize(
    "text",
    [
        "不对,是后天",
        "改成周四",
        "取消周三的 改成周四",
        "没有",
        "孩子不去了",
        "我之前投诉过没有结果",
    ],
)
def test_corrections_and_answers_are_not_stops(text):
    assert not says_stop(text)


def test_after_a_yes_no_question_only_a_named_stop_counts():
    assert not says_stop("不用了", yes_no_question=True)
    assert says_stop("不预约了", yes_no_question=True)


@pytest.mark.parametrize(
    "text", ["不对,是后天", "改成周四", "输错了 是2011", "学号写错了", "不是周三是周四"]
)
def test_corrections(text):
    assert says_correction(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("地址写错了 是康乐苑9幢101", "康乐苑9幢101"),
        ("不对，应该是康乐苑9幢101", "康乐苑9幢101"),
        ("地址改成康乐苑9幢101", "康乐苑9幢101"),
        ("不是8幢 是康乐苑9幢101", "康乐苑9幢101"),
        ("地址错了，康乐苑9幢101室", "康乐苑9幢101室"),
        ("电话打错了 应该是13812345616", "13812345616"),
        ("地址写错了", ""),
        ("康乐苑9幢101", ""),
    ],
)
def test_the_value_a_correction_gives(text, value):
    assert corrected_value(text) == value


@pytest.mark.parametrize(("text", "day"), [("昨天", "2026-11-24"), ("前天", "2026-11-23")])
def test_past_days_are_read_as_past_days(text, day):
    assert [d.isoformat() for d in parse_dates(text, TODAY)] == [day]


def test_a_range_ending_before_it_starts_is_reversed():
    with pytest.raises(DateParseError) as error:
        parse_dates("12月5日到12月3日", TODAY)
    assert error.value.reason == "reversed"


@pytest.mark.parametrize(
    ("text", "emergency"),
    [
        ("抢修电话多少", True),
        ("楼道里一股臭鸡蛋味儿 是不是漏气了 能开灯不", True),
        ("快来抢修 家里有股味", True),
        ("礼拜天被叫去抢修 这加班费咋算的 给几倍工资啊", False),  # a worker sent to a job
        ("燃气费多少钱", False),
    ],
)
def test_a_gas_emergency_is_read_from_its_words(text, emergency):
    assert speaks_of_gas_emergency(text) is emergency


@pytest.mark.parametrize(
    ("text", "earlier", "smells"),
    [
        ("味儿好冲😰😰", ["燃汽"], True),  # gas named just before, with a slip
        ("家里煤气灶那块呛得慌", [], True),
        ("闻着有点刺鼻 是不是燃气", [], True),
        ("楼道里一股臭鸡蛋味儿", [], True),  # an emergency in its own words
        ("味儿好冲", [], False),  # no gas named: could be anything
        ("送的午饭味道太重了", ["投诉你们助餐"], False),
        ("燃气费多少钱", [], False),
    ],
)
def test_a_strong_smell_is_an_emergency_when_gas_is_named_near_it(text, earlier, smells):
    assert may_smell_gas(text, earlier) is smells


@pytest.mark.parametrize(
    "text",
    [
        "火我关了 窗也开了 还要干啥",
        "阀门拧紧了",
        "人都出来了",
        "然后呢",
        "关好了 现在咋办",
        "窗户开着呢",
    ],
)
def test_a_step_against_a_leak_or_what_comes_next_is_read(text):
    assert tells_of_leak_steps(text)


@pytest.mark.parametrize(
    "text", ["师傅关了阀就走了 我要投诉", "我要投诉抄表员", "孩子明天请假", "查一下燃气费"]
)
def test_complaints_and_requests_are_no_step_against_a_leak(text):
    assert not tells_of_leak_steps(text)
