"""Requests a message makes in so many words, for when the NLU is unsure of it.

A long, polite message ("您好 麻烦您 我家厨房那个燃气表好像坏了 做饭的时候那个数字一点都不转
想请师傅来看看 谢谢您了"), one with a typo ("想表样一下…吴老师") or one full of numbers ("许佳怡
下周三看护不去了 去少年宫比赛 学号… 手机…", read as a bare answer) can leave the classifier
below its confidence bar, or on a bare answer, though the request is plain.
`service_cue` names the intent such a message stands for when its own words leave no
doubt, or None; only then is the message replayed with that intent
(actions/followups.py), and the flow's own questions and confirmation follow. Questions
are never read as requests: "员工收到表扬信有奖金吗" asks about the rules, it praises
nobody.

Nothing here imports Rasa.
"""

from __future__ import annotations

import re

from bot.reading import normalize_chinese

# A question, not a request ("表扬信有奖金吗", "表坏了要收钱不").
_QUESTION = re.compile(
    r"[?？]|吗|么|是不是|能不能|可不可以|有没有|会不会|要不要|多少|几|多久|多长时间|怎么|咋|啥"
    r"|什么|[^\s]不[呀啊呢]?\s*$"
)
# The gas meter, by any of its names, and what is wrong with it.
_METER = r"(?:燃气表|煤气表|天然气表|气表|燃气的表|表上的数|表的数|表上那个数|表上的字|字码)"
_FAULT = (
    r"(?:坏了|坏掉|不转|不走|不动|停了|停转|乱跳|失灵|黑屏|没显示|不显示|不亮|没电|"
    r"走得?(?:太|特别|贼|老|飞)?快|走得?(?:太)?慢|数字?.{0,6}不(?:转|动|变|走))"
)
_METER_FAULT = re.compile(rf"{_METER}.{{0,16}}{_FAULT}")
# Praise, typed as it sounds too (表样).
_PRAISE = re.compile(r"表扬|表样|表彰|点个?赞|送.{0,2}锦旗|感谢信|夸一?夸")

# A child kept from after-school care ("许佳怡下周三看护不去了"), unless it is called off.
_LEAVE = re.compile(
    r"请假|请个假|请.{0,2}天假|(?:看护|托管|晚托|课后服务).{0,4}(?:不去|不参加|去不了|来不了)"
    r"|不(?:去|参加)(?:看护|托管|晚托|课后服务)"
)
# Called off, or done already ("好的 已经请过假了").
_CALLED_OFF = re.compile(r"取消|撤销|撤回|不请了|不用请|销假|已经请|已请|请过|请好了")

# Asking for a leave rather than to call one off ("那明天的能请不 明天也去不了", which the
# classifier once took for a cancellation: 请不 is no 不请).
_ASKS_FOR_LEAVE = re.compile(
    r"(?:能|想|要|再|也|还)请|请(?:得了|不了|一下|一天|个|两天|几天)|能不能请|可以请|请不[请?？吗]?\s*$"
    r"|请不[\s?？,，]|(?:去|来|参加)不了|不(?:去|来|参加)了"
)


# Any word of calling off, casual ones too ("那个假撤了吧", "假不用了").
_CALLS_OFF = re.compile(rf"{_CALLED_OFF.pattern}|撤|不用了|不要了|作废|删")


def asks_for_leave_not_called_off(text: str) -> bool:
    """Whether `text` asks for a leave and calls none off: a message the classifier took
    for a cancellation that is a request after all."""
    normalized = normalize_chinese(text or "")
    return bool(_ASKS_FOR_LEAVE.search(normalized)) and not _CALLS_OFF.search(normalized)


# A complaint said as one: the message opens with it ("投诉你们助餐 …", "我要投诉 …").
_COMPLAINT = re.compile(r"^\W*(?:我|俺|我们)?(?:要|想|想要|得)?投诉(?!.{0,4}(?:进度|结果|的事))")
# Home care asked for an elderly person ("想给她申请每天送个午饭再找人陪她说说话").
_CARE_SERVICE = (
    r"(?:助餐|送饭|送餐|送.{0,2}[午晚早]饭|陪护|陪.{0,4}(?:说说?话|聊天|解闷)|助浴|洗澡|"
    r"居家养老|上门服务)"
)
_ELDERLY_CARE = re.compile(
    rf"(?:申请|想(?:给|让|请|找|帮)|帮.{{0,3}}(?:申请|安排|找)|需要|安排).{{0,12}}{_CARE_SERVICE}"
)

CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("report_meter_fault", _METER_FAULT),
    ("give_praise", _PRAISE),
    ("request_leave", _LEAVE),
    ("file_complaint", _COMPLAINT),
    ("elderly_care", _ELDERLY_CARE),
)


def service_cue(text: str) -> str | None:
    """The intent `text` plainly asks for in its own words, or None (a question, or words
    that name no request or more than one)."""
    normalized = normalize_chinese(text or "")
    if not normalized.strip() or _QUESTION.search(normalized):
        return None
    found = {intent for intent, words in CUES if words.search(normalized)}
    if _CALLED_OFF.search(normalized):
        found.discard("request_leave")
    if "file_complaint" in found:  # a complaint about a service names the service too
        found -= {"elderly_care", "report_meter_fault"}
    return found.pop() if len(found) == 1 else None


# Whether after-school care must be attended ("晚托是不是必须得去啊 我家娃不想留"): a
# question on the care itself, which the classifier takes for a leave request.
_COMPULSORY = re.compile(
    r"必须|一定要|一定得|非得|非去不可|强制|逼着?|自愿|"
    r"(?:可以|能|能不能|可不可以)不(?:去|参加|报|留)|不(?:去|参加|报|留)(?:行不行|可以吗|行吗|要得不|中不中)"
)


def asks_whether_care_is_compulsory(text: str) -> bool:
    """Whether `text` asks if after-school care must be attended, rather than asking for
    a day off (a day named makes it a leave request: "明天必须请假吗" is left alone, the
    caller checks the day)."""
    normalized = normalize_chinese(text or "")
    return bool(_QUESTION.search(normalized) and _COMPULSORY.search(normalized))


# Pay, leave and working time: what staff ask of the rules they work under ("礼拜天被叫去
# 抢修 这加班费咋算的 给几倍工资啊"), which the regulations may or may not cover.
_WORK_TERMS = re.compile(
    r"加班费|加班工资|加班|工资|薪水|薪资|奖金|绩效|补贴|津贴|年假|调休|考勤|值班费"
)


def asks_about_work_rules(text: str) -> bool:
    """Whether `text` asks about pay, leave or working time: a question on the rules,
    answered from the regulations or, where they say nothing, with whom to ask."""
    normalized = normalize_chinese(text or "")
    return bool(_QUESTION.search(normalized) and _WORK_TERMS.search(normalized))
