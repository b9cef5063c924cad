"""How patients and families say things about home visits, read into values; and the
short labels the assistant's lists use."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from bot.models import BookingState, CareVisitKind, HalfDay
from bot.school.wording import format_day
from bot.visits.eligibility import DrugSource, PatientCondition

# Checked in order: "不是卧床" is rare enough in requests to ignore; "没有" comes first so
# that "都没有" is not read as a condition.
_CONDITION_WORDS: tuple[tuple[PatientCondition, tuple[str, ...]], ...] = (
    (PatientCondition.NONE, ("都不是", "都没有", "以上都不", "能走能动", "行动正常", "能自己走")),
    (PatientCondition.BEDRIDDEN, ("卧床", "瘫", "躺在床", "下不了床", "起不来", "起不了床")),
    (
        PatientCondition.LIMITED_MOBILITY,
        ("行动不便", "腿脚不便", "腿脚不好", "走不了", "走不动", "下不了楼", "骨折", "坐轮椅"),
    ),
    (PatientCondition.FRAIL_ELDERLY, ("年老体弱", "体弱", "年纪大", "高龄", "身体虚弱", "老人")),
)
_SOURCE_WORDS: tuple[tuple[DrugSource, tuple[str, ...]], ...] = (
    (DrugSource.UNKNOWN, ("不清楚", "不知道", "不确定", "网上买", "自己买", "药店买", "朋友")),
    (DrugSource.EXTERNAL, ("外院", "别的医院", "其他医院", "大医院", "人民医院", "外来", "带来")),
    (DrugSource.PRESCRIBED_HERE, ("本中心", "这里开", "你们开", "中心开", "社区医生", "站点")),
)
_YES = re.compile(
    r"^(?:是|是的|对|有|有的|嗯|好|可以|开了|已经|用过|打过)|没有(?:任何)?(?:不良|异常|过敏)?反应"
)
_NO = re.compile(r"没有|没|无|不是|还没|否|不")
_MORNING = re.compile(r"上午|早上|早晨|上半天|[89]点|十点|10点|11点|中午前")
_AFTERNOON = re.compile(r"下午|午后|下半天|[1-5]点半?(?!\d)|两点|三点|四点|1[3-7]点")

HALF_DAY_LABELS = {HalfDay.MORNING: "上午", HalfDay.AFTERNOON: "下午"}
# Visits that see an elderly person again; a service visit is labelled with its services.
CARE_VISIT_LABELS = {
    CareVisitKind.FOLLOW_UP: "定期回访",
    CareVisitKind.RECHECK: "季度核实回访",
}
CONDITION_LABELS = {
    PatientCondition.FRAIL_ELDERLY: "年老体弱",
    PatientCondition.BEDRIDDEN: "卧床不起",
    PatientCondition.LIMITED_MOBILITY: "行动不便",
    PatientCondition.NONE: "以上都不是",
}
SOURCE_LABELS = {
    DrugSource.PRESCRIBED_HERE: "本中心开的",
    DrugSource.EXTERNAL: "外院带来的",
    DrugSource.UNKNOWN: "不清楚",
}
STATE_LABELS = {
    BookingState.REQUESTED: "已登记,等待本中心药剂人员审核",
    BookingState.BOOKED: "已预约",
    BookingState.AWAITING_CONSENT: "已预约,待签《家庭输液治疗知情同意书》",
    BookingState.CONSENT_RECORDED: "已签知情同意书,等待护士上门",
    BookingState.DONE: "已完成",
    BookingState.CANCELLED: "已取消",
    BookingState.REFUSED: "不符合出诊条件,未预约",
}


def _clean(text: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text or ""))


def read_condition(text: str) -> PatientCondition | None:
    cleaned = _clean(text)
    for condition in PatientCondition:
        if cleaned in {condition.value, CONDITION_LABELS[condition]}:
            return condition
    for condition, words in _CONDITION_WORDS:
        if any(word in cleaned for word in words):
            return condition
    return None


def read_drug_source(text: str) -> DrugSource | None:
    cleaned = _clean(text)
    for source in DrugSource:
        if cleaned in {source.value, SOURCE_LABELS[source]}:
            return source
    for source, words in _SOURCE_WORDS:
        if any(word in cleaned for word in words):
            return source
    return None


def read_yes_no(text: str) -> bool | None:
    """Yes or no in a short answer: "有的" / "没有医嘱" / "用过,没有不良反应"."""
    cleaned = _clean(text)
    if _YES.search(cleaned):
        return True
    if _NO.search(cleaned):
        return False
    return None


def read_half_day(text: str) -> HalfDay | None:
    cleaned = _clean(text)
    if cleaned in {half_day.value for half_day in HalfDay}:
        return HalfDay(cleaned)
    if _MORNING.search(cleaned):
        return HalfDay.MORNING
    if _AFTERNOON.search(cleaned):
        return HalfDay.AFTERNOON
    return None


def find_phone(text: str) -> str | None:
    """An 11-digit mobile or a landline such as 0571-55550303."""
    cleaned = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", text or ""))
    match = re.search(r"(?<!\d)(?:1\d{10}|0\d{9,11})(?!\d)", cleaned)
    return match.group(0) if match else None


def format_slot(day: date, half_day: HalfDay) -> str:
    """E.g. 11月26日(周四)上午."""
    return f"{format_day(day)}{HALF_DAY_LABELS[half_day]}"
