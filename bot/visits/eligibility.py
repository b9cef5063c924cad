"""Who may have an infusion at home, by 服务管理制度6 (出诊输液管理办法).

`check_infusion_eligibility` is pure: it reads the request and the drug table and returns
the outcome with every reason that applies, each tied to the item of the regulation it comes
from. A drug the table does not know goes to the centre's pharmacist (needs review); it is
never taken as allowed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.visits.drugs import Drug, DrugCatalogue, DrugCategory

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


class Outcome(str, enum.Enum):
    ELIGIBLE = "eligible"
    NEEDS_REVIEW = "needs_review"
    REFUSED = "refused"


class ExplanationCode(str, enum.Enum):
    # Reasons to refuse
    NOT_HOMEBOUND = "not_homebound"
    NO_DOCTOR_ORDER = "no_doctor_order"
    UNKNOWN_ORIGIN = "unknown_origin"
    SKIN_TEST_DRUG = "skin_test_drug"
    TCM_INJECTION = "tcm_injection"
    BIOLOGIC = "biologic"
    ADVERSE_REACTION_PRONE = "adverse_reaction_prone"
    ALLERGY_WARNING = "allergy_warning"
    NO_FIRST_DOSE = "no_first_dose"
    # Reason to ask the pharmacist
    UNKNOWN_DRUG = "unknown_drug"
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
    condition: PatientCondition
    has_doctor_order: bool  # from a licensed doctor of the centre (or its stations)
    drug_text: str  # the drug as the patient wrote it
    drug_source: DrugSource
    # For an external drug: given once at the first hospital without adverse reaction.
    first_dose_without_reaction: bool | None = None


@dataclass(frozen=True)
class InfusionDecision:
    outcome: Outcome
    reasons: tuple[Explanation, ...]  # every reason, in the order of the regulation
    notices: tuple[Explanation, ...]  # what happens next: consent, or come to the centre
    drugs: tuple[Drug, ...]  # the drugs recognised in the request

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
            _C.NO_FIRST_DOSE,
            "很抱歉，外来药品须先在首诊医院完成首次使用且没有异常反应，之后才能安排上门输液。",
            Rule("5", "外来输液出诊必须在首诊医院经过首次使用,无异常反应后方可接受。"),
        ),
        Explanation(
            _C.UNKNOWN_DRUG,
            "我们暂时无法确认您说的药品是否适合上门输注，需要由本中心药剂人员审核，请您谅解。",
            _ITEM_3,
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
_REVIEW_CODES = frozenset({_C.UNKNOWN_DRUG})


def _reason_codes(request: InfusionRequest, drugs: tuple[Drug, ...]) -> list[ExplanationCode]:
    codes = []
    if request.condition is PatientCondition.NONE:
        codes.append(_C.NOT_HOMEBOUND)
    if not request.has_doctor_order:
        codes.append(_C.NO_DOCTOR_ORDER)
    if request.drug_source is DrugSource.UNKNOWN:
        codes.append(_C.UNKNOWN_ORIGIN)
    categories = {category for drug in drugs for category in drug.categories}
    codes += [code for category, code in _CATEGORY_REASONS if category in categories]
    if request.drug_source is DrugSource.EXTERNAL and not request.first_dose_without_reaction:
        codes.append(_C.NO_FIRST_DOSE)
    if not drugs:
        codes.append(_C.UNKNOWN_DRUG)
    return codes


def check_infusion_eligibility(
    request: InfusionRequest, catalogue: DrugCatalogue
) -> InfusionDecision:
    """Whether the nurse may give this infusion at home, with every reason that applies."""
    drugs = catalogue.find_all(request.drug_text)
    codes = _reason_codes(request, drugs)
    if any(code not in _REVIEW_CODES for code in codes):
        outcome, notices = Outcome.REFUSED, [_C.COME_TO_CENTRE]
    elif codes:
        outcome, notices = Outcome.NEEDS_REVIEW, []
    else:
        outcome, notices = Outcome.ELIGIBLE, [_C.CONSENT_REQUIRED]
        if request.drug_source is DrugSource.EXTERNAL:
            notices.append(_C.EXTERNAL_DRUG_CHECK)
    return InfusionDecision(
        outcome=outcome,
        reasons=tuple(EXPLANATIONS[code] for code in codes),
        notices=tuple(EXPLANATIONS[code] for code in notices),
        drugs=drugs,
    )
