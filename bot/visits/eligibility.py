"""Who may have an infusion at home, by 服务管理制度6 (出诊输液管理办法).

`check_infusion_eligibility` is pure: it reads what the family has said so far and the drug
table, and returns the outcome with every reason that applies, each tied to the item of the
regulation it comes from. It fails closed:
- a refusing fact refuses as soon as it is known, before anything else is asked
  (`Outcome.REFUSED` on a partial request);
- a request is `ELIGIBLE` only when every fact the regulation asks about is known and safe;
  until then it is `INCOMPLETE`, which is never booked;
- a drug the table does not know, alone or beside known ones, goes to the centre's
  pharmacist (`NEEDS_REVIEW`), and so does a health condition the family mentions that is
  neither an allergy nor a contraindication; neither is ever booked outright;
- an answer that stayed unclear after being asked twice counts as the unsafe answer
  (`FirstDose.UNCLEAR`, `Health.UNCLEAR`; the other facts take their unsafe value).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.visits.drugs import Drug, DrugCatalogue, DrugCategory, DrugReading

DOCUMENT = "服务管理制度6"


class PatientCondition(str, enum.Enum):
    FRAIL_ELDERLY = "frail_elderly"  # 年老体弱
    BEDRIDDEN = "bedridden"  # 卧床不起
    LIMITED_MOBILITY = "limited_mobility"  # 行动不便
    NONE = "none"


class DrugSource(str, enum.Enum):
    PRESCRIBED_HERE = "prescribed_here"
    EXTERNAL = "external"  # 外来药品, from another hospital
    UNKNOWN = "unknown"  # 来源不明


class FirstDose(str, enum.Enum):
    """An external drug's first dose at the first hospital (item 5)."""

    NO_REACTION = "no_reaction"  # given there, no adverse reaction
    REACTION = "reaction"  # given there, and the family reports a reaction
    NOT_GIVEN = "not_given"
    UNCLEAR = "unclear"  # asked twice without a clear answer: counted as a reaction


class Health(str, enum.Enum):
    """The patient's allergies and contraindications, as the family reports them (item 1
    无禁忌症; item 3 过敏体质慎用)."""

    NONE = "none"
    ALLERGY = "allergy"
    CONTRAINDICATION = "contraindication"
    OTHER = "other"  # another condition: the centre checks before booking
    UNCLEAR = "unclear"  # asked twice without a clear answer: counted as a contraindication


class Fact(str, enum.Enum):
    """What the regulation asks about, in the order the assistant asks: the facts that
    can refuse come first, so that nobody gives personal details for nothing."""

    CONDITION = "condition"
    DRUG = "drug"
    DRUG_SOURCE = "drug_source"
    FIRST_DOSE = "first_dose"  # external drugs only
    MEDICAL_RECORD = "medical_record"  # external drugs only
    DOCTOR_ORDER = "doctor_order"
    HEALTH = "health"


class Outcome(str, enum.Enum):
    ELIGIBLE = "eligible"
    NEEDS_REVIEW = "needs_review"
    REFUSED = "refused"
    INCOMPLETE = "incomplete"  # nothing refuses yet, but a fact is missing: never booked


class ExplanationCode(str, enum.Enum):
    # Reasons to refuse
    NOT_HOMEBOUND = "not_homebound"
    NO_DOCTOR_ORDER = "no_doctor_order"
    UNKNOWN_ORIGIN = "unknown_origin"
    NO_MEDICAL_RECORD = "no_medical_record"
    SKIN_TEST_DRUG = "skin_test_drug"
    TCM_INJECTION = "tcm_injection"
    BIOLOGIC = "biologic"
    ADVERSE_REACTION_PRONE = "adverse_reaction_prone"
    ALLERGY_WARNING = "allergy_warning"
    ALLERGIC_PATIENT = "allergic_patient"
    CONTRAINDICATION = "contraindication"
    NO_FIRST_DOSE = "no_first_dose"
    FIRST_DOSE_REACTION = "first_dose_reaction"
    # Reasons to ask the centre first
    UNKNOWN_DRUG = "unknown_drug"
    HEALTH_REVIEW = "health_review"
    # What the patient is told next
    CONSENT_REQUIRED = "consent_required"
    EXTERNAL_DRUG_CHECK = "external_drug_check"
    COME_TO_CENTRE = "come_to_centre"


