"""Dates the way people write them: 今天, 明天, 后天, 昨天, 前天, 周五, 下周一, 上周五, 12月3日,
3号, 十二月三号, 2026-12-03, and ranges such as 下周一到周三, 12月3日至5日, 明后两天.

Past days are read as what they are (a parent telling the school about yesterday), and the
rules of each flow answer them; a range whose end comes before its start is `reversed`.

Chinese numerals are read with cn2an. A date without a year is this year's, or next
year's when it fell more than half a year ago (in December, "1月5日" is next January).
A day of the month alone ("3号") is the next such day. A weekday alone ("周五") is the next
such day from today; 这周/本周 and 下周 name a calendar week (Monday to Sunday).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

import cn2an

from bot.reading import corrected_value

MAX_DAYS = 31
_HALF_YEAR = timedelta(days=183)

_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十]{1,3}(?=[月日号])")
_WEEKDAY_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7, "七": 7}
_WEEKDAY_DIGITS.update({str(n): n for n in range(1, 8)})

# "." is not a separator: 38.5 is a temperature, not a date.
_FULL = r"(?:(?P<year>\d{4})[年\-/])?(?P<month>\d{1,2})(?:月|[\-/](?=\d))(?P<day>\d{1,2})[日号]?"
_DAY = r"(?P<mday>\d{1,2})[日号]"
_WEEK = r"(?P<week>下下|下个?|这个?|本|上个?)?(?:周|星期|礼拜)(?P<wday>[一二三四五六日天七1-7])"
_RELATIVE = r"(?P<rel>大后天|后天|明天|明日|今天|今日|明儿|今儿|大前天|前天|昨天|昨日|昨儿)"
_ONE = rf"(?:{_FULL}|{_WEEK}|{_RELATIVE}|{_DAY})"
_EXPRESSION = re.compile(_ONE)
_RANGE_JOIN = re.compile(r"\s*(?:到|至|~|～|-|—|–)\s*")
_TOMORROW_AND_NEXT = re.compile(r"明后(?:两|2)?天")

_RELATIVE_DAYS = {"今天": 0, "今日": 0, "今儿": 0, "明天": 1, "明日": 1, "明儿": 1, "后天": 2}
_RELATIVE_DAYS.update({"大后天": 3, "昨天": -1, "昨日": -1, "昨儿": -1, "前天": -2, "大前天": -3})


class DateParseError(ValueError):
    """The text names no usable date; `reason` says why, for the reply."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason  # "no_date", "invalid_date", "reversed" or "too_long"
        self.detail = detail


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    day: date
    groups: dict[str, str | None]


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return _CN_NUMBER.sub(lambda m: str(cn2an.cn2an(m.group(0), "smart")), text)


def _make_date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DateParseError("invalid_date", text) from exc


def _week_start(day: date) -> date:
    return day - timedelta(days=day.isoweekday() - 1)


def _resolve(groups: dict[str, str | None], text: str, today: date, after: date | None) -> date:
    """The date one expression names; `after` is a range's start, for its end."""
    anchor = after or today
    if groups.get("rel"):
        return today + timedelta(days=_RELATIVE_DAYS[groups["rel"] or "今天"])
    if groups.get("month"):
        month, day = int(groups["month"] or 0), int(groups["day"] or 0)
        if groups.get("year"):
            return _make_date(int(groups["year"] or 0), month, day, text)
        candidate = _make_date(anchor.year, month, day, text) if month <= 12 else None
        if candidate is None:
            raise DateParseError("invalid_date", text)
        if candidate < anchor - _HALF_YEAR or (after and candidate < after):
            candidate = _make_date(anchor.year + 1, month, day, text)
        return candidate
    if groups.get("wday"):
        weekday = _WEEKDAY_DIGITS[groups["wday"] or "1"]
        week = groups.get("week") or ""
        if week.startswith(("这", "本")):
            return _week_start(today) + timedelta(days=weekday - 1)
        if week.startswith("上"):
            return _week_start(today) - timedelta(days=7 - weekday + 1)
        if week == "下下":
            return _week_start(today) + timedelta(days=14 + weekday - 1)
        if week.startswith("下"):
            return _week_start(today) + timedelta(days=7 + weekday - 1)
        return anchor + timedelta(days=(weekday - anchor.isoweekday()) % 7)
    day_of_month = int(groups.get("mday") or 0)
    year, month = anchor.year, anchor.month
    for _ in range(2):
        try:
            candidate = date(year, month, day_of_month)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= anchor:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise DateParseError("invalid_date", text)


