"""How patients and families say things about home visits, read into values; and the
short labels the assistant's lists use."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import TypeVar

from bot import reading
from bot.infra.text_safety import clean_text
from bot.models import BookingState, CareVisitKind, HalfDay, HomeVisitBooking
from bot.reading import words
from bot.reading.dates import DateParseError, moved_to, wanted_day
from bot.school.wording import format_day
from bot.visits.drugs import default_catalogue, normalize_drug_text
from bot.visits.eligibility import DrugSource, FirstDose, Health, PatientCondition

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
# "社区中心李医生开了…", "中心的王大夫开的": a doctor of the centre prescribed it.
_CENTRE_DOCTOR = re.compile(
    r"(?:本中心|社区中心|卫生服务中心|中心|站点).{0,6}(?:医生|大夫).{0,3}开"
)
_YES = re.compile(
    r"^(?:是|是的|对|有|有的|嗯|好|可以|开了|已经|用过|打过)|没有(?:任何)?(?:不良|异常|过敏)?反应"
)
_NO = re.compile(r"没有|没|无|不是|还没|否|不")


_Value = TypeVar("_Value")


# What families say about the first dose at the first hospital (item 5) and about the
# patient's allergies and contraindications (item 1, item 3). Any sign of a reaction, in
# any wording, counts; a word for one is read as denied only when a negation stands right
# before it ("没起疹子", "没有不良反应") or right after it ("反应都没有").
_REACTION_WORDS = words(
    """
    反应 过敏 疹 痒 红肿 肿 心慌 心悸 心跳 胸闷 气短 气急 喘 憋 呼吸 发烧 发热 烧 发冷 寒战 寒颤
    发抖 哆嗦 打颤 头晕 头昏 晕 头痛 头疼 恶心 想吐 呕 吐 腹泻 拉肚子 不舒服 不适 难受 休克 血压
    冷汗 出汗 冒汗 起包 包 疙瘩 风团 抽搐 抽筋 发紫 脸红 发红 红 静脉炎 疼 痛 麻 没精神 乏力 累
    不对劲 不太好 不好 异常 副作用 问题 情况
    """
)
_REACTION = re.compile("|".join(sorted(_REACTION_WORDS, key=len, reverse=True)))
_NEGATION_BEFORE = re.compile(
    r"(?:没|无|不|未|别|非)(?:有|什么|任何|一点|啥|过|起|出现|发生|不良|异常|过敏|明显|其他|别的|的|药物|药|食物|对)*$"
)
_NEGATION_AFTER = re.compile(
    r"^(?:了|的|过|啊|呀|也|都|一点|点|儿|什么)*(?:没有|没|无|不会)(?!.*(?:但|不过|就是|只是))"
)
# A first dose "given" that then says "有点…" has something to report.
_SOMETHING = re.compile(r"有点|有些|有一点|一点点|稍微|后来|之后|但|不过|可是|就是")
_FINE = re.compile(r"没事|没问题|没啥|正常|挺好|很好|还好|好好的|顺利|没毛病|没什么")
# "没有, 就是有点…": a no that goes on to report something reports it.
_BUT = re.compile(r"但|不过|就是|只是|除了|稍微|有点|有一点|一点点|偶尔|好像")
_GIVEN = re.compile(
    r"用过|打过|输过|挂过|吊过|用了|打了|输了|挂了|吊了|已经|^(?:是|是的|对|嗯|有|有的|好)$"
)
_NOT_GIVEN = re.compile(
    r"(?:还|都|从)?没(?:有)?(?:在[^,，。]{0,6})?(?:用|打|输|挂|吊|开始)|未(?:使用|用)|第一次|头一次|"
    r"^(?:没有|还没有|还没|没|否|不是|不)$"
)
_NONE_SAID = re.compile(
    r"^(?:没有|没|无|都没有|都没|全没有|没有的|没有啊|没有呢|不是|否|一切正常|正常|都正常|挺好|"
    r"挺好的|很好|好好的|没事|没问题|没什么|都挺好|顺利|没毛病)"
)
_CONTRAINDICATION = re.compile(
    r"禁忌|不能输|不宜输|不适合输|不让输|不能打|不宜打|不适合打|医生说不"
)
_DISEASES = re.compile(
    r"高血压|低血压|糖尿病|血糖|心脏|心衰|冠心病|心梗|肾|肝|哮喘|癫痫|怀孕|孕|出血|凝血|"
    r"血小板|透析|癌|肿瘤|化疗|手术|中风|脑梗|脑出血|甲亢|贫血|病"
)
# "也没别的毛病", "没啥病": no illness at all, said in general words. A named one, even
# denied ("没有高血压"), is still for the doctor to check.
_NO_ILLNESS = re.compile(r"(?:没|无)有?(?:别的|其他|其它|啥|什么|任何)?(?:毛病|疾病|病)")
_RECORD_YES = re.compile(
    r"^(?:有|有的|在|在的|带着|带了|都有|是|是的|对|嗯|好)|病历(?:有|在)|有病历"
)
# "没过敏也没禁忌": neither.
_NEITHER = re.compile(r"(?:没有?|无)\S{0,12}(?:也没有?|也无)\S{0,8}")
_RECORD_NO = re.compile(r"没|无|丢|找不到|不在|不见|不知道|不清楚|否|不是")
_MORNING = re.compile(r"上午|早上|早晨|上半天|[89]点|十点|10点|11点|中午前")
_AFTERNOON = re.compile(r"下午|午后|下半天|[1-5]点半?(?!\d)|两点|三点|四点|1[3-7]点")

# The first dose was given, and nothing was said about a reaction yet: ask about it.
GIVEN_ONLY = "given"

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
    BookingState.REQUESTED: "已登记，等待本中心药剂人员审核",
    BookingState.BOOKED: "已预约",
    BookingState.AWAITING_CONSENT: "已预约，待签《家庭输液治疗知情同意书》",
    BookingState.CONSENT_RECORDED: "已签知情同意书，等待护士上门",
    BookingState.DONE: "已完成",
    BookingState.CANCELLED: "已取消",
    BookingState.REFUSED: "不符合出诊条件，未预约",
}


def _clean(text: str) -> str:
    """Simplified characters, half-width forms, no whitespace (as drug names are read)."""
    return normalize_drug_text(text)


def read_condition(text: str) -> PatientCondition | None:
    cleaned = _clean(text)
    for condition in PatientCondition:
        if cleaned in {condition.value, CONDITION_LABELS[condition]}:
            return condition
    return _first_named(cleaned, _CONDITION_WORDS)


# Said in passing (the opening message, the answer about the drug), "不知道" is about
# something else ("不知道能不能上门"): only words that name where a drug came from count.
_SOURCE_IN_PASSING: tuple[tuple[DrugSource, tuple[str, ...]], ...] = (
    (DrugSource.UNKNOWN, ("网上买", "自己买", "药店买", "来源不明", "朋友给", "别人给")),
    (DrugSource.EXTERNAL, ("外院", "别的医院", "其他医院", "大医院", "人民医院", "外来", "带来")),
)


def _first_named(cleaned: str, table: tuple[tuple[_Value, tuple[str, ...]], ...]) -> _Value | None:
    """The first value of `table` one of whose words the text contains."""
    return next((value for value, words in table if any(w in cleaned for w in words)), None)


# Who prescribed the drugs, before them ("社区中心李医生开了", "人民医院给开的", "大夫开了点"):
# a centre, station, clinic or hospital, a doctor with a surname of one or two characters.
_PRESCRIBER = re.compile(
    r"^(?:(?:我们|咱们?|你们)?(?:社区|卫生服务|本)?中心|站点|诊所|[\u4e00-\u9fff]{0,6}医院)?"
    r"(?:的|那儿|那里)?(?:[\u4e00-\u9fff]{1,2}(?=医生|大夫))?(?:医生|大夫)?"
    r"(?<=[心点所院生夫])(?:给|帮)?(?:开|配)(?:了|的)?(?:个|些|点|一些)?(?:药)?(?:是)?[:：,，\s]*"
)


def without_prescriber(text: str) -> str:
    """`text` without the words saying who prescribed the drugs it names ("社区中心李医生开了
    生理盐水加维生素C" -> "生理盐水加维生素C"); unchanged when nothing follows them or when
    those words name a drug themselves ("头孢 医生开了 还有葡萄糖": every drug is checked)."""
    found = _PRESCRIBER.match(text)
    if found is None or not text[found.end() :].strip():
        return text
    said = default_catalogue().read(found.group(0))
    if said.known or any(len(word) > 1 for word in said.unknown):
        return text  # a drug, or a word that may be one, is among them: all are checked
    return text[found.end() :]


def read_drug_source_in_passing(text: str) -> DrugSource | None:
    """Where the drug came from, when a message about something else says it; only the
    sources that lead to more checks (external) or to a refusal (unknown)."""
    return _first_named(_clean(text), _SOURCE_IN_PASSING)


def prescribed_here_in_passing(text: str) -> DrugSource | None:
    """The centre, when a message naming the drugs says a doctor of the centre prescribed
    them ("社区中心李医生开了生理盐水加维生素C"), and names no other source; else None."""
    cleaned = _clean(text)
    if _first_named(cleaned, _SOURCE_WORDS) not in (None, DrugSource.PRESCRIBED_HERE):
        return None
    return DrugSource.PRESCRIBED_HERE if _CENTRE_DOCTOR.search(cleaned) else None


def read_drug_source(text: str) -> DrugSource | None:
    cleaned = _clean(text)
    for source in DrugSource:
        if cleaned in {source.value, SOURCE_LABELS[source]}:
            return source
    named = _first_named(cleaned, _SOURCE_WORDS)
    if named is None and _CENTRE_DOCTOR.search(cleaned):
        return DrugSource.PRESCRIBED_HERE
    return named


# A question's "A不A" ("能不能叫护士来家里打", "有没有别的办法") says neither yes nor no.
_A_NOT_A = re.compile(r"(.)[不没]\1")


def read_yes_no(text: str) -> bool | None:
    """Yes or no in a short answer: "有的" / "没有医嘱" / "用过,没有不良反应"; a question's
    "能不能", "有没有" is neither."""
    cleaned = _A_NOT_A.sub(" ", _clean(text))
    if _YES.search(cleaned):
        return True
    if _NO.search(cleaned):
        return False
    return None


def _said(pattern: re.Pattern[str], cleaned: str) -> bool:
    """Whether the text says what `pattern` finds, somewhere not negated where it stands
    ("起了疹子" yes; "没起疹子", "反应都没有" no)."""
    return any(not _negated(cleaned, m.start(), m.end()) for m in pattern.finditer(cleaned))


def _reactions_said(cleaned: str) -> bool:
    """Whether the text reports anything like a reaction."""
    return _said(_REACTION, cleaned)


def _none_but_something(cleaned: str) -> bool:
    """ "没有, 就是有点…": a denial that goes on to report something."""
    return bool(_NONE_SAID.search(cleaned)) and bool(_BUT.search(cleaned))


def read_first_dose(text: str) -> FirstDose | str | None:
    """Item 5's first dose at the first hospital: a FirstDose when the answer settles it,
    GIVEN_ONLY ("用过", reaction not said), or None when unclear. A reaction in any wording
    wins over every other word ("打过一次 但是起了疹子")."""
    # Spaces part clauses here: "一点反应都没有 用过了" is not "没有用过".
    cleaned = _clean(re.sub(r"\s+", ",", (text or "").strip()))
    if not cleaned:
        return None
    given = bool(_GIVEN.search(cleaned))
    if _reactions_said(cleaned) or (given and _SOMETHING.search(cleaned)):
        return FirstDose.REACTION
    if _NOT_GIVEN.search(cleaned):
        return FirstDose.NOT_GIVEN
    if given:
        # Only negated reaction words ("没什么反应"), or a plain "没事": given, no reaction.
        said_fine = _FINE.search(cleaned) or _REACTION.search(cleaned)
        return FirstDose.NO_REACTION if said_fine else GIVEN_ONLY
    return None


def read_reaction(text: str) -> bool | None:
    """The answer to "any adverse reaction at the first dose?": True for any sign of one
    (or a "no, but…"), False for a plain no, None when unclear."""
    cleaned = _clean(text)
    if not cleaned:
        return None
    if _reactions_said(cleaned) or _none_but_something(cleaned):
        return True
    if _NONE_SAID.search(cleaned) or _REACTION.search(cleaned):
        return False  # only negated reaction words ("一点反应都没有")
    if re.search(r"^(?:有|有的|有过|是|是的|对|嗯)", cleaned):
        return True
    return None


def read_health(text: str) -> Health | None:
    """Allergies and contraindications as the family reports them; None when unclear
    (a bare "有" says neither which nor what)."""
    cleaned = _clean(text)
    if not cleaned:
        return None
    if _said(_ALLERGY, cleaned):
        return Health.ALLERGY
    if _said(_CONTRAINDICATION, cleaned):
        return Health.CONTRAINDICATION
    if _DISEASES.search(_NO_ILLNESS.sub("", cleaned)) or _none_but_something(cleaned):
        return Health.OTHER
    if _NONE_SAID.search(cleaned) or _NEITHER.fullmatch(cleaned):
        return Health.NONE
    if _ALLERGY.search(cleaned) or _CONTRAINDICATION.search(cleaned):
        return Health.NONE  # every mention negated: "没有过敏,也没有禁忌"
    return None


def _negated(cleaned: str, start: int, end: int) -> bool:
    return bool(_NEGATION_BEFORE.search(cleaned[:start]) or _NEGATION_AFTER.search(cleaned[end:]))


# "她对青霉素过敏", "青霉素过敏", "过敏体质": the drug named there is not one to give. The
# phrase reaches back from 过敏 to 对 or to the clause's start, at most 8 characters.
_ALLERGY = re.compile(r"过敏")
_ALLERGY_REACH = 8
_CLAUSE_END = re.compile(r"[,，。;；!！?？\s、]")


def without_allergies(text: str) -> tuple[str, str | None]:
    """The text with its allergy phrases blanked out, and the first phrase that is not
    denied (None when it names no allergy, or only denies one: "没有过敏史")."""
    text = text or ""
    spans: list[tuple[int, int]] = []
    allergy = None
    for match in _ALLERGY.finditer(text):
        start = match.start()
        while start > 0 and match.start() - start < _ALLERGY_REACH:
            if _CLAUSE_END.match(text[start - 1]):
                break
            start -= 1
            if text[start] == "对":
                break
        end = match.end() + (1 if text[match.end() : match.end() + 1] in {"史"} else 0)
        end += 2 if text[match.end() : match.end() + 2] == "体质" else 0
        spans.append((start, end))
        if allergy is None and not _negated(_clean(text), *_clean_span(text, match)):
            allergy = clean_note(text[start:end])
    for start, end in reversed(spans):
        text = text[:start] + " " + text[end:]
    return text, allergy


def _clean_span(text: str, match: re.Match[str]) -> tuple[int, int]:
    start = len(_clean(text[: match.start()]))
    return start, start + len(match.group(0))


def clean_note(text: str) -> str:
    """A family's words as the nurse's list may show them: no control or direction
    characters, one line, at most 100 characters."""
    text = clean_text(unicodedata.normalize("NFKC", text or ""))
    return re.sub(r"\s+", " ", text).strip()[:100]


def read_medical_record(text: str) -> bool | None:
    """Whether an external drug's medical record (病历) is at hand."""
    cleaned = _clean(text)
    if _RECORD_NO.search(cleaned):
        return False
    if _RECORD_YES.search(cleaned):
        return True
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


def corrected_part(text: str) -> str:
    """What follows the last correction words of `text`, or "" when it corrects nothing:
    in "改到下周三下午 哦不对不对 下周三上午" the person wants "下周三上午 …"."""
    return reading.corrected_value(text) if reading.says_correction(text) else ""


def wanted_phone(text: str) -> str | None:
    """The phone `text` gives, as a correction in the same message leaves it ("电话
    13812345799 哦不对 是13812345798": the second)."""
    return find_phone(corrected_part(text)) or find_phone(text)


def wanted_time(text: str, today: date) -> tuple[date | None, HalfDay | None]:
    """The day and half-day `text` asks for (`wanted_day`, `wanted_half_day`), each taken
    from what a correction in the same message says when it names one ("改到下周三下午
    哦不对不对 下周三上午 下午我得去拿药": Wednesday morning; "改到周三下午 不对 上午":
    Wednesday morning too)."""
    corrected = corrected_part(text)
    day: date | None = None
    for said in (corrected, text):
        if not said:
            continue
        try:
            day = wanted_day(said, today)
            break
        except DateParseError:
            continue
    half_day = (_first_half_day(corrected) if corrected else None) or wanted_half_day(text)
    return day, half_day


def _first_half_day(text: str) -> HalfDay | None:
    """The half-day `text` names first ("下午吧 上午有事": the afternoon)."""
    cleaned = _clean(text)
    found = [
        (match.start(), half_day)
        for pattern, half_day in ((_MORNING, HalfDay.MORNING), (_AFTERNOON, HalfDay.AFTERNOON))
        if (match := pattern.search(cleaned))
    ]
    return min(found, key=lambda position: position[0])[1] if found else None


def wanted_half_day(text: str) -> HalfDay | None:
    """The half-day `text` asks for: the first named after a word that moves to a day
    ("后天上午那个 挪到下礼拜一下半天": the afternoon; "后天上午那个挪到周五": none, the
    morning is the one given up), else the one it names."""
    moves = moved_to(text)
    for rest in moves:
        half_day = _first_half_day(rest)
        if half_day is not None:
            return half_day
    return None if moves else read_half_day(text)


def find_phone(text: str) -> str | None:
    """An 11-digit mobile or a landline such as 0571-55550303."""
    phone = reading.find_phone(text)
    return phone.replace("-", "") if phone else None


def visit_flags(booking: HomeVisitBooking) -> str:
    """What the nurse must know before the visit, as flags for their list: an outside drug,
    a request that went through the centre's review, and what the family reported."""
    flags = []
    if booking.drug_source == DrugSource.EXTERNAL.value:
        flags.append("【外院药品：核对首诊医院医嘱和病历】")
    if booking.review_note:
        flags.append(f"【经审核：{booking.review_note}】")
    if booking.family_notes:
        flags.append(f"【家属告知：{clean_note(booking.family_notes)}】")
    return "".join(flags)


def patient_name(booking: HomeVisitBooking) -> str:
    """The patient's name, or a note that none was asked (a request refused at once)."""
    return booking.patient.name if booking.patient else "（未登记患者）"


def format_slot(day: date, half_day: HalfDay) -> str:
    """E.g. 11月26日(周四)上午."""
    return f"{format_day(day)}{HALF_DAY_LABELS[half_day]}"
