"""Small text helpers for after-school leave messages: reasons and date lists."""

from __future__ import annotations

import re
from datetime import date

_WEEKDAYS = "一二三四五六日"
_CLAUSE_SPLIT = re.compile(r"[,,。.;;!!??\s]+")
# Words that say why a child misses care. The clause holding one is the reason.
_REASON_WORDS = (
    "发烧", "感冒", "咳嗽", "生病", "病了", "不舒服", "肚子", "拉肚子", "呕吐", "住院", "看病",
    "看医生", "医院", "复查", "牙", "打针", "疫苗", "比赛", "演出", "培训", "考试", "回老家",
    "旅游", "出门", "家里有事", "有事", "办事", "亲戚", "婚礼", "葬礼", "接走", "早接",
    "因为", "由于", "姥姥家", "奶奶家", "外婆家", "爷爷家", "姥爷家", "外公家", "舅舅家",
    "姑姑家", "小姨家", "走亲戚", "探亲", "聚会", "兴趣班",
    "急事", "有点事", "要紧事", "有事情", "出差", "搬家", "没人接", "接不了", "走不开",
    "考级", "补课", "钢琴", "舞蹈", "游泳", "画画",
    "喜酒", "吃席", "婚宴", "满月酒", "办酒", "寿宴", "祝寿", "过寿", "过生日", "奔丧",
    "外地", "出远门", "老家", "旅行", "度假", "出去玩", "夏令营", "冬令营", "研学", "体检",
    "活动",
)  # fmt: skip


# What a reason told in one breath also holds, which is no reason and not for the teachers'
# list: the 学号 and phone digits, the greeting and who is writing ("老师好我是孙语嫣妈妈…
# 学号2024010107手机尾号1011").
_NOT_REASON = re.compile(
    r"(?:学号|手机号?|电话号?码?|尾号|后四位|后4位)(?:是|为)?[:：]?\s*\d{4,}"
    r"|(?:手机|电话)?(?:尾号|后四位|后4位)(?:是|为)?[:：]?\s*\d{4}"
    r"|\d{4,}"
    r"|^(?:老师|您|你)好(?:啊|呀)?"
    r"|我是[\u4e00-\u9fff]{1,4}?(?:的)?(?:妈妈|爸爸|妈|爸|家长|奶奶|爷爷|姥姥|姥爷|外婆|外公)"
)


def guess_reason(text: str) -> str | None:
    """The part of a message that gives the reason ("发烧了"), or None if none does;
    without the 学号, the phone digits, the greeting and who is writing."""
    for clause in _CLAUSE_SPLIT.split(text or ""):
        if any(word in clause for word in _REASON_WORDS) or _UNWELL.search(clause):
            reason = _NOT_REASON.sub("", clause.strip()).strip()
            return reason[:100] or None
    return None


# Words saying a child is unwell (the leave's confirmation then wishes a quick recovery);
# a piano exam or a family trip gets no such wish.
_UNWELL = re.compile(
    r"病|烧|发热|咳|感冒|着凉|不舒服|难受|疼|痛|吐|拉肚子|腹泻|过敏|住院|医院|看医生|看病|复查|打针|输液|"
    r"受伤|摔|骨折|扭|流感|水痘|手足口|肺炎|鼻炎|牙"
)


def is_unwell(reason: str) -> bool:
    """Whether a leave's reason says the child is unwell."""
    return bool(_UNWELL.search(reason))


def format_day(day: date) -> str:
    """E.g. 11月26日(周四)."""
    return f"{day.month}月{day.day}日（周{_WEEKDAYS[day.weekday()]}）"


def format_days(days: list[date]) -> str:
    return "、".join(format_day(day) for day in days)


def binding_locked_alert() -> str:
    """Told to the parents bound to a child when online binding for the child gets locked."""
    return (
        "安全提醒：您孩子的学号在 24 小时内有多次验证失败的家长绑定尝试，为保护孩子的信息，"
        "该学号的线上绑定已暂停。您的绑定不受影响。如非家人操作，请告知班主任。"
    )