def parse_dates(text: str, today: date) -> list[date]:
    """Every day the text names, in order, ranges expanded. Raises DateParseError."""
    normalized = _normalize(text or "")
    days: list[date] = []
    if _TOMORROW_AND_NEXT.search(normalized):
        days += [today + timedelta(days=1), today + timedelta(days=2)]
        normalized = _TOMORROW_AND_NEXT.sub(" ", normalized)

    found = []
    for match in _EXPRESSION.finditer(normalized):
        groups = match.groupdict()
        if groups.get("month") and "月" not in match.group(0) and int(groups["month"] or 0) > 12:
            continue  # "15/3" and the like are not dates
        found.append(
            _Found(
                match.start(), match.end(), _resolve(groups, match.group(0), today, None), groups
            )
        )

    found = _without_weekday_notes(found, normalized)
    index = 0
    while index < len(found):
        current = found[index]
        following = found[index + 1] if index + 1 < len(found) else None
        between = normalized[current.end : following.start] if following else ""
        if following and _RANGE_JOIN.fullmatch(between):
            groups = dict(following.groups)
            # "下周一到周三": the end is in the start's week.
            if groups.get("wday") and not groups.get("week") and current.groups.get("week"):
                groups["week"] = current.groups["week"]
            end = _resolve(groups, normalized[following.start : following.end], today, current.day)
            if end < current.day:
                raise DateParseError("reversed", normalized[current.start : following.end])
            if (end - current.day).days + 1 > MAX_DAYS:
                # "12月5日到12月3日" read its end in the next year; alone, it comes first.
                alone = _resolve(groups, normalized[following.start : following.end], today, None)
                reason = "reversed" if alone < current.day else "too_long"
                raise DateParseError(reason, normalized[current.start : following.end])
            days += [current.day + timedelta(days=n) for n in range((end - current.day).days + 1)]
            index += 2
            continue
        days.append(current.day)
        index += 1

    if not days:
        raise DateParseError("no_date", text)
    unique = sorted(set(days))
    if (unique[-1] - unique[0]).days + 1 > MAX_DAYS:
        raise DateParseError("too_long", text)
    return unique


def _without_weekday_notes(found: list[_Found], text: str) -> list[_Found]:
    """`found` without the weekdays that only note a day named beside them ("12月18号礼拜五",
    "明天(周四)", "周五 12月18日"): the day named is the one meant."""
    dated = [f for f in found if not f.groups.get("wday")]
    return [
        f
        for f in found
        if not (
            f.groups.get("wday")
            and not f.groups.get("week")
            and any(
                (d.end <= f.start and _WEEKDAY_NOTE.fullmatch(text[d.end : f.start]))
                or (f.end <= d.start and _WEEKDAY_NOTE.fullmatch(text[f.end : d.start]))
                for d in dated
            )
        )
    ]


# What may stand between a day and the weekday noting it.
_WEEKDAY_NOTE = re.compile(r"\s*[（(]?\s*|\s*[)）]?\s*")


