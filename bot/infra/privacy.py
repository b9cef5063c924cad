"""Masking of personal data before it reaches a log.

`mask_personal_data` hides phone, ID and account numbers, the values written after labels
that name a person or what they said (姓名 张三, name=..., "patient": "...", Rasa's
`SlotSet(key: visit_patient_name, value: ...)`), secrets in URLs and the parameters
SQLAlchemy puts in its error messages.

`mask_for_reading` is stricter, for the transcripts shown in the review desk: it also masks
values the conversation is known to hold (slot values such as a patient's name) and words
about health.

`install_log_masking()` makes every log record of the process masked when it is created,
whichever library logs it and whichever handler writes it (Rasa's, sanic's, uvicorn's,
handlers added later too): it wraps the log record factory, and adds `PersonalDataFilter`
to the handlers that exist. Importing the `bot` package installs it, so every process
that loads project code (the Rasa server through the project's NLU components and
channels, the action server through `actions`, the command line, the bridges) masks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

MASK = "***"

# Mainland mobile numbers, optionally with +86 and separators.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?(1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)")
# 18-character resident ID numbers (last character may be X).
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
# Any other run of 7 or more digits: account numbers, landlines, student numbers. A run
# right after a capital letter is one of the project's reference numbers (ticket
# TS20261125-00007, booking SY..., fault BX..., incident E20261125-F64B7D): they name no
# person, and operators look them up in the logs.
_LONG_DIGITS = re.compile(r"(?<![\dA-Z])(\d{2})\d{3,}(\d{2})(?!\d)")

# Keys whose values identify a person or hold what they said: name=, "patient": "...",
# visit_patient_name: ..., password=, access_token=...
_KEY_WORDS = (
    "name|patient|student|holder|guardian|caller|contact|address|phone|mobile|text|"
    "description|reason|staff|drug|occurred|password|secret|token|openid"
)
# A key starts at a word boundary, or right after a JSON-escaped \n or \t.
_KEY = rf"(?:(?<=\\[nt])|(?<!\\)\b)(?:[a-z0-9]+_)*(?:{_KEY_WORDS})\b"
# Keys whose values are free text (what someone said or wrote): masked to the line's end.
_FREE_TEXT_KEY = r"(?:[a-z0-9]+_)*(?:text|description|reason|occurred|address|drug|message)"
# Keys that end in a word above but name program things, not people.
_SAFE_KEYS = {
    "action_name",
    "intent_name",
    "type_name",
    "policy_name",
    "entity_name",
    "slot_name",
    "form_name",
    "logger_name",
    "module_name",
    "file_name",
    "filename",
    "func_name",
    "funcname",
    "thread_name",
    "process_name",
    "task_name",
    "host_name",
    "hostname",
    "server_name",
    "channel_name",
    "model_name",
    "event_name",
    "response_name",
}
# A quoted value (its quote may be JSON-escaped: \"...\"), or a bare one; \uXXXX escapes
# (JSON logs escape Chinese) belong to the value, other escapes end it.
_QUOTED = r"(?P<vq>\\*[\"']).*?(?P=vq)"
_BARE = r"(?:[^\s,;&)}\]|\"'\\]|\\u[0-9a-fA-F]{4})+"
_FREE = r"(?:[^\n|\"'\\]|\\u[0-9a-fA-F]{4})+"
_LABEL = r"(?P<quote>\\*[\"']?)(?P<key>{key})(?P=quote)(?P<sep>\s*[=:]\s*)"
_LABELLED_FREE_TEXT = re.compile(
    _LABEL.format(key=rf"(?:(?<=\\[nt])|(?<!\\)\b){_FREE_TEXT_KEY}\b")
    + rf"(?P<value>{_QUOTED}|{_FREE})",
    re.IGNORECASE,
)
_LABELLED = re.compile(_LABEL.format(key=_KEY) + rf"(?P<value>{_QUOTED}|{_BARE})", re.IGNORECASE)
# Rasa's event reprs: SlotSet(key: visit_patient_name, value: 张三).
_SLOT_EVENT = re.compile(
    rf"(?P<head>key:\s*(?P<key>{_KEY}),\s*value:\s*)(?P<value>[^)\n]*)", re.IGNORECASE
)
# Slot events as dicts: {'event': 'slot', 'name': 'visit_patient_name', 'value': '张三'}.
_SLOT_DICT = re.compile(
    rf"(?P<head>[\"']name[\"']\s*:\s*[\"'](?P<key>{_KEY})[\"']\s*,\s*[\"']value[\"']\s*:\s*)"
    rf"(?P<value>{_QUOTED}|{_BARE})",
    re.IGNORECASE,
)
# Chinese labels: 姓名:张三, 患者张三, 地址 幸福小区3栋.
_HAN_LABELLED = re.compile(
    r"(?P<label>姓名|名字|患者|病人|学生|孩子|老人|户主|联系人|家长|监护人|地址|住址)"
    r"(?P<sep>\s*[是为叫:：=]?\s*)"
    r"(?P<value>[^\s,，。;；、:：)）\]}\"'0-9*]{1,30})"
)
# Rasa's message events: BotUttered('已为张子涵登记请假', ...), UserUttered('...').
_UTTERED = re.compile(r"(?P<head>(?:Bot|User)Uttered\()(?P<vq>\\*[\"']).*?(?P=vq)")
# SQLAlchemy repeats a failed statement's parameters in its error messages.
_SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")
# A Telegram bot token in a Bot API URL.
_BOT_TOKEN = re.compile(r"\bbot\d{5,}:[A-Za-z0-9_-]{20,}")


def _mask_labelled(match: re.Match[str]) -> str:
    if match.group("key").lower() in _SAFE_KEYS:
        return match.group(0)
    quote = match.group("vq")
    masked = f"{quote}{MASK}{quote}" if quote else MASK
    quote = match.group("quote")
    return f"{quote}{match.group('key')}{quote}{match.group('sep')}{masked}"


def _mask_slot_event(match: re.Match[str]) -> str:
    if match.group("key").lower() in _SAFE_KEYS:
        return match.group(0)
    return match.group("head") + MASK


def mask_personal_data(text: str) -> str:
    """Hide personal data and secrets in `text`; what is left reads as before."""
    text = _SQL_PARAMETERS.sub("[parameters: hidden]", text)
    text = _BOT_TOKEN.sub("bot" + MASK, text)
    text = _UTTERED.sub(lambda m: m.group("head") + m.group("vq") + MASK + m.group("vq"), text)
    text = _SLOT_EVENT.sub(_mask_slot_event, text)
    text = _SLOT_DICT.sub(_mask_slot_event, text)
    text = _LABELLED_FREE_TEXT.sub(_mask_labelled, text)
    text = _LABELLED.sub(_mask_labelled, text)
    text = _HAN_LABELLED.sub(lambda m: m.group("label") + m.group("sep") + MASK, text)
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LONG_DIGITS.sub(
        lambda m: (
            m.group(1) + "*" * (len(m.group(0)) - 4) + m.group(2)
            if len(m.group(0)) >= 7
            else m.group(0)
        ),
        text,
    )


# Health, for the transcripts supervisors read: illnesses, symptoms, treatments, and any
# word ending in 病/症/炎/癌 (糖尿病, 抑郁症, 肺炎). Conversations are about services, so a
# word masked too many here costs little.
_HEALTH = re.compile(
    r"[\u4e00-\u9fff]{0,3}(?:病|症|炎|癌|瘤)"
    r"|发烧|发热|高烧|低烧|感冒|咳嗽|拉肚子|腹泻|呕吐|头疼|头痛|肚子疼|牙疼|过敏|骨折|"
    r"住院|出院|手术|化疗|透析|瘫痪|卧床|中风|偏瘫|失智|怀孕|残疾|血压|血糖|打针|吃药"
)
_MIN_KNOWN_VALUE = 2  # a known value of one character would mask that character everywhere


def mask_known_values(text: str, values: Iterable[str]) -> str:
    """`text` with each of `values` (what the conversation told the assistant: a name, an
    address, a reason) masked wherever it appears, longest first."""
    for value in sorted({v.strip() for v in values}, key=len, reverse=True):
        if len(value) >= _MIN_KNOWN_VALUE:
            text = text.replace(value, MASK)
    return text


def mask_sender_id(sender_id: str) -> str:
    """A chat sender id as a page may show it: the channel and the last 4 characters of the
    platform's id (tg:***0001, wx:***Xb7Q), as phone numbers keep their last digits."""
    channel, _, platform_id = sender_id.rpartition(":")
    tail = platform_id[-4:] if len(platform_id) > 8 else ""
    return f"{channel}:{MASK}{tail}" if channel else f"{MASK}{tail}"


