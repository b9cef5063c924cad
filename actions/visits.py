"""Home visits in chat: book a home infusion (服务管理制度6) or a home elderly-care visit
(服务管理制度8); check and cancel a booking by its number; a nurse's list of visits.

The rules (eligibility, the covering team, capacity, states) are in `bot.visits`; this
module reads slots, calls the use cases of `bot.visits.service` and utters responses
from the domain.
"""

from __future__ import annotations

import contextlib
import logging
import re
from abc import abstractmethod
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms import HANDOVERS, FormEngine, asks_aside, latest_intent
from actions.message import STOP_INTENTS, input_channel, latest_text
from bot.incidents import report_incident, reports_incidents
from bot.infra import clock
from bot.infra.db import DatabaseUnavailable
from bot.models import HalfDay
from bot.reading import COMMON_SURNAMES, corrected_value, says_correction, says_stop
from bot.reading.dates import DateParseError, parse_dates, wanted_day
from bot.school.wording import format_day, format_days
from bot.visits import service
from bot.visits.booking import (
    BookingOutcome,
    ChangeOutcome,
    PatientDetails,
    SlotOffer,
    VisitTimeProblem,
    advance_days,
    check_visit_time,
    find_booking_no,
    without_booking_no,
)
from bot.visits.drugs import default_catalogue
from bot.visits.elderly import SERVICE_ITEMS, read_service_items
from bot.visits.eligibility import (
    DrugSource,
    ExplanationCode,
    Fact,
    FirstDose,
    Health,
    InfusionDecision,
    InfusionRequest,
    Outcome,
    PatientCondition,
    check_infusion_eligibility,
)
from bot.visits.wording import (
    CARE_VISIT_LABELS,
    CONDITION_LABELS,
    GIVEN_ONLY,
    HALF_DAY_LABELS,
    STATE_LABELS,
    clean_note,
    find_phone,
    format_slot,
    prescribed_here_in_passing,
    read_condition,
    read_drug_source,
    read_drug_source_in_passing,
    read_first_dose,
    read_half_day,
    read_health,
    read_medical_record,
    read_reaction,
    read_yes_no,
    wanted_half_day,
    wanted_phone,
    wanted_time,
    without_allergies,
    without_prescriber,
)

logger = logging.getLogger(__name__)

VISIT_SLOTS = (
    "visit_condition",
    "visit_drug",
    "visit_drug_more",
    "visit_drugs_later",
    "visit_drug_source",
    "visit_first_dose",
    "visit_first_reaction",
    "visit_medical_record",
    "visit_doctor_order",
    "visit_health",
    "visit_health_note",
    "visit_unclear",
    "visit_patient_name",
    "visit_phone",
    "visit_address",
    "visit_community",
    "visit_date",
    "visit_half_day",
    "care_items",
    "care_confirmed",
    "visit_blocked",
)
YES, NO = "yes", "no"
_CONDITIONS = {condition.value for condition in PatientCondition}
_SOURCES = {source.value for source in DrugSource}
_FIRST_DOSES = {answer.value for answer in FirstDose}
_HEALTH = {answer.value for answer in Health}
# Slots whose answer may be a plain "no" (or "不知道" for the drug): a denial there is an
# answer, not a wish to stop; stop words still stop.
_YES_NO_SLOTS = {
    "visit_drug",
    "visit_doctor_order",
    "visit_drug_more",
    "visit_first_dose",
    "visit_first_reaction",
    "visit_medical_record",
    "visit_health",
}
# How an address is led into ("住在康乐苑3栋201", "地址是…"); the parts of a message.
_ADDRESS_LEAD = re.compile(
    r"^(?:我家|她家|他家|家里|老人)?(?:地址|住址)?(?:是|在)?(?:家住|住在|家在|住)?[:：]?"
)
_PARTS = re.compile(r"[\s,，。;；!！?？]+")
_DIGIT = re.compile(r"\d")
# Words, then a house number with its building, unit and room ("滨江路20号3单元501").
_ADDRESS_SHAPE = re.compile(
    r"(?P<place>[\u4e00-\u9fff]{2,})(?P<numbers>\d+(?:号楼|号|幢|栋|弄|单元|室|楼|层|-)"
    r"(?:\d+(?:号楼|号|幢|栋|弄|单元|室|楼|层|-)?)*)"
)
# A name given after who the person is: a kinship word or 患者/老人, a common surname and
# one or two characters, then a pause ("俺爸韩德山 八十了").
_SURNAMES = COMMON_SURNAMES + (
    "于常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯"
    "纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司"
    "卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋"
    "商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_NAMED = re.compile(
    r"(?:(?:俺|我)?(?:爸|妈|娘|爹|父亲|母亲|爷爷|奶奶|姥姥|姥爷|外婆|外公|老伴|老爷子|老太太|"
    r"患者|病人|老人)(?:叫|是|姓名)?"
    # "她叫费秀云 住书香苑9幢101": a pronoun names only with 叫 or 名字
    r"|(?:^|(?<=[\s,，。;；!！、]))(?:她|他|她老人家|他老人家|老人家)?的?(?:叫|名字叫|名字是|姓名是))[:：]?"
    rf"(?P<name>[{_SURNAMES}][\u4e00-\u9fff]{{1,2}})"
    # a pause, or, in words run together by voice input, what follows a name
    r"(?=[\s,，。;；!！、]|$|\d|一个人|住在|家住|今年|电话|手机|联系|申请|预约|登记|报名)"
)
_NOT_NAME = re.compile(r"[血压病糖瘫岁床龄烧疼痛癌药针腿脚]|高兴|不好|不行|没事")
# Words adding to what was asked for ("再加个送饭", "还要助洁").
_ADDS = re.compile(r"加|还要|还想|也要|也想|另外|再要|再找|顺便")
# A name is a few characters; more is a sentence ("对了 再加个送饭"), unless it has the
# separator of a transliterated name ("阿依古丽·买买提").
MAX_NAME_CHARS = 6
_NAME_PREFIX = re.compile(r"^(?:患者|病人|老人|老人家|姓名|名字|我叫|他叫|她叫|叫|是)[是叫::\s]*")
_PUNCTUATION = re.compile(r"[\s,,。.!!]")
TIME_PROBLEMS = {
    VisitTimeProblem.PAST: "utter_visit_date_past",
    VisitTimeProblem.TOO_FAR: "utter_visit_date_too_far",
    VisitTimeProblem.STARTED: "utter_visit_half_day_started",
}
CHANGE_RESPONSES = {
    ChangeOutcome.DONE: "utter_visit_cancelled",
    ChangeOutcome.FINAL: "utter_visit_cancel_final",
    ChangeOutcome.PAST: "utter_visit_cancel_past",
}