@dataclass(frozen=True)
class Rule:
    """An item of the regulation: `item` is its number, printed "3、" in the text and
    labelled 第3条 in the policy corpus; `quote` is its words that apply."""

    item: str
    quote: str
    document: str = DOCUMENT

    @property
    def citation(self) -> str:
        return f"{self.document} 第{self.item}条"


@dataclass(frozen=True)
class Explanation:
    code: ExplanationCode
    message: str  # a polite sentence for the patient
    rule: Rule


@dataclass(frozen=True)
class InfusionRequest:
    """What the family has said so far; None is "not asked yet"."""

    condition: PatientCondition | None = None
    has_doctor_order: bool | None = None  # from a licensed doctor of the centre (or its stations)
    drug_text: str | None = None  # every drug as the family wrote it, joined
    # False while the drugs come only from a message that was not the answer to "which
    # drugs?" (the opening "医生开了葡萄糖…"): the family is asked whether there are more.
    drug_confirmed: bool = True
    drug_source: DrugSource | None = None
    first_dose: FirstDose | None = None  # asked for an external drug
    medical_record: bool | None = None  # an external drug's record (病历) is at hand
    health: Health | None = None

    @property
    def first_dose_without_reaction(self) -> bool | None:
        """The booking's record of item 5: None when not asked (not an external drug)."""
        return None if self.first_dose is None else self.first_dose is FirstDose.NO_REACTION


@dataclass(frozen=True)
class InfusionDecision:
    outcome: Outcome
    reasons: tuple[Explanation, ...]  # every reason, in the order of the regulation
    notices: tuple[Explanation, ...]  # what happens next: consent, or come to the centre
    drugs: tuple[Drug, ...]  # the drugs recognised in the request
    unknown_drugs: tuple[str, ...] = ()  # words the drug table could not place
    missing: tuple[Fact, ...] = ()  # facts still to ask, in asking order

    @property
    def codes(self) -> tuple[ExplanationCode, ...]:
        return tuple(reason.code for reason in self.reasons)


_ITEM_3 = Rule(
    "3",
    "对须做皮试药物、中成药针剂、生物制剂、临床应用易发生不良反应的药物、"
    "说明书中明确说明使用本品易发生过敏反应或过敏体质慎用者,原则上不宜出诊。",
)