# Words that make the day after them the one wanted: "能挪到下礼拜一不" (from the booking's
# day, named or not), "还是改下礼拜二吧 礼拜一俺要带她去复查".
_MOVE_TO = re.compile(r"(?:改|挪|换|调|推|延|移)(?:到|成|为|在)?|(?:放|定|约)(?:到|在)")
# What keeps a leave as it is ("后天那个取消 下礼拜三的还要"), said of the part it is in,
# unless that part also cancels ("我还要取消后天的"). Not 照常: "明天照常参加" keeps the
# child's care, which cancels the leave.
_KEEP = re.compile(r"还要|继续请|保留|留着|不变|(?:不|不用|不要|别|不必)取消")
_NOT_CANCELLING = re.compile(r"(?:不|不用|不要|别|不必)取消")
_CANCELS = re.compile(r"取消|撤销|撤回|不请|不要了|算了")
_PARTS = re.compile(r"[,，。;；!！?？、\s]+|但是|不过")


def wanted_day(text: str, today: date) -> date:
    """The day `text` asks for: the first named after a word that moves to a day ("从后天
    挪到下周一", "还是改周二吧 周一要去复查"), else the first it names. Raises
    DateParseError."""
    for move in _MOVE_TO.finditer(text or ""):
        named = _EXPRESSION.search(_normalize(text[move.end() :]))
        if named is not None:
            return parse_dates(named.group(0), today)[0]
    named = _EXPRESSION.search(_normalize(text or ""))
    if named is None or _TOMORROW_AND_NEXT.search(text or ""):
        return parse_dates(text, today)[0]  # "明后天都行": the first of them
    return parse_dates(named.group(0), today)[0]


def moved_to(text: str) -> list[str]:
    """What follows each word that moves to a day or time ("后天上午那个 挪到下礼拜一下半天":
    "下礼拜一下半天"), first to last."""
    return [(text or "")[move.end() :] for move in _MOVE_TO.finditer(text or "")]


def dates_not_kept(text: str, today: date) -> list[date]:
    """The days `text` names outside the parts that say to keep them: "后天那个不请了 取消掉
    下礼拜三的还要" cancels only 后天. Raises DateParseError when no other day is named."""
    parts = [part for part in _PARTS.split(_normalize(text or "")) if part]
    return parse_dates(" ".join(part for part in parts if not _keeps(part)), today)


def days_off(text: str, today: date) -> list[date]:
    """The days a leave request names, without those the child still attends ("是下周四
    周三照常去": only Thursday) or that are no longer asked ("明天不请了"); when a part asks
    for only some days ("那就只请后天一天"), those. Raises DateParseError when no other day
    is named."""
    corrected = corrected_value(text or "")
    if corrected:  # "明天看护不去了 哦不对 是后天": the day it corrects to
        try:
            return days_off(corrected, today)
        except DateParseError:
            pass  # "不对 孩子是发烧": the correction names no day
    parts = [part for part in _PARTS.split(_normalize(text or "")) if part]
    asked = [part for part in parts if not _ATTENDS.search(part) and not _NOT_ASKED.search(part)]
    only = [part for part in asked if _ONLY.search(part)]
    if only:
        try:
            return parse_dates(" ".join(only), today)
        except DateParseError:
            pass  # "只请一天": the day is named in another part
    days = parse_dates(" ".join(asked), today)
    taken_back = [part for part in parts if _NOT_ASKED.search(part)]
    try:  # "周三周四请假 周四不用请了": Wednesday
        dropped = set(parse_dates(" ".join(taken_back), today)) if taken_back else set()
    except DateParseError:
        dropped = set()
    return [day for day in days if day not in dropped] or days


# A part saying the child goes as usual that day ("周三照常去", "礼拜五还是去").
_ATTENDS = re.compile(r"照常|照样|正常(?:去|参加|上)|还是去|还去|照去")
# A part taking a day back from the request ("明天不请了", "周四的不用请").
_NOT_ASKED = re.compile(r"不(?:用|要|必)?请了?(?!假条)|不算")
# A part narrowing the request to its days ("那就只请后天一天", "光请礼拜五"); not 就 ("明天就
# 要去医院 后天也请" asks both).
_ONLY = re.compile(r"(?:只|光|单)(?:请|要请|是)")


def _keeps(part: str) -> bool:
    return bool(_KEEP.search(part)) and not _CANCELS.search(_NOT_CANCELLING.sub("", part))