# The infusion form's slots for each fact of 服务管理制度6, in asking order (the facts that
# can refuse come before the patient's personal details).
FACT_SLOTS: dict[Fact, tuple[str, ...]] = {
    Fact.CONDITION: ("visit_condition",),
    Fact.DRUG: ("visit_drug", "visit_drug_more"),
    Fact.DRUG_SOURCE: ("visit_drug_source",),
    Fact.FIRST_DOSE: ("visit_first_dose", "visit_first_reaction"),
    Fact.MEDICAL_RECORD: ("visit_medical_record",),
    Fact.DOCTOR_ORDER: ("visit_doctor_order",),
    Fact.HEALTH: ("visit_health",),
}
PERSONAL_SLOTS = ("visit_patient_name", "visit_phone", "visit_address")
# A safety question left unclear twice takes its unsafe answer (eligibility's docstring).
UNSAFE_ANSWERS = {
    "visit_condition": PatientCondition.NONE.value,
    "visit_drug_source": DrugSource.UNKNOWN.value,
    "visit_first_dose": FirstDose.UNCLEAR.value,
    "visit_first_reaction": FirstDose.UNCLEAR.value,
    "visit_medical_record": NO,
    "visit_doctor_order": NO,
    "visit_health": Health.UNCLEAR.value,
}
UNCLEAR_RESPONSES = {
    "visit_condition": "utter_visit_condition_unclear",
    "visit_drug": "utter_visit_drug_unclear",
    "visit_drug_source": "utter_visit_drug_source_unclear",
    "visit_first_dose": "utter_visit_first_dose_unclear",
    "visit_first_reaction": "utter_visit_first_reaction_unclear",
    "visit_medical_record": "utter_visit_yes_no_unclear",
    "visit_doctor_order": "utter_visit_yes_no_unclear",
    "visit_health": "utter_visit_health_unclear",
}
NOTHING_MORE = "none"


def _first_dose(tracker: Tracker) -> FirstDose | None:
    first, reaction = tracker.get_slot("visit_first_dose"), tracker.get_slot("visit_first_reaction")
    if first in _FIRST_DOSES:
        return FirstDose(first)
    if first != GIVEN_ONLY or reaction is None:
        return None
    if reaction in _FIRST_DOSES:
        return FirstDose(reaction)
    # Before validation the slot holds the raw answer: only a validated yes or no counts.
    return {YES: FirstDose.REACTION, NO: FirstDose.NO_REACTION}.get(str(reaction))


def _drug_text(tracker: Tracker) -> str | None:
    """Every drug the family named: the answer to "which drugs?" (or the opening message's
    drugs), what they added when asked for more, and drugs named in any later answer."""
    parts = [
        tracker.get_slot("visit_drug"),
        tracker.get_slot("visit_drug_more"),
        tracker.get_slot("visit_drugs_later"),
    ]
    said = [str(part) for part in parts if part and part != NOTHING_MORE]
    return "、".join(said) if said else None


def _yes_no_slot(tracker: Tracker, slot: str) -> bool | None:
    value = tracker.get_slot(slot)
    return None if value not in {YES, NO} else value == YES


def _infusion_request(tracker: Tracker) -> InfusionRequest:
    """The request as far as the form has it: None for whatever is not known yet. Only
    validated values count (before validation a slot holds the raw answer)."""
    get = tracker.get_slot
    condition, source, health = (
        get("visit_condition"),
        get("visit_drug_source"),
        get("visit_health"),
    )
    drug_text = _drug_text(tracker) if get("visit_drug") else None
    return InfusionRequest(
        condition=PatientCondition(condition) if condition in _CONDITIONS else None,
        has_doctor_order=_yes_no_slot(tracker, "visit_doctor_order"),
        drug_text=drug_text,
        drug_confirmed=get("visit_drug_more") is not None,
        drug_source=DrugSource(source) if source in _SOURCES else None,
        first_dose=_first_dose(tracker),
        medical_record=_yes_no_slot(tracker, "visit_medical_record"),
        health=Health(health) if health in _HEALTH else None,
    )


def _decision(tracker: Tracker) -> InfusionDecision:
    return check_infusion_eligibility(_infusion_request(tracker), default_catalogue())


def _family_notes(tracker: Tracker, request: InfusionRequest) -> str:
    """What the family told about the patient and the drugs, for the nurse's list."""
    notes = []
    if request.drug_source is DrugSource.EXTERNAL:  # flagged on its own (visit_flags)
        if request.first_dose is FirstDose.NO_REACTION:
            notes.append("首诊医院已用过一次，家属称无不良反应")
        if request.medical_record:
            notes.append("有首诊医院病历")
    health_note = tracker.get_slot("visit_health_note")
    if request.health is Health.NONE:
        notes.append("家属称无过敏史、无禁忌症")
    elif health_note:
        notes.append(f"家属告知：{health_note}")
    return ";".join(notes)[:300]


def _offer_buttons(offers: tuple[SlotOffer, ...]) -> list[dict[str, str]]:
    return [
        {"title": format_slot(o.day, o.half_day), "payload": format_slot(o.day, o.half_day)}
        for o in offers
    ]


def _half_day_if_free(
    dispatcher: CollectingDispatcher, community_id: str | None, day: date, half_day: HalfDay
) -> dict[str, Any]:
    """The half-day, when a nurse of the community's team is free then; otherwise the free
    half-days nearby as buttons, and the day and half-day asked again."""
    offers = service.offers_instead(
        community_id=community_id, day=day, half_day=half_day, now=clock.now()
    )
    if offers is None:
        return {"visit_half_day": half_day.value}
    dispatcher.utter_message(
        response="utter_visit_slot_full" if offers else "utter_visit_no_free_slot",
        slot=format_slot(day, half_day),
        buttons=_offer_buttons(offers),
    )
    return {"visit_date": None, "visit_half_day": None}