_C = ExplanationCode
EXPLANATIONS: dict[ExplanationCode, Explanation] = {
    e.code: e
    for e in (
        Explanation(
            _C.NOT_HOMEBOUND,
            "很抱歉，出诊输液只为年老体弱、卧床不起或行动不便的患者提供，"
            "您目前的情况不在出诊服务范围内。",
            Rule("1", "出诊服务对象年老体弱、卧床不起、行动不便、药物手续齐全、无禁忌症的患者。"),
        ),
        Explanation(
            _C.NO_DOCTOR_ORDER,
            "很抱歉，出诊输液须凭本中心（站点）具有执业医师资格的医生出具的医嘱，"
            "请先请本中心医生诊治并开具医嘱。",
            Rule("2", "输液出诊,须凭我中心(站点)具有执业医师资格的医生出具的医嘱"),
        ),
        Explanation(
            _C.UNKNOWN_ORIGIN,
            "很抱歉，来源不明或没有病历记录的药品，我们不能为您输注。",
            Rule("2", "对来源不明或无病例记录的药品不予执行。"),
        ),
        Explanation(
            _C.NO_MEDICAL_RECORD,
            "很抱歉，外院带来的药品须有首诊医院的病历记录，没有病历记录的药品我们不能为您输注。",
            Rule("2", "对来源不明或无病例记录的药品不予执行。"),
        ),
        Explanation(
            _C.SKIN_TEST_DRUG,
            "很抱歉，这种药物使用前须做皮试，原则上不宜上门输注。",
            _ITEM_3,
        ),
        Explanation(
            _C.TCM_INJECTION,
            "很抱歉，中成药针剂（中药注射剂）原则上不宜上门输注。",
            _ITEM_3,
        ),
        Explanation(
            _C.BIOLOGIC,
            "很抱歉，生物制剂原则上不宜上门输注。",
            _ITEM_3,
        ),
        Explanation(
            _C.ADVERSE_REACTION_PRONE,
            "很抱歉，这种药物在临床应用中较易发生不良反应，原则上不宜上门输注。",
            _ITEM_3,
        ),
        Explanation(
            _C.ALLERGY_WARNING,
            "很抱歉，这种药物的说明书提示易发生过敏反应或过敏体质慎用，原则上不宜上门输注。",
            _ITEM_3,
        ),
        Explanation(
            _C.ALLERGIC_PATIENT,
            "很抱歉，患者有药物过敏史，上门输液一旦发生过敏反应难以及时处理，原则上不宜上门输注。",
            Rule(
                "3",
                "说明书中明确说明使用本品易发生过敏反应或过敏体质慎用者,原则上不宜出诊。",
            ),
        ),
        Explanation(
            _C.CONTRAINDICATION,
            "很抱歉，出诊输液只为无禁忌症的患者提供；患者有禁忌症（或我们未能确认没有），"
            "不能安排上门输液。",
            Rule("1", "出诊服务对象年老体弱、卧床不起、行动不便、药物手续齐全、无禁忌症的患者。"),
        ),
        Explanation(
            _C.NO_FIRST_DOSE,
            "很抱歉，外来药品须先在首诊医院完成首次使用且没有异常反应，之后才能安排上门输液。",
            Rule("5", "外来输液出诊必须在首诊医院经过首次使用,无异常反应后方可接受。"),
        ),
        Explanation(
            _C.FIRST_DOSE_REACTION,
            "很抱歉，这个药在首诊医院使用时出现了异常反应（或我们未能确认没有），"
            "不能安排上门输注。",
            Rule("5", "外来输液出诊必须在首诊医院经过首次使用,无异常反应后方可接受。"),
        ),
        Explanation(
            _C.UNKNOWN_DRUG,
            "我们暂时无法确认您说的药品是否适合上门输注，需要由本中心药剂人员审核，请您谅解。",
            _ITEM_3,
        ),
        Explanation(
            _C.HEALTH_REVIEW,
            "您提到的患者健康情况，需要由本中心医生确认没有禁忌症后才能安排上门输液。",
            Rule("1", "出诊服务对象年老体弱、卧床不起、行动不便、药物手续齐全、无禁忌症的患者。"),
        ),
        Explanation(
            _C.CONSENT_REQUIRED,
            "输液前，须由患者或家属在《家庭输液治疗知情同意书》上签字，护士方可执行。",
            Rule("4", "出诊输液治疗需患者或家属在《家庭输液治疗知情同意书》上签字后方可执行。"),
        ),
        Explanation(
            _C.EXTERNAL_DRUG_CHECK,
            "外来药品须由全科诊室医生核对首诊医院的医嘱，并经本中心药剂人员审查，"
            "护士按本中心医生的医嘱执行。",
            Rule(
                "5",
                "凡外来药品输液出诊需全科诊室医生对首诊医院医嘱进行核对,"
                "确认无误后在门诊病历上做好相关记录,本中心药剂人员对外来药品进行审查,"
                "输液室护士根据本中心医生的医嘱执行。",
            ),
        ),
        Explanation(
            _C.COME_TO_CENTRE,
            "建议您到中心（站点）接受输液治疗，便于医护人员观察用药后的反应；"
            "如有需要，我们可以为您提供担架、轮椅等工具。",
            Rule(
                "6",
                "可向患者及家属建议并提供担架、轮椅等工具,鼓励患者来中心(站点)接受治疗,"
                "以便于医护人员观察用药后反应。",
            ),
        ),
    )
}

