"""Dates as parents write them, read against a fixed today (Wednesday 2026-11-25)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.reading.dates import (
    MAX_DAYS,
    DateParseError,
    dates_not_kept,
    days_off,
    parse_dates,
    wanted_day,
)
from bot.school.wording import format_days, guess_reason

TODAY = date(2026, 11, 25)  # a Wednesday


def d(text: str) -> list[str]:
    return [day.isoformat() for day in parse_dates(text, TODAY)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", ["2026-11-25"]),
        ("孩子明天不参加课后看护,发烧了", ["2026-11-26"]),
        ("后天", ["2026-11-27"]),
        ("大后天", ["2026-11-28"]),
        ("周五", ["2026-11-27"]),
        ("星期五", ["2026-11-27"]),
        ("礼拜五", ["2026-11-27"]),
        ("周三", ["2026-11-25"]),
        ("周一", ["2026-11-30"]),
        ("星期天", ["2026-11-29"]),
        ("下周一", ["2026-11-30"]),
        ("下下周二", ["2026-12-08"]),
        ("这周五", ["2026-11-27"]),
        ("本周一", ["2026-11-23"]),
        ("12月3日", ["2026-12-03"]),
        ("12月3号", ["2026-12-03"]),
        ("十二月三号", ["2026-12-03"]),
        ("3号", ["2026-12-03"]),
        ("25号", ["2026-11-25"]),
        ("2026-12-03", ["2026-12-03"]),
        ("12/3", ["2026-12-03"]),
        ("2027年1月4日", ["2027-01-04"]),
        ("1月5日", ["2027-01-05"]),
        ("11月20日", ["2026-11-20"]),
        ("下周一到周三", ["2026-11-30", "2026-12-01", "2026-12-02"]),
        ("12月3日至5日", ["2026-12-03", "2026-12-04", "2026-12-05"]),
        ("12月31日到1月2日", ["2026-12-31", "2027-01-01", "2027-01-02"]),
        ("明后两天", ["2026-11-26", "2026-11-27"]),
        ("这周五和下周二", ["2026-11-27", "2026-12-01"]),
        ("发烧38.5度 明天请假", ["2026-11-26"]),
        ("周五到下周一", ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]),
    ],
)
def test_every_form_parents_use(text, expected):
    assert d(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2月30日", "invalid_date"),
        ("13月1日", "invalid_date"),
        ("随便哪天", "no_date"),
        ("", "no_date"),
        ("12月1日到2月1日", "too_long"),
    ],
)
def test_impossible_or_missing_dates(text, reason):
    with pytest.raises(DateParseError) as error:
        parse_dates(text, TODAY)
    assert error.value.reason == reason


def test_a_range_longer_than_a_month_is_refused():
    assert len(d("12月1日到12月31日")) == MAX_DAYS
    with pytest.raises(DateParseError, match="too_long"):
        parse_dates("12月1日到2027年1月30日", TODAY)


def test_new_year_rollover_from_late_december():
    assert [x.isoformat() for x in parse_dates("3号", date(2026, 12, 28))] == ["2027-01-03"]
    assert [x.isoformat() for x in parse_dates("下周一", date(2026, 12, 30))] == ["2027-01-04"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("孩子明天不参加课后看护,发烧了", "发烧了"),
        ("明天请假 要去医院复查", "要去医院复查"),
        ("下周一到周三请假,回老家", "回老家"),
        ("明天请假", None),
        ("给闺女请家 下礼拜一去姥姥家 学号2025020299", "下礼拜一去姥姥家"),
        # Voice input in one breath: the 学号, the phone digits, the greeting and who is
        # writing are no reason, and not for the teachers' list.
        (
            "老师好我是孙语嫣妈妈家里老人走了我们要回老家下礼拜一到礼拜三三天看护都不去了"
            "学号2024010107手机尾号1011",
            "家里老人走了我们要回老家下礼拜一到礼拜三三天看护都不去了",
        ),
        ("孩子要去医院复查学号2024010101手机19900001001", "孩子要去医院复查"),
        # An urgent matter, a sore throat, an exam: reasons in words of their own.
        ("何家豪今天看护不去了 家里有急事 学号2023010304", "家里有急事"),
        ("孩子嗓子疼 明天不去了", "孩子嗓子疼"),
        ("明天看护不去了 要去考级", "要去考级"),
        ("学号2024010101 明天请假", None),
    ],
)
def test_reason_is_the_clause_that_gives_one(text, reason):
    assert guess_reason(text) == reason


def test_days_are_written_with_their_weekday():
    assert (
        format_days([date(2026, 11, 26), date(2026, 11, 30)])
        == "11月26日（周四）、11月30日（周一）"
    )


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("后天护士上门那个 能挪到下礼拜一不", "2026-11-30"),
        ("等等 还是改下礼拜二上午吧 礼拜一俺要带她去复查", "2026-12-01"),
        ("从后天改到12月3号", "2026-12-03"),
        ("不对 改下礼拜一下午 后天俺闺女不在家", "2026-11-30"),
        ("下周三上午", "2026-12-02"),
        ("明后天都行", "2026-11-26"),
    ],
)
def test_the_day_wanted_is_the_one_moved_to(text, day):
    assert wanted_day(text, TODAY).isoformat() == day


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("后天那个不请了 取消掉 下礼拜三的还要", ["2026-11-27"]),
        ("明天的保留 后天的取消", ["2026-11-27"]),
        ("孩子病好了 明天照常参加看护", ["2026-11-26"]),
        ("后天的不用取消，明天的取消", ["2026-11-26"]),
        ("我还要取消后天的", ["2026-11-27"]),
        ("取消明天和后天的", ["2026-11-26", "2026-11-27"]),
    ],
)
def test_days_said_to_be_kept_are_not_cancelled(text, days):
    assert [day.isoformat() for day in dates_not_kept(text, TODAY)] == days


def test_keeping_every_day_named_cancels_none():
    with pytest.raises(DateParseError):
        dates_not_kept("下礼拜三的还要", TODAY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("那12月18号礼拜五也照常吗", [date(2026, 12, 18)]),
        ("明天(周四)请假", [date(2026, 11, 26)]),
        ("周五 12月18日", [date(2026, 12, 18)]),
        # Days of their own, not notes.
        ("明天和周五", [date(2026, 11, 26), date(2026, 11, 27)]),
        ("下周一到周三", [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]),
    ],
)
def test_a_weekday_beside_a_day_named_only_notes_it(text, expected):
    assert parse_dates(text, date(2026, 11, 25)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("不对不对 比赛改到下周四了 是下周四 周三照常去", [date(2026, 12, 3)]),
        ("明天 后天 礼拜五还是去", [date(2026, 11, 26), date(2026, 11, 27)]),
        ("下周一到周三请假", [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]),
        # Taken back, or narrowed to the days a part asks for alone.
        ("明天不请了 只请后天", [date(2026, 11, 27)]),
        ("周三周四请假 周四不用请了", [date(2026, 11, 25)]),
        (
            "哎等等 她爸刚说明天走不了 礼拜五早上才走 那就只请后天一天 明天照常去看护",
            [date(2026, 11, 27)],
        ),
        ("明天就要去医院 后天也请", [date(2026, 11, 26), date(2026, 11, 27)]),
        # Corrected in the same message: the day it corrects to.
        ("明天看护不去了 哦不对 是后天", [date(2026, 11, 27)]),
        ("不是明天 是后天", [date(2026, 11, 27)]),
        ("不对 孩子是发烧 明天请假", [date(2026, 11, 26)]),  # the correction names no day
    ],
)
def test_the_days_off_leave_out_those_the_child_still_attends(text, expected):
    assert days_off(text, date(2026, 11, 25)) == expected