class _VisitFormValidation(FormEngine):
    """What both visit forms collect: who, where, which day and half-day."""

    stop_slot = "visit_blocked"
    stopped_response = "utter_visit_abandoned"
    yes_no_slots = frozenset(_YES_NO_SLOTS)
    # A correction moves the visit; the regulation's facts (drugs, their source, allergies)
    # are read by their own questions and `_heard_in_passing`, which add and never replace.
    correctable_slots = frozenset({"visit_date", "visit_half_day"})

    @abstractmethod
    def name(self) -> str:
        """The form's validation action."""

    def _prefill(self, tracker: Tracker) -> dict[str, Any]:
        text = latest_text(tracker)
        slots: dict[str, Any] = dict.fromkeys(VISIT_SLOTS)
        slots["visit_phone"] = wanted_phone(text)
        slots["visit_patient_name"] = name_in(text)
        address = address_in(text)
        if address is not None:
            # Its numbers are not dates: "人民路3号" is no 3rd of the month.
            slots["visit_address"] = address
            text = text.replace(address, " ")
        # "改下礼拜一下午 后天俺闺女不在家": the day moved to, not the one given up; "后天上午
        # 哦不对 下午": what the message corrects itself to.
        day, half_day = wanted_time(text, clock.today())
        slots["visit_date"] = day.isoformat() if day else None
        if half_day and slots["visit_date"]:
            slots["visit_half_day"] = half_day.value
        slots.update(self._prefill_more(text))
        return slots

    def _prefill_more(self, text: str) -> dict[str, Any]:
        return {}

    def _stopped(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        said_stop = says_stop(latest_text(tracker))
        denied = tracker.get_intent_of_latest_message() in STOP_INTENTS
        if said_stop or (denied and tracker.get_slot("requested_slot") not in self.yes_no_slots):
            dispatcher.utter_message(response="utter_visit_abandoned")
            return True
        return False

    def validate_visit_patient_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_patient_name": None, "visit_blocked": True}
        # "她叫费秀云 住书香苑9幢101 电话138…": the name in a sentence giving more.
        named = name_in(str(value or ""))
        if named:
            return {"visit_patient_name": named}
        name = _PUNCTUATION.sub("", _NAME_PREFIX.sub("", str(value or "").strip()))
        too_long = len(name) > (20 if "·" in name else MAX_NAME_CHARS)
        if not name or too_long or any(ch.isdigit() for ch in name):
            dispatcher.utter_message(response="utter_visit_name_invalid")
            return {"visit_patient_name": None}
        return {"visit_patient_name": name}

    def validate_visit_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        phone = wanted_phone(str(value or ""))
        if phone:
            return {"visit_phone": phone}
        if self._stopped(dispatcher, tracker):
            return {"visit_phone": None, "visit_blocked": True}
        dispatcher.utter_message(response="utter_visit_phone_invalid")
        return {"visit_phone": None}

    def validate_visit_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_address": None, "visit_blocked": True}
        address = str(value or "").strip()[:200]
        check = service.check_address(address=address)
        if check.community_id is None:
            names = "、".join(check.served)
            dispatcher.utter_message(response="utter_visit_address_outside", communities=names)
            return {"visit_address": None}
        return {"visit_address": address, "visit_community": str(check.community_id)}

    def validate_visit_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_date": None, "visit_blocked": True}
        text = str(value or "")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            try:
                day = wanted_day(text, clock.today())
            except DateParseError:
                dispatcher.utter_message(response="utter_visit_date_unclear")
                return {"visit_date": None}
        half_day = wanted_half_day(text)
        if half_day is None:
            half_day = read_half_day(str(tracker.get_slot("visit_half_day") or ""))
        problem = check_visit_time(day, half_day, clock.now())
        if problem is not None:
            dispatcher.utter_message(
                response=TIME_PROBLEMS[problem], day=format_day(day), days=advance_days()
            )
            return {"visit_date": None, "visit_half_day": None}
        slots: dict[str, Any] = {"visit_date": day.isoformat()}
        if half_day is not None:
            slots.update(self._half_day_checked(half_day, day, dispatcher, tracker))
        return slots

    def validate_visit_half_day(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_half_day": None, "visit_blocked": True}
        text = str(value or "")
        half_day = HalfDay(text) if text in {h.value for h in HalfDay} else read_half_day(text)
        if half_day is None:
            dispatcher.utter_message(response="utter_visit_half_day_unclear")
            return {"visit_half_day": None}
        day_text = tracker.get_slot("visit_date")
        if not day_text:
            return {"visit_half_day": half_day.value}
        day = date.fromisoformat(day_text)
        problem = check_visit_time(day, half_day, clock.now())
        if problem is not None:
            dispatcher.utter_message(
                response=TIME_PROBLEMS[problem], day=format_day(day), days=advance_days()
            )
            return {"visit_date": None, "visit_half_day": None}
        return self._half_day_checked(half_day, day, dispatcher, tracker)

    def _half_day_checked(
        self,
        half_day: HalfDay,
        day: date,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        return {"visit_half_day": half_day.value}


# "不用来了 老头子住院了" after "后天下午护士上门打针那个": the booking on record is called
# off, not the one being asked for.
_CANCELS_VISIT = re.compile(r"取消|不用来|别来|不来了|不用上门|不约了|退掉")


class ValidateInfusionForm(_VisitFormValidation):
    """Asks what 服务管理制度6 asks about first, refusing as soon as one answer refuses,
    then the patient, the place and a half-day. Drugs named in any message are checked."""

    handovers: ClassVar[Mapping[str, re.Pattern[str]]] = {
        **HANDOVERS,
        "cancel_booking": _CANCELS_VISIT,
    }

    # A day, half-day or phone said in passing ("能不能叫护士来家里打 下礼拜一上午") is kept
    # for when it is asked (`_also_given`); the regulation's questions keep their order.
    reads_every_message = True

    def name(self) -> str:
        return "validate_infusion_form"

    def _also_given(self, tracker: Tracker) -> list[EventType]:
        """Only a phone, and a day and half-day the visit could be booked on, from a
        message answering another question: a day in the past ("第一次是20号在医院打的")
        is no visit day, and says nothing of it."""
        given = {
            event["name"]: event["value"]
            for event in super()._also_given(tracker)
            if event["name"] in {"visit_date", "visit_half_day", "visit_phone"}
        }
        day_text = given.get("visit_date")
        if day_text:
            half = given.get("visit_half_day")
            problem = check_visit_time(
                date.fromisoformat(day_text), HalfDay(half) if half else None, clock.now()
            )
            if problem is not None:
                given.pop("visit_date")
                given.pop("visit_half_day", None)
        return [SlotSet(name, value) for name, value in given.items()]

    def _hands_over(self, tracker: Tracker) -> bool:
        """A cancellation ends the booking being asked for only when the conversation
        names a booking on record (its number, or its day in this message or the one
        that started the form): "不用来了" alone may call off only the new one."""
        if not super()._hands_over(tracker):
            return False
        intent, _ = latest_intent(tracker)
        return intent != "cancel_booking" or _names_an_open_booking(tracker)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        heard = self._heard_in_passing(tracker)
        tracker.add_slots(heard)
        events = await super().run(dispatcher, tracker, domain)
        return [*heard, *events]

    def _heard_in_passing(self, tracker: Tracker) -> list[EventType]:
        """Drugs and allergies mentioned in an answer to another question ("康乐苑3栋,
        对了还要加头孢"): the drugs join the list, an allergy answers the health question."""
        requested = tracker.get_slot("requested_slot")
        if requested is None or requested in {"visit_drug", "visit_drug_more", "visit_health"}:
            return []
        if asks_aside(tracker, self.aside_intents):
            return []
        text, allergy = without_allergies(latest_text(tracker))
        events: list[EventType] = []
        known = default_catalogue().read(text).known
        later = str(tracker.get_slot("visit_drugs_later") or "")
        new = [drug.name for drug in known if drug.name not in later]
        if new:
            events.append(SlotSet("visit_drugs_later", "、".join(filter(None, [later, *new]))))
        if allergy and tracker.get_slot("visit_health") is None:
            events += [
                SlotSet("visit_health", Health.ALLERGY.value),
                SlotSet("visit_health_note", allergy),
            ]
        return events

    def _prefill_more(self, text: str) -> dict[str, Any]:
        slots: dict[str, Any] = {}
        drug_text, allergy = without_allergies(text)
        condition = read_condition(text)
        if condition in {PatientCondition.BEDRIDDEN, PatientCondition.LIMITED_MOBILITY}:
            slots["visit_condition"] = condition.value if condition else None
        known = default_catalogue().read(drug_text).known
        if known:
            # Asked to confirm (visit_drug_more): the opening rarely lists every drug.
            slots["visit_drug"] = "、".join(drug.name for drug in known)
        # Only the sources that lead to more checks are taken from the opening; "本中心
        # 开的" is asked, so that a passing "社区医生" never skips item 5's questions.
        source = read_drug_source_in_passing(text)
        if source is not None:
            slots["visit_drug_source"] = source.value
        if allergy:
            slots["visit_health"], slots["visit_health_note"] = Health.ALLERGY.value, allergy
        return slots

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("visit_blocked"):
            return []
        decision = _decision(tracker)
        if decision.outcome is Outcome.REFUSED:
            return []  # told at once, before any personal detail is asked
        slots = [slot for fact in Fact for slot in self._fact_slots(fact, tracker)]
        return [*slots, *PERSONAL_SLOTS, "visit_date", "visit_half_day"]

    @staticmethod
    def _fact_slots(fact: Fact, tracker: Tracker) -> tuple[str, ...]:
        external = tracker.get_slot("visit_drug_source") == DrugSource.EXTERNAL.value
        if fact in {Fact.FIRST_DOSE, Fact.MEDICAL_RECORD} and not external:
            return ()
        if fact is Fact.FIRST_DOSE and tracker.get_slot("visit_first_dose") != GIVEN_ONLY:
            return ("visit_first_dose",)
        return FACT_SLOTS[fact]

    def _unclear(
        self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """An answer that could not be read: ask again once; the second time, take the
        unsafe answer (or, for the drug, keep what was written for the pharmacist)."""
        unclear = set(str(tracker.get_slot("visit_unclear") or "").split())
        if slot not in unclear:
            dispatcher.utter_message(response=UNCLEAR_RESPONSES[slot])
            return {slot: None, "visit_unclear": " ".join(sorted(unclear | {slot}))}
        if slot == "visit_drug":
            return {
                slot: latest_text(tracker).strip()[:100] or "?",
                "visit_drug_more": NOTHING_MORE,
            }
        dispatcher.utter_message(response="utter_visit_unclear_twice")
        return {slot: UNSAFE_ANSWERS[slot]}

    def validate_visit_condition(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        condition = read_condition(str(value or ""))
        if condition is not None:
            return {"visit_condition": condition.value}
        if self._stopped(dispatcher, tracker):
            return {"visit_condition": None, "visit_blocked": True}
        return self._unclear("visit_condition", dispatcher, tracker)

    def validate_visit_drug(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_drug": None, "visit_blocked": True}
        text = str(value or "").strip()[:100]
        if tracker.get_slot("requested_slot") != "visit_drug":
            return {"visit_drug": text or None}  # from the opening message: confirmed next
        drug_text, allergy = without_allergies(text)
        # "社区中心李医生开了生理盐水加维生素C": the drugs, not who prescribed them.
        drug_text = without_prescriber(drug_text)
        heard = self._allergy_slots(allergy, tracker)
        # "人民医院开的 左氧氟沙星" also says where it comes from; only the sources that
        # lead to more checks are taken this way (as from the opening message).
        source = read_drug_source_in_passing(text) or prescribed_here_in_passing(text)
        if source is not None and not tracker.get_slot("visit_drug_source"):
            heard["visit_drug_source"] = source.value
        if default_catalogue().read(drug_text).names_nothing:
            return {**self._unclear("visit_drug", dispatcher, tracker), **heard}
        # The whole answer is kept: a word the table does not know goes to the pharmacist.
        return {"visit_drug": drug_text, "visit_drug_more": NOTHING_MORE, **heard}

    def validate_visit_drug_more(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_drug_more": None, "visit_blocked": True}
        drug_text, allergy = without_allergies(str(value or "").strip()[:100])
        reading = default_catalogue().read(drug_text)
        more = NOTHING_MORE if reading.names_nothing else drug_text
        return {"visit_drug_more": more, **self._allergy_slots(allergy, tracker)}

    @staticmethod
    def _allergy_slots(allergy: str | None, tracker: Tracker) -> dict[str, Any]:
        if not allergy or tracker.get_slot("visit_health") is not None:
            return {}
        return {"visit_health": Health.ALLERGY.value, "visit_health_note": allergy}

    def validate_visit_drug_source(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        source = read_drug_source(str(value or ""))
        if source is not None:
            return {"visit_drug_source": source.value}
        if self._stopped(dispatcher, tracker):
            return {"visit_drug_source": None, "visit_blocked": True}
        return self._unclear("visit_drug_source", dispatcher, tracker)

    def validate_visit_first_dose(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_first_dose": None, "visit_blocked": True}
        text = str(value or "")
        answer = read_first_dose(text)
        if answer is None and not text.startswith("/"):
            return self._unclear("visit_first_dose", dispatcher, tracker)
        if answer is None:  # a button: "是" asks about reactions next, "还没有" is no
            intent = tracker.get_intent_of_latest_message()
            answer = {"affirm": GIVEN_ONLY, "deny": FirstDose.NOT_GIVEN}.get(str(intent))
            if answer is None:
                return self._unclear("visit_first_dose", dispatcher, tracker)
        value = answer.value if isinstance(answer, FirstDose) else answer
        return {"visit_first_dose": value, **self._reaction_note(text, answer)}

    @staticmethod
    def _reaction_note(text: str, answer: FirstDose | str) -> dict[str, Any]:
        if answer is FirstDose.REACTION:
            return {"visit_health_note": clean_note(text)}
        return {}

    def validate_visit_first_reaction(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_first_reaction": None, "visit_blocked": True}
        text = str(value or "")
        reaction = read_reaction(text)
        if reaction is None and text.startswith("/"):
            intent = tracker.get_intent_of_latest_message()
            reaction = {"affirm": True, "deny": False}.get(str(intent))
        if reaction is None:
            return self._unclear("visit_first_reaction", dispatcher, tracker)
        slots: dict[str, Any] = {"visit_first_reaction": YES if reaction else NO}
        if reaction:
            slots["visit_health_note"] = clean_note(text)
        return slots

    def validate_visit_medical_record(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        answer = self._yes_no("visit_medical_record", value, tracker, read_medical_record)
        if answer is not None:
            return {"visit_medical_record": answer}
        if self._stopped(dispatcher, tracker):
            return {"visit_medical_record": None, "visit_blocked": True}
        return self._unclear("visit_medical_record", dispatcher, tracker)

    def validate_visit_doctor_order(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        answer = self._yes_no("visit_doctor_order", value, tracker, read_yes_no)
        if answer is not None:
            return {"visit_doctor_order": answer}
        if self._stopped(dispatcher, tracker):
            return {"visit_doctor_order": None, "visit_blocked": True}
        return self._unclear("visit_doctor_order", dispatcher, tracker)

    def validate_visit_health(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"visit_health": None, "visit_blocked": True}
        text = str(value or "")
        if text in _HEALTH:  # set by this form (an allergy heard earlier), not typed
            return {"visit_health": text}
        health = read_health(text)
        if health is None and text.startswith("/"):
            intent = tracker.get_intent_of_latest_message()
            health = Health.NONE if intent == "deny" else None  # a bare "有" says not what
        if health is None:
            return self._unclear("visit_health", dispatcher, tracker)
        note = clean_note(text) if health is not Health.NONE else None
        return {"visit_health": health.value, "visit_health_note": note}

    def _yes_no(
        self, slot: str, value: Any, tracker: Tracker, read: Callable[[str], bool | None]
    ) -> str | None:
        """A yes or no: the words first ("有的" / "没有医嘱"), then a button's intent."""
        text = str(value or "")
        if text in {YES, NO}:
            return text
        answer = read(text) if not text.startswith("/") else None
        intent = tracker.get_intent_of_latest_message()
        if answer is None and tracker.get_slot("requested_slot") == slot:
            answer = {"affirm": True, "deny": False}.get(str(intent))
        return None if answer is None else (YES if answer else NO)

    def _half_day_checked(
        self,
        half_day: HalfDay,
        day: date,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        """For a booking that can be made, check that a nurse is free that half-day."""
        if _decision(tracker).outcome is not Outcome.ELIGIBLE:
            return {"visit_half_day": half_day.value}
        return _half_day_if_free(dispatcher, tracker.get_slot("visit_community"), day, half_day)


class ValidateCareForm(_VisitFormValidation):
    """Collects the elderly person, the place, the services and the first visit, and has
    the summary confirmed; any of them can be corrected before it is."""

    yes_no_slots = frozenset({"care_confirmed"})
    correctable_slots = frozenset(
        {"visit_phone", "visit_address", "care_items", "visit_date", "visit_half_day"}
    )
    # "她叫费秀云 住书香苑9幢101 电话138…" answers the name and gives the rest: nothing
    # here has an order the regulations set.
    reads_every_message = True

    def name(self) -> str:
        return "validate_care_form"

    @reports_incidents
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # "打扫不要了 就要送饭" drops one service, however much it sounds like a stop.
        added = _care_items_dropped(tracker)
        if added is None:
            added = _care_items_added(tracker)
            if added is None or self._says_stop(tracker):
                return await super().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_care_items_added", items=added)
        requested = tracker.get_slot("requested_slot")
        given = self._prefill(tracker)
        if given.get(requested) is not None or find_phone(latest_text(tracker)):
            # "下周一 另外加个理发": the services joined, the day still answers.
            tracker.add_slots([SlotSet("care_items", added)])
            return [SlotSet("care_items", added), *await super().run(dispatcher, tracker, domain)]
        # "对了 再加个送饭" while asked for the name: the service joins the others, and the
        # question is asked again (the message is no name).
        filled = [name for name in tracker.slots_to_validate() if name != "requested_slot"]
        cleared = [name for name in dict.fromkeys([requested, *filled]) if name != "care_items"]
        return [SlotSet("care_items", added), *(SlotSet(name, None) for name in cleared)]

    def _prefill_more(self, text: str) -> dict[str, Any]:
        slots: dict[str, Any] = {}
        # "洗澡不要了 换成送饭吧 电话说错了 是…": what a part drops is no service wanted.
        _, dropped = _items_named_and_dropped(text)
        items = [item for item in read_service_items(text) if item not in dropped]
        if items:
            slots["care_items"] = "、".join(items)
        if says_correction(text):
            # "电话输错了 是139…", "地址写错了 是康乐苑9幢101": what follows the correction.
            phone = wanted_phone(text)
            if phone:
                slots["visit_phone"] = phone
            address = corrected_value(text)
            if address and not phone and service.check_address(address=address).community_id:
                slots["visit_address"] = address
        return slots

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("visit_blocked"):
            return []
        return [
            "visit_patient_name",
            "visit_phone",
            "visit_address",
            "care_items",
            "visit_date",
            "visit_half_day",
            "care_confirmed",
        ]

    def validate_care_items(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        items = read_service_items(str(value or ""))
        if items:
            return {"care_items": "、".join(items)}
        if self._stopped(dispatcher, tracker):
            return {"care_items": None, "visit_blocked": True}
        dispatcher.utter_message(response="utter_care_items_unclear")
        return {"care_items": None}


class ActionAskCareConfirmed(Action):
    """Repeat the registration for confirmation."""

    def name(self) -> str:
        return "action_ask_care_confirmed"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        get = tracker.get_slot
        day_text, half_text = get("visit_date"), get("visit_half_day")
        slot = (
            format_slot(date.fromisoformat(day_text), HalfDay(half_text))
            if day_text and half_text
            else ""
        )
        dispatcher.utter_message(
            response="utter_ask_care_confirmed",
            name=get("visit_patient_name") or "",
            items=get("care_items") or "",
            address=get("visit_address") or "",
            phone=get("visit_phone") or "",
            slot=slot,
        )
        return []


class ActionSubmitInfusion(Action):
    """Decide by 服务管理制度6 and record: refused (as soon as a fact refuses, with no
    personal detail asked), for review, or booked with a nurse."""

    def name(self) -> str:
        return "action_submit_infusion"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in VISIT_SLOTS]
        if tracker.get_slot("visit_blocked"):
            return reset
        request = _infusion_request(tracker)
        decision = check_infusion_eligibility(request, default_catalogue())
        if decision.outcome is Outcome.INCOMPLETE:
            return reset  # the form was left: nothing is booked on half the facts
        get = tracker.get_slot
        day_text, half_text = get("visit_date"), get("visit_half_day")
        day = date.fromisoformat(day_text) if day_text else None
        half_day = HalfDay(half_text) if half_text else None
        if decision.outcome is not Outcome.REFUSED and (day is None or half_day is None):
            return reset

        refused = decision.outcome is Outcome.REFUSED
        try:
            submitted = service.submit_infusion(
                sender_id=tracker.sender_id,
                channel=input_channel(tracker),
                patient=None
                if refused
                else PatientDetails(
                    name=get("visit_patient_name") or "",
                    phone=get("visit_phone") or "",
                    address=get("visit_address") or "",
                ),
                community_id=get("visit_community"),
                request=request,
                decision=decision,
                day=day,
                half_day=half_day,
                now=clock.now(),
                family_notes=_family_notes(tracker, request),
            )
        except DatabaseUnavailable:
            report_incident(dispatcher, domain, "recording a home-infusion request failed")
            return reset
        if submitted is None:
            dispatcher.utter_message(response="utter_service_unavailable")
            return reset
        details = {
            "booking_no": submitted.booking_no,
            "patient_name": submitted.patient_name,
            "slot": format_slot(day, half_day) if day and half_day else "",
            "team": submitted.team,
            "team_phone": submitted.team_phone,
            "nurse": submitted.nurse,
            "drug": _drug_text(tracker) or "",
        }
        logger.info(
            "home infusion request: %s %s", submitted.outcome.value, ",".join(decision.codes)
        )
        if submitted.outcome is BookingOutcome.REFUSED:
            reasons = "\n".join(
                f"· {reason.message}（依据：{reason.rule.citation}）" for reason in decision.reasons
            )
            dispatcher.utter_message(response="utter_visit_refused", reasons=reasons)
            dispatcher.utter_message(response="utter_visit_come_to_centre", **details)
        elif submitted.outcome is BookingOutcome.REVIEW:
            if ExplanationCode.UNKNOWN_DRUG in decision.codes:
                dispatcher.utter_message(response="utter_visit_review", **details)
            if ExplanationCode.HEALTH_REVIEW in decision.codes:
                dispatcher.utter_message(response="utter_visit_health_review", **details)
        elif submitted.outcome is BookingOutcome.FULL:
            dispatcher.utter_message(
                response="utter_visit_full_at_submit",
                buttons=[{"title": "重新预约", "payload": "/book_home_visit"}],
                offers="、".join(format_slot(o.day, o.half_day) for o in submitted.offers) or "无",
                **details,
            )
        else:
            dispatcher.utter_message(response="utter_visit_booked", **details)
            notices = "\n".join(f"· {notice.message}" for notice in decision.notices)
            dispatcher.utter_message(response="utter_visit_consent_required", notices=notices)
        return reset


class ActionSubmitCare(Action):
    """Register the elderly person, book the visit and schedule the follow-up visits."""

    def name(self) -> str:
        return "action_submit_care"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in VISIT_SLOTS]
        get = tracker.get_slot
        if get("visit_blocked") or not (get("visit_date") and get("visit_half_day")):
            return reset
        if not get("care_confirmed"):
            dispatcher.utter_message(response="utter_care_not_registered")
            return reset
        day, half_day = date.fromisoformat(get("visit_date")), HalfDay(get("visit_half_day"))
        try:
            registered = service.register_care(
                sender_id=tracker.sender_id,
                name=get("visit_patient_name") or "",
                phone=get("visit_phone") or "",
                address=get("visit_address") or "",
                community_id=get("visit_community"),
                items=str(get("care_items") or "").split("、"),
                day=day,
                half_day=half_day,
                now=clock.now(),
            )
        except DatabaseUnavailable:
            report_incident(dispatcher, domain, "registering an elderly-care client failed")
            return reset
        if registered is None:
            dispatcher.utter_message(response="utter_service_unavailable")
            return reset
        dispatcher.utter_message(
            response="utter_care_registered",
            client_no=registered.client_no,
            name=registered.name,
            items=get("care_items") or "",
            slot=format_slot(day, half_day),
            team=registered.team,
            team_phone=registered.team_phone,
            follow_ups=format_days(list(registered.follow_ups)) or "已有安排",
            recheck=format_day(registered.recheck) if registered.recheck else "",
        )
        return reset


def _booking_line(booking: service.BookingSummary) -> str:
    slot = (
        format_slot(booking.visit_date, booking.half_day)
        if booking.visit_date and booking.half_day
        else "未定"
    )
    return f"· {booking.booking_no} {booking.patient_name} {slot}:{STATE_LABELS[booking.state]}"


class ActionCheckBooking(Action):
    """A booking by its number (only the booker's or, for staff, anyone's), or the
    sender's recent bookings."""

    def name(self) -> str:
        return "action_check_booking"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        booking_no = find_booking_no(latest_text(tracker))
        if booking_no is None:
            own = service.sender_bookings(sender_id=tracker.sender_id, now=clock.now())
            lines = [_booking_line(b) for b in own.bookings]
            care = [
                f"· {v.client_name} {format_slot(v.visit_date, v.half_day)} "
                + CARE_VISIT_LABELS.get(v.kind, v.service_items)
                for v in own.care_visits
            ]
            if lines:
                dispatcher.utter_message(response="utter_visit_bookings", bookings="\n".join(lines))
            if care:
                dispatcher.utter_message(response="utter_care_visits", visits="\n".join(care))
            if not lines and not care:
                dispatcher.utter_message(response="utter_visit_no_bookings")
            return []
        booking = service.booking_for_sender(sender_id=tracker.sender_id, booking_no=booking_no)
        if booking is None:
            dispatcher.utter_message(
                response="utter_visit_booking_not_found", booking_no=booking_no
            )
            return []
        dispatcher.utter_message(response="utter_visit_bookings", bookings=_booking_line(booking))
        return []


class ActionCancelBooking(Action):
    """Cancel a booking by its number, or the sender's only open booking."""

    def name(self) -> str:
        return "action_cancel_booking"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        booking_no = find_booking_no(latest_text(tracker))
        change = service.cancel_for_sender(
            sender_id=tracker.sender_id, booking_no=booking_no, now=clock.now()
        )
        if change is None or change.outcome is None:
            response = "utter_visit_booking_not_found" if booking_no else "utter_visit_cancel_which"
            dispatcher.utter_message(response=response, booking_no=booking_no or "")
            return []
        dispatcher.utter_message(
            response=CHANGE_RESPONSES.get(change.outcome, "utter_visit_cancel_final"),
            booking_no=change.booking_no,
        )
        return []


class ActionNurseVisits(Action):
    """For a bound nurse: their home-infusion visits on the day asked (default today)."""

    def name(self) -> str:
        return "action_nurse_visits"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            days = parse_dates(latest_text(tracker), clock.today())
        except DateParseError:
            days = [clock.today()]
        visits = service.nurse_visits(sender_id=tracker.sender_id, days=days)
        if visits is None:
            dispatcher.utter_message(response="utter_nurse_only")
            return []
        lines = [
            f"· {format_day(v.day)}{HALF_DAY_LABELS[v.half_day]} {v.booking_no} {v.patient_name}"
            f" {v.patient_phone} {v.patient_address} {v.drugs}"
            f"({CONDITION_LABELS[PatientCondition(v.condition)]}):{STATE_LABELS[v.state]}"
            f"{v.flags}"
            for v in visits
        ]
        if lines:
            dispatcher.utter_message(response="utter_nurse_visits", visits="\n".join(lines))
        else:
            dispatcher.utter_message(response="utter_nurse_visits_none", days=format_days(days))
        return []


RESCHEDULE_SLOTS = ("reschedule_booking_no", "visit_date", "visit_half_day", "reschedule_confirmed")


def _care_items_added(tracker: Tracker) -> str | None:
    """The services held with those a message adds while another question is asked
    ("对了 再加个送饭"), or None when it adds none."""
    requested = tracker.get_slot("requested_slot")
    text = latest_text(tracker)
    if requested in (None, "care_items") or not _ADDS.search(text):
        return None
    held = [item for item in str(tracker.get_slot("care_items") or "").split("、") if item]
    wanted = set(held) | set(read_service_items(text))
    merged = [item for item in SERVICE_ITEMS if item in wanted]
    return "、".join(merged) if merged != held else None


# Words dropping what a part of a message names ("打扫不要了", "不用送饭了", "去掉理发").
_DROPS = re.compile(r"不要了|不用了|不需要了?|不要|不用|去掉|取消|删掉|算了|免了")
# Words keeping what a part names ("就要送饭", "只要助餐"): no drop, whatever else it says.
_KEEPS_ITEM = re.compile(r"就要|只要|还要|留着|保留")
_ITEM_PARTS = re.compile(r"[,，。;；!！?？、\s]+|但是|不过|就要|只要")


def _items_named_and_dropped(text: str) -> tuple[set[str], set[str]]:
    """The services a message names to have, and those a part of it drops ("洗澡不要了 换成
    送饭吧": 助餐, and 助浴 dropped)."""
    named: set[str] = set()
    dropped: set[str] = set()
    for part in _ITEM_PARTS.split(text):
        items = set(read_service_items(part))
        if _DROPS.search(part) and not _KEEPS_ITEM.search(part):
            dropped |= items
        else:
            named |= items
    return named, dropped


def _care_items_dropped(tracker: Tracker) -> str | None:
    """The services held less those a message drops, with those it names instead, when
    it drops some and leaves at least one ("算了 打扫不要了 周末我自己去扫 就要送饭": 助餐
    stays; "算了洗澡不要了 他不乐意 改成送饭吧": 助浴 becomes 助餐), else None. Dropping
    every service and naming none is no change: it is a stop, which `_says_stop` reads."""
    held = [item for item in str(tracker.get_slot("care_items") or "").split("、") if item]
    if not held:
        return None
    named, dropped = _items_named_and_dropped(latest_text(tracker))
    dropped &= set(held)
    wanted = (set(held) | named) - dropped
    kept = [item for item in SERVICE_ITEMS if item in wanted]
    return "、".join(kept) if dropped and kept else None


def name_in(text: str) -> str | None:
    """The elderly person's or patient's name as a family member gives it along with the
    rest ("俺爸韩德山 八十了", "患者叫王秀英,"), or None."""
    named = _NAMED.search(text or "")
    if named is None or _NOT_NAME.search(named.group("name")):
        return None  # "我妈高血压": 高 is a surname, 高血压 no name
    return named.group("name")


def address_in(text: str) -> str | None:
    """The address a team covers that `text` gives, with its building number, or None:
    the fewest words before a house number that a team covers, with the number
    ("俺娘一个人住 健康新村7幢401 想找人上门": 健康新村7幢401; in words run together by
    voice input, "一个人住在滨江路20号3单元501电话138…": 滨江路20号3单元501), else a part of
    the message between pauses that a team covers ("阳光花园二幢一〇一")."""
    for shaped in _ADDRESS_SHAPE.finditer(text or ""):
        place, numbers = shaped.group("place"), shaped.group("numbers")
        if find_phone(numbers) or not _covered(place + numbers):
            continue
        # The shortest end of `place` still covered: a longer one is covered too.
        shortest, longest = 1, len(place)
        while shortest < longest:
            middle = (shortest + longest) // 2
            if _covered(place[-middle:] + numbers):
                longest = middle
            else:
                shortest = middle + 1
        return place[-longest:] + numbers
    for part in _PARTS.split(text or ""):
        part = _ADDRESS_LEAD.sub("", part)
        if _DIGIT.search(part) and not find_phone(part) and _covered(part):
            return part
    return None


def _names_an_open_booking(tracker: Tracker) -> bool:
    """Whether this message, or the one before it, names one of the sender's bookings
    still to happen, by its number or its day."""
    own = service.own_open_bookings(sender_id=tracker.sender_id)
    texts = [
        str(event.get("text") or "")
        for event in reversed(tracker.events)
        if event.get("event") == "user"
    ][:2] or [latest_text(tracker)]
    for text in texts:
        if any(booking.booking_no in text for booking in own):
            return True
        with contextlib.suppress(DateParseError):
            days = set(parse_dates(text, clock.today()))
            if any(booking.visit_date in days for booking in own):
                return True
    return False


def _covered(address: str) -> bool:
    return service.check_address(address=address).community_id is not None


class ValidateRescheduleForm(_VisitFormValidation):
    """Moves a booking as a conversation: which one (only the sender's own; their only
    open booking without asking), the new day and half-day (read from any message, with
    the time checks of a new booking and the free half-days offered when the team is full),
    then a yes or no on "old -> new". Nothing is moved before that yes; a stop in any
    wording ends it with nothing changed."""

    stopped_response = "utter_visit_reschedule_abandoned"
    yes_no_slots = frozenset({"reschedule_confirmed"})
    reads_every_message = True

    def name(self) -> str:
        return "validate_reschedule_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        starting = tracker.get_slot("requested_slot") is None
        if (
            starting
            and not self._says_stop(tracker)
            and not service.own_open_bookings(sender_id=tracker.sender_id)
        ):
            dispatcher.utter_message(response="utter_visit_reschedule_none")
            return self._stop_events(tracker, domain)
        return await super().run(dispatcher, tracker, domain)

    def _prefill(self, tracker: Tracker) -> dict[str, Any]:
        """The booking number (or the sender's only open booking, when none is named and
        none is chosen yet), the new day and the half-day a message gives."""
        text = latest_text(tracker)
        slots: dict[str, Any] = {"reschedule_booking_no": find_booking_no(text)}
        if slots["reschedule_booking_no"] is None and not tracker.get_slot("reschedule_booking_no"):
            own = service.own_open_bookings(sender_id=tracker.sender_id)
            if len(own) == 1:
                slots["reschedule_booking_no"] = own[0].booking_no
        # "改到下周三下午 哦不对不对 下周三上午": what the message corrects itself to.
        day, half_day = wanted_time(without_booking_no(text), clock.today())
        slots["visit_date"] = day.isoformat() if day else None
        slots["visit_half_day"] = half_day.value if half_day else None
        return slots

    async def _correct(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        *,
        explicit: bool,
    ) -> list[EventType] | None:
        # "改到下周二下午" answers the question of a form about changing: only at the
        # confirmation does another day correct what was given.
        if tracker.get_slot("requested_slot") not in self.yes_no_slots:
            return None
        return await super()._correct(dispatcher, tracker, domain, explicit=explicit)

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return [] if tracker.get_slot("visit_blocked") else list(RESCHEDULE_SLOTS)

    def _stopped(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        said_stop = says_stop(latest_text(tracker))
        denied = tracker.get_intent_of_latest_message() in STOP_INTENTS
        if said_stop or (denied and tracker.get_slot("requested_slot") not in self.yes_no_slots):
            dispatcher.utter_message(response=self.stopped_response)
            return True
        return False

    def validate_reschedule_booking_no(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        booking_no = find_booking_no(str(value or ""))
        if booking_no is None:
            if self._stopped(dispatcher, tracker):
                return {"reschedule_booking_no": None, "visit_blocked": True}
            return {"reschedule_booking_no": None}  # asked again, with the bookings as buttons
        if service.own_open_booking(sender_id=tracker.sender_id, booking_no=booking_no) is None:
            dispatcher.utter_message(
                response="utter_visit_reschedule_not_own", booking_no=booking_no
            )
            return {"reschedule_booking_no": None}
        slots: dict[str, Any] = {"reschedule_booking_no": booking_no}
        # A half-day given before the booking was known is checked against its team now.
        day_text, half_text = tracker.get_slot("visit_date"), tracker.get_slot("visit_half_day")
        if day_text and half_text and tracker.get_slot("reschedule_booking_no") != booking_no:
            chosen = tracker.copy()
            chosen.slots["reschedule_booking_no"] = booking_no
            slots.update(
                self._half_day_checked(
                    HalfDay(half_text), date.fromisoformat(day_text), dispatcher, chosen
                )
            )
        return slots

    def validate_visit_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # The digits of a booking number are not a date.
        return super().validate_visit_date(
            without_booking_no(str(value or "")), dispatcher, tracker, domain
        )

    def _half_day_checked(
        self,
        half_day: HalfDay,
        day: date,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        """A booking that holds a nurse's place moves only to a half-day when a nurse of
        its team is free: else the next free half-days are offered."""
        booking_no = tracker.get_slot("reschedule_booking_no")
        target = (
            service.own_open_booking(sender_id=tracker.sender_id, booking_no=booking_no)
            if booking_no
            else None
        )
        if target is None or not target.holds_place:
            return {"visit_half_day": half_day.value}
        return _half_day_if_free(dispatcher, target.community_id, day, half_day)


def _new_slot(tracker: Tracker) -> tuple[date, HalfDay] | None:
    day, half_day = tracker.get_slot("visit_date"), tracker.get_slot("visit_half_day")
    if not day or not half_day:
        return None
    return date.fromisoformat(day), HalfDay(half_day)


def _slot_text(day: date | None, half_day: HalfDay | None) -> str:
    return format_slot(day, half_day) if day and half_day else "未定的时间"


class ActionAskRescheduleBookingNo(Action):
    """Ask which booking to move, with a button for each of the sender's open ones."""

    def name(self) -> str:
        return "action_ask_reschedule_booking_no"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        own = service.own_open_bookings(sender_id=tracker.sender_id)
        buttons = [
            {
                "title": f"{b.booking_no} {b.patient_name} {_slot_text(b.visit_date, b.half_day)}",
                "payload": b.booking_no,
            }
            for b in own
        ]
        dispatcher.utter_message(response="utter_ask_reschedule_booking_no", buttons=buttons)
        return []


class ActionAskRescheduleConfirmed(Action):
    """Show the move, old -> new, and ask for a yes or a no."""

    def name(self) -> str:
        return "action_ask_reschedule_confirmed"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        booking_no = str(tracker.get_slot("reschedule_booking_no") or "")
        target = service.own_open_booking(sender_id=tracker.sender_id, booking_no=booking_no)
        new = _new_slot(tracker)
        if target is None or new is None:  # closed meanwhile: nothing to confirm
            dispatcher.utter_message(
                response="utter_visit_reschedule_not_own", booking_no=booking_no
            )
            return [SlotSet("visit_blocked", True), SlotSet("requested_slot", None)]
        dispatcher.utter_message(
            response="utter_ask_reschedule_confirmed",
            booking_no=booking_no,
            patient_name=target.patient_name,
            old_slot=_slot_text(target.visit_date, target.half_day),
            new_slot=format_slot(*new),
        )
        return []


class ActionSubmitReschedule(Action):
    """Move the booking once the sender said yes to "old -> new"; otherwise nothing
    changes."""

    def name(self) -> str:
        return "action_submit_reschedule"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in (*RESCHEDULE_SLOTS, "visit_blocked")]
        booking_no = str(tracker.get_slot("reschedule_booking_no") or "")
        new = _new_slot(tracker)
        if tracker.get_slot("visit_blocked") or not booking_no or new is None:
            return reset
        if not tracker.get_slot("reschedule_confirmed"):
            target = service.own_open_booking(sender_id=tracker.sender_id, booking_no=booking_no)
            dispatcher.utter_message(
                response="utter_visit_reschedule_kept",
                booking_no=booking_no,
                old_slot=_slot_text(target.visit_date, target.half_day) if target else "原来的时间",
            )
            return reset
        day, half_day = new
        try:
            change = service.reschedule_for_sender(
                sender_id=tracker.sender_id,
                booking_no=booking_no,
                day=day,
                half_day=half_day,
                now=clock.now(),
            )
        except DatabaseUnavailable:
            report_incident(dispatcher, domain, "rescheduling a booking failed")
            return reset
        if change is None or change.outcome is None:
            dispatcher.utter_message(
                response="utter_visit_reschedule_not_own", booking_no=booking_no
            )
            return reset
        buttons = [
            {
                "title": format_slot(o.day, o.half_day),
                "payload": f"把{change.booking_no}改到{format_slot(o.day, o.half_day)}",
            }
            for o in change.offers
        ]
        dispatcher.utter_message(
            response=RESCHEDULE_RESPONSES[change.outcome],
            booking_no=change.booking_no,
            slot=format_slot(day, half_day),
            days=advance_days(),
            buttons=buttons,
        )
        return reset


RESCHEDULE_RESPONSES = {
    ChangeOutcome.DONE: "utter_visit_rescheduled",
    ChangeOutcome.FULL: "utter_visit_reschedule_full",
    ChangeOutcome.INVALID_TIME: "utter_visit_reschedule_invalid",
    ChangeOutcome.FINAL: "utter_visit_cancel_final",
    ChangeOutcome.PAST: "utter_visit_cancel_past",
}