# Item 3's kinds of drug, in the order the item names them.
_CATEGORY_REASONS = (
    (DrugCategory.SKIN_TEST_REQUIRED, _C.SKIN_TEST_DRUG),
    (DrugCategory.TCM_INJECTION, _C.TCM_INJECTION),
    (DrugCategory.BIOLOGIC, _C.BIOLOGIC),
    (DrugCategory.ADVERSE_REACTION_PRONE, _C.ADVERSE_REACTION_PRONE),
    (DrugCategory.ALLERGY_WARNING, _C.ALLERGY_WARNING),
)
_REVIEW_CODES = frozenset({_C.UNKNOWN_DRUG, _C.HEALTH_REVIEW})


def missing_facts(request: InfusionRequest) -> tuple[Fact, ...]:
    """The facts still to ask, in asking order (an external drug's first dose and
    medical record only once the source is known to be external)."""
    asked = {
        Fact.CONDITION: request.condition,
        Fact.DRUG: request.drug_text if request.drug_confirmed else None,
        Fact.DRUG_SOURCE: request.drug_source,
        Fact.FIRST_DOSE: request.first_dose,
        Fact.MEDICAL_RECORD: request.medical_record,
        Fact.DOCTOR_ORDER: request.has_doctor_order,
        Fact.HEALTH: request.health,
    }
    external_only = {Fact.FIRST_DOSE, Fact.MEDICAL_RECORD}
    return tuple(
        fact
        for fact in Fact
        if asked[fact] is None
        and (fact not in external_only or request.drug_source is DrugSource.EXTERNAL)
    )


def _reason_codes(request: InfusionRequest, reading: DrugReading) -> list[ExplanationCode]:
    codes = []
    external = request.drug_source is DrugSource.EXTERNAL
    if request.condition is PatientCondition.NONE:
        codes.append(_C.NOT_HOMEBOUND)
    if request.health in {Health.CONTRAINDICATION, Health.UNCLEAR}:
        codes.append(_C.CONTRAINDICATION)
    if request.has_doctor_order is False:
        codes.append(_C.NO_DOCTOR_ORDER)
    if request.drug_source is DrugSource.UNKNOWN:
        codes.append(_C.UNKNOWN_ORIGIN)
    if external and request.medical_record is False:
        codes.append(_C.NO_MEDICAL_RECORD)
    categories = {category for drug in reading.known for category in drug.categories}
    codes += [code for category, code in _CATEGORY_REASONS if category in categories]
    if request.health is Health.ALLERGY:
        codes.append(_C.ALLERGIC_PATIENT)
    if external and request.first_dose is FirstDose.NOT_GIVEN:
        codes.append(_C.NO_FIRST_DOSE)
    if external and request.first_dose in {FirstDose.REACTION, FirstDose.UNCLEAR}:
        codes.append(_C.FIRST_DOSE_REACTION)
    if request.drug_text is not None and (reading.unknown or not reading.known):
        codes.append(_C.UNKNOWN_DRUG)
    if request.health is Health.OTHER:
        codes.append(_C.HEALTH_REVIEW)
    return codes


def check_infusion_eligibility(
    request: InfusionRequest, catalogue: DrugCatalogue
) -> InfusionDecision:
    """Whether the nurse may give this infusion at home, with every reason that applies.

    Refused as soon as one refusing fact is known; eligible only with every fact known."""
    reading = catalogue.read(request.drug_text or "")
    codes = _reason_codes(request, reading)
    missing = missing_facts(request)
    notices: list[ExplanationCode] = []
    if any(code not in _REVIEW_CODES for code in codes):
        outcome, notices = Outcome.REFUSED, [_C.COME_TO_CENTRE]
    elif missing:
        outcome = Outcome.INCOMPLETE
    elif codes:
        outcome = Outcome.NEEDS_REVIEW
    else:
        outcome, notices = Outcome.ELIGIBLE, [_C.CONSENT_REQUIRED]
        if request.drug_source is DrugSource.EXTERNAL:
            notices.append(_C.EXTERNAL_DRUG_CHECK)
    return InfusionDecision(
        outcome=outcome,
        reasons=tuple(EXPLANATIONS[code] for code in codes),
        notices=tuple(EXPLANATIONS[code] for code in notices),
        drugs=reading.known,
        unknown_drugs=reading.unknown,
        missing=missing,
    )
