"""Short follow-ups read against what was just discussed: right after a leave was recorded,
"后天也请一天" or "周三呢" asks for another leave for the same child; after a gas bill,
"那我欠费不" asks about the bill again; after the business halls' or care times' answer,
"星期天开门吗" or "周三呢" asks the same question for another day; after a leave
cancelled or not found, "哦 我记错了 是下礼拜二那个" cancels that day's.

The NLU alone cannot tell: such messages are read as a bare answer (inform), a goodbye
("那周五呢") or not understood. `resolve_followup` looks back in the conversation's events
(as Rasa stores them, dicts) for the task answered within the last few messages, and at
the message's own words, and names the intent the message stands for, or None.

A follow-up only starts a flow as its first message would: the flow's own questions and
confirmation follow. Bookings that a regulation guards (infusion) are never resolved here,
and nothing is resolved while a form is asking its questions.

Nothing here imports Rasa: actions/followups.py reads the tracker and replays the message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.reading import normalize_chinese
from bot.reading.dates import DateParseError, parse_dates

# Intents the NLU gives such messages; a message read as a service of its own is left to it.
GENERIC_INTENTS = frozenset({"nlu_fallback", "inform", "goodbye"})

# The actions that answer a task, and the flow each answers.
LEAVE, GAS, HALLS, CARE_TIMES = "leave", "gas", "halls", "care_times"
LEAVE_CANCEL = "leave_cancel"
ANSWER_ACTIONS = {
    "action_submit_leave": LEAVE,
    "action_cancel_leave": LEAVE_CANCEL,
    "action_gas_answer": GAS,
    "action_gas_business_halls": HALLS,
    "action_care_times": CARE_TIMES,
}

# A follow-up comes right after the answer: at most this many messages in between,
# the follow-up itself included ("好的" then "那周三呢" still follows up).
MAX_MESSAGES_SINCE_ANSWER = 2
# A follow-up is short; a longer message says what it wants on its own.
MAX_FOLLOWUP_CHARS = 16

# "也", "还", "再", "呢", "那": the words that lean on what was just said.
_LEANS_ON = re.compile(r"也|还|再|呢|那")
_FAREWELL = re.compile(r"再见|拜拜|拜了|回头见|下次见|bye", re.IGNORECASE)
_LEAVE_WORDS = re.compile(r"请|假")
# After a leave was cancelled, or none found on the day named: another day said as a
# correction or in the same breath ("哦 我记错了 是下礼拜二那个", "周五那个也撤了").
_CANCEL_AGAIN = re.compile(r"记错|说错|弄错|搞错|不对|不是|那个|也|还有|撤|取消|不请")
_BILL_WORDS = re.compile(r"欠|余额|账单|费|多少钱|交了|缴")
_USAGE_WORDS = re.compile(r"用气|用量|用了多少|几方|多少方")
_HALL_WORDS = re.compile(r"开门|关门|营业|上班|下班|几点|开不开|休息|营业厅")
_CARE_WORDS = re.compile(r"几点|开始|结束|接|放学|看护|托管")
# A school named by a follow-up of the care times ("那星河小学呢").
_SCHOOL = re.compile(r"\S{1,8}(?:小学|中学|学校|校区)")


@dataclass(frozen=True)
class LastTask:
    """The task answered last: its flow, the messages since (the latest included), and the
    slots the person gave for it that a follow-up of the same task keeps (the leave's child
    and reason)."""

    flow: str
    messages_since: int
    slots: dict[str, Any] = field(default_factory=dict)


def applied_events(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the current session as Rasa applies them: a reverted user message
    (`rewind`, with the listen before it) or action (`undo`) is gone, and nothing before a
    restart or session start."""
    applied: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind in {"restart", "session_started"}:
            applied = []
        elif kind == "rewind":  # the message and the listen before it, as Rasa does
            _drop_back_to(applied, "user")
            _drop_back_to(applied, "action")
        elif kind == "undo":
            _drop_back_to(applied, "action")
        else:
            applied.append(event)
    return applied


def _drop_back_to(events: list[dict[str, Any]], kind: str) -> None:
    while events:
        if events.pop().get("event") == kind:
            return