def mask_for_reading(text: str, known_values: Iterable[str] = (), health: bool = True) -> str:
    """What a supervisor may read of a conversation: `mask_personal_data`, then the known
    personal values of the conversation, then (with `health`) health words."""
    text = mask_known_values(mask_personal_data(text), known_values)
    return _HEALTH.sub(MASK, text) if health else text


def mask_record(record: logging.LogRecord) -> None:
    """Mask a record's message (with its arguments), exception text and stack in place."""
    if getattr(record, "_personal_data_masked", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: logging reports it; nothing is formatted here
        return
    masked = mask_personal_data(message)
    if masked != message or record.args:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_personal_data(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_personal_data(record.stack_info)
    record._personal_data_masked = True


class PersonalDataFilter(logging.Filter):
    """A logging filter that masks personal data in every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


_FactoryT = Callable[..., logging.LogRecord]


def _masking_factory(previous: _FactoryT) -> _FactoryT:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        mask_record(record)
        return record

    factory.masks_personal_data = True  # type: ignore[attr-defined]
    return factory


def add_filter_to_handlers() -> None:
    """Add `PersonalDataFilter` to every handler of every logger that exists now."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
                handler.addFilter(PersonalDataFilter())


def install_log_masking() -> None:
    """Mask every log record this process creates from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "masks_personal_data", False):
        logging.setLogRecordFactory(_masking_factory(current))
    add_filter_to_handlers()