def last_task(events: Sequence[dict[str, Any]]) -> LastTask | None:
    """The task answered before the latest message, if it was answered within the last
    `MAX_MESSAGES_SINCE_ANSWER` messages and no form has started since."""
    applied = _up_to_latest_message(applied_events(events))
    messages = 0
    for index in range(len(applied) - 1, -1, -1):
        event = applied[index]
        kind = event.get("event")
        if kind == "user":
            messages += 1
            if messages > MAX_MESSAGES_SINCE_ANSWER:
                return None
        elif kind == "active_loop" and event.get("name"):
            return None  # another form started after the answer
        elif kind == "action" and event.get("name") in ANSWER_ACTIONS:
            flow = ANSWER_ACTIONS[str(event.get("name"))]
            before = applied[:index]
            return LastTask(flow, messages, _kept_slots(flow, before))
    return None


def _up_to_latest_message(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events up to the latest message: what the current turn did since (the form
    it started, whose validation reads this) is not "since the answer"."""
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "user":
            return events[: index + 1]
    return events


def _kept_slots(flow: str, events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """For a leave: the child chosen and the reason given, as they were when it was
    recorded (the submit action forgets them)."""
    if flow != LEAVE:
        return {}
    kept: dict[str, Any] = {}
    for name in ("leave_student", "leave_reason"):
        for event in reversed(events):
            if event.get("event") == "slot" and event.get("name") == name:
                if event.get("value") is not None:
                    kept[name] = event["value"]
                break
    return kept


def names_a_day(text: str, today: date) -> bool:
    """Whether the text names a day ("周三", "后天", "12月3号")."""
    try:
        return bool(parse_dates(text, today))
    except DateParseError:
        return False


def resolve_followup(
    events: Sequence[dict[str, Any]], text: str, intent: str | None, today: date
) -> str | None:
    """The intent a short message stands for when it follows up the task just answered
    ("周三呢" after a leave: `request_leave`), or None when it is not such a follow-up.

    `events` end with the message itself; `intent` is what the NLU made of it."""
    if intent not in GENERIC_INTENTS or _in_form(events):
        return None
    words = normalize_chinese(text).strip()
    if not words or len(words) > MAX_FOLLOWUP_CHARS:
        return None
    if _FAREWELL.search(words):
        # "谢谢 再见" that the NLU could not place is seen off (走有送声).
        return "goodbye" if intent != "goodbye" else None
    task = last_task(events)
    if task is None:
        return None
    day = names_a_day(words, today)
    leans_on = bool(_LEANS_ON.search(words))
    if task.flow in {GAS, HALLS}:
        if _USAGE_WORDS.search(words):
            return "check_gas_usage"
        if _BILL_WORDS.search(words):
            return "check_gas_bill"
    if task.flow == LEAVE and day and (leans_on or _LEAVE_WORDS.search(words)):
        return "request_leave"
    if task.flow == LEAVE_CANCEL and day and _CANCEL_AGAIN.search(words):
        return "cancel_leave"
    if task.flow == HALLS and ((day and leans_on) or _HALL_WORDS.search(words)):
        return "ask_business_hall"
    if task.flow == CARE_TIMES and (
        ((day or _SCHOOL.search(words)) and leans_on) or _CARE_WORDS.search(words)
    ):
        return "ask_care_times"
    return None


def carried_slots(events: Sequence[dict[str, Any]], text: str, today: date) -> dict[str, Any]:
    """What a new leave keeps from the leave just recorded, when its first message leans on
    it ("后天也请一天", "周三呢"): the same child and reason. The form still asks for its
    confirmation, which shows both."""
    words = normalize_chinese(text).strip()
    if len(words) > MAX_FOLLOWUP_CHARS or not _LEANS_ON.search(words):
        return {}
    if not names_a_day(words, today):
        return {}
    task = last_task(events)
    if task is None or task.flow != LEAVE:
        return {}
    return dict(task.slots)


def _in_form(events: Sequence[dict[str, Any]]) -> bool:
    """Whether a form (or the two-stage fallback) is active."""
    for event in reversed(applied_events(events)):
        if event.get("event") == "active_loop":
            return bool(event.get("name"))
    return False
