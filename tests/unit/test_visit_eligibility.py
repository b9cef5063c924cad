"""Home infusion by 服务管理制度6: every rule alone, together, and every way to pass; the
drug table and how drugs are found in what patients write."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.infra.settings import PROJECT_ROOT
from bot.visits.drugs import (
    Drug,
    DrugCatalogue,
    DrugCategory,
    DrugTableError,
    default_catalogue,
    find_drug,
    load_drugs,
)
from bot.visits.eligibility import (
    EXPLANATIONS,
    DrugSource,
    ExplanationCode,
    Fact,
    FirstDose,
    Health,
    InfusionRequest,
    Outcome,
    PatientCondition,
    check_infusion_eligibility,
)

C = ExplanationCode
Cat = DrugCategory
REGULATIONS = PROJECT_ROOT / "data" / "policies" / "服务管理制度.txt"


def drug(name: str, *categories: DrugCategory) -> Drug:
    return Drug(name=name, synonyms=(), categories=frozenset(categories))


# One drug of each kind, so that each rule can be met alone.
CATALOGUE = DrugCatalogue(
    [
        drug("普通针", Cat.ORDINARY),
        drug("皮试针", Cat.SKIN_TEST_REQUIRED),
        drug("中药针", Cat.TCM_INJECTION),
        drug("生物针", Cat.BIOLOGIC),
        drug("易反应针", Cat.ADVERSE_REACTION_PRONE),
        drug("过敏针", Cat.ALLERGY_WARNING),
    ]
)

ELIGIBLE = InfusionRequest(
    condition=PatientCondition.BEDRIDDEN,
    has_doctor_order=True,
    drug_text="普通针",
    drug_source=DrugSource.PRESCRIBED_HERE,
    health=Health.NONE,
)
EXTERNAL_OK = {
    "drug_source": DrugSource.EXTERNAL,
    "first_dose": FirstDose.NO_REACTION,
    "medical_record": True,
}


def decide(catalogue: DrugCatalogue = CATALOGUE, **changes: Any):
    return check_infusion_eligibility(replace(ELIGIBLE, **changes), catalogue)


def codes(explanations) -> list[ExplanationCode]:
    return [explanation.code for explanation in explanations]


@pytest.mark.parametrize(
    "condition",
    [
        PatientCondition.FRAIL_ELDERLY,
        PatientCondition.BEDRIDDEN,
        PatientCondition.LIMITED_MOBILITY,
    ],
)
@pytest.mark.parametrize(
    ("changes", "notices"),
    [
        ({}, [C.CONSENT_REQUIRED]),
        (EXTERNAL_OK, [C.CONSENT_REQUIRED, C.EXTERNAL_DRUG_CHECK]),
    ],
)
def test_every_passing_combination_is_eligible(condition, changes, notices):
    decision = decide(condition=condition, **changes)
    assert decision.outcome is Outcome.ELIGIBLE
    assert decision.reasons == ()
    assert decision.missing == ()
    assert codes(decision.notices) == notices
    assert "《家庭输液治疗知情同意书》" in decision.notices[0].message


@pytest.mark.parametrize(
    ("changes", "reason", "item"),
    [
        ({"condition": PatientCondition.NONE}, C.NOT_HOMEBOUND, "1"),
        ({"health": Health.CONTRAINDICATION}, C.CONTRAINDICATION, "1"),
        ({"health": Health.UNCLEAR}, C.CONTRAINDICATION, "1"),
        ({"has_doctor_order": False}, C.NO_DOCTOR_ORDER, "2"),
        ({"drug_source": DrugSource.UNKNOWN}, C.UNKNOWN_ORIGIN, "2"),
        ({**EXTERNAL_OK, "medical_record": False}, C.NO_MEDICAL_RECORD, "2"),
        ({"drug_text": "皮试针"}, C.SKIN_TEST_DRUG, "3"),
        ({"drug_text": "中药针"}, C.TCM_INJECTION, "3"),
        ({"drug_text": "生物针"}, C.BIOLOGIC, "3"),
        ({"drug_text": "易反应针"}, C.ADVERSE_REACTION_PRONE, "3"),
        ({"drug_text": "过敏针"}, C.ALLERGY_WARNING, "3"),
        ({"health": Health.ALLERGY}, C.ALLERGIC_PATIENT, "3"),
        ({**EXTERNAL_OK, "first_dose": FirstDose.NOT_GIVEN}, C.NO_FIRST_DOSE, "5"),
        ({**EXTERNAL_OK, "first_dose": FirstDose.REACTION}, C.FIRST_DOSE_REACTION, "5"),
        ({**EXTERNAL_OK, "first_dose": FirstDose.UNCLEAR}, C.FIRST_DOSE_REACTION, "5"),
    ],
)
def test_each_rule_alone_refuses(changes, reason, item):
    decision = decide(**changes)
    assert decision.outcome is Outcome.REFUSED
    assert decision.codes == (reason,)
    assert decision.reasons[0].rule.document == "服务管理制度6"
    assert decision.reasons[0].rule.item == item
    assert decision.reasons[0].rule.citation == f"服务管理制度6 第{item}条"
    assert codes(decision.notices) == [C.COME_TO_CENTRE]
    assert "担架、轮椅" in decision.notices[0].message
    assert "担架、轮椅" in decision.notices[0].rule.quote


@pytest.mark.parametrize(
    ("known", "reason"),
    [
        ({"condition": PatientCondition.NONE}, C.NOT_HOMEBOUND),
        ({"drug_text": "普通针加皮试针"}, C.SKIN_TEST_DRUG),
        ({"drug_source": DrugSource.UNKNOWN}, C.UNKNOWN_ORIGIN),
        (
            {"drug_source": DrugSource.EXTERNAL, "first_dose": FirstDose.REACTION},
            C.FIRST_DOSE_REACTION,
        ),
        ({"health": Health.ALLERGY}, C.ALLERGIC_PATIENT),
    ],
)
def test_a_refusing_fact_refuses_before_anything_else_is_known(known, reason):
    decision = check_infusion_eligibility(InfusionRequest(**known), CATALOGUE)
    assert decision.outcome is Outcome.REFUSED
    assert reason in decision.codes
    assert decision.missing  # refused with questions still unasked


def test_nothing_known_is_incomplete_and_asks_in_the_regulations_order():
    decision = check_infusion_eligibility(InfusionRequest(), CATALOGUE)
    assert decision.outcome is Outcome.INCOMPLETE
    assert decision.missing == (
        Fact.CONDITION,
        Fact.DRUG,
        Fact.DRUG_SOURCE,
        Fact.DOCTOR_ORDER,
        Fact.HEALTH,
    )
    external = InfusionRequest(drug_source=DrugSource.EXTERNAL)
    assert check_infusion_eligibility(external, CATALOGUE).missing == (
        Fact.CONDITION,
        Fact.DRUG,
        Fact.FIRST_DOSE,
        Fact.MEDICAL_RECORD,
        Fact.DOCTOR_ORDER,
        Fact.HEALTH,
    )


@pytest.mark.parametrize(
    "missing",
    [
        {"condition": None},
        {"has_doctor_order": None},
        {"drug_text": None},
        {"drug_confirmed": False},
        {"drug_source": None},
        {"health": None},
        {**EXTERNAL_OK, "first_dose": None},
        {**EXTERNAL_OK, "medical_record": None},
    ],
)
def test_a_request_missing_any_fact_is_never_eligible(missing):
    decision = decide(**missing)
    assert decision.outcome is Outcome.INCOMPLETE
    assert decision.reasons == ()


@pytest.mark.parametrize(
    ("changes", "reasons"),
    [
        (
            {"condition": PatientCondition.NONE, "has_doctor_order": False},
            [C.NOT_HOMEBOUND, C.NO_DOCTOR_ORDER],
        ),
        (
            {"drug_source": DrugSource.UNKNOWN, "drug_text": "过敏针"},
            [C.UNKNOWN_ORIGIN, C.ALLERGY_WARNING],
        ),
        (
            {"drug_source": DrugSource.EXTERNAL, "drug_text": "中药针"},
            [C.TCM_INJECTION],
        ),
        # Several drugs in one request: every one is checked.
        ({"drug_text": "普通针加皮试针，再加生物针"}, [C.SKIN_TEST_DRUG, C.BIOLOGIC]),
        # A refusal still says the drug is unknown.
        (
            {"condition": PatientCondition.NONE, "drug_text": "某某针"},
            [C.NOT_HOMEBOUND, C.UNKNOWN_DRUG],
        ),
        (
            {
                "condition": PatientCondition.NONE,
                "health": Health.ALLERGY,
                "has_doctor_order": False,
                "drug_source": DrugSource.EXTERNAL,
                "first_dose": FirstDose.REACTION,
                "medical_record": False,
                "drug_text": "过敏针 易反应针 生物针 中药针 皮试针",
            },
            [
                C.NOT_HOMEBOUND,
                C.NO_DOCTOR_ORDER,
                C.NO_MEDICAL_RECORD,
                C.SKIN_TEST_DRUG,
                C.TCM_INJECTION,
                C.BIOLOGIC,
                C.ADVERSE_REACTION_PRONE,
                C.ALLERGY_WARNING,
                C.ALLERGIC_PATIENT,
                C.FIRST_DOSE_REACTION,
            ],
        ),
    ],
)
def test_every_reason_is_given_in_the_order_of_the_regulation(changes, reasons):
    decision = decide(**changes)
    assert decision.outcome is Outcome.REFUSED
    assert list(decision.codes) == reasons
    assert codes(decision.notices) == [C.COME_TO_CENTRE]


def test_a_drug_in_several_categories_gives_each_reason():
    catalogue = DrugCatalogue([drug("青霉素", Cat.SKIN_TEST_REQUIRED, Cat.ALLERGY_WARNING)])
    decision = decide(catalogue, drug_text="青霉素")
    assert list(decision.codes) == [C.SKIN_TEST_DRUG, C.ALLERGY_WARNING]


@pytest.mark.parametrize("drug_text", ["某某针", "", "  ", "我想预约上门输液"])
@pytest.mark.parametrize("changes", [{}, EXTERNAL_OK])
def test_an_unknown_drug_goes_to_the_pharmacist_never_allowed(drug_text, changes):
    decision = decide(drug_text=drug_text, **changes)
    assert decision.outcome is Outcome.NEEDS_REVIEW
    assert decision.codes == (C.UNKNOWN_DRUG,)
    assert "药剂人员" in decision.reasons[0].message
    assert decision.notices == ()
    assert decision.drugs == ()


@pytest.mark.parametrize("drug_text", ["普通针加某某针", "某某针和普通针", "普通针、某某针"])
def test_an_unknown_drug_beside_a_known_one_goes_to_the_pharmacist(drug_text):
    decision = decide(drug_text=drug_text)
    assert decision.outcome is Outcome.NEEDS_REVIEW
    assert decision.codes == (C.UNKNOWN_DRUG,)
    assert [d.name for d in decision.drugs] == ["普通针"]
    assert decision.unknown_drugs == ("某某",)


def test_a_health_condition_the_family_mentions_is_checked_by_the_centre_first():
    decision = decide(health=Health.OTHER)
    assert decision.outcome is Outcome.NEEDS_REVIEW
    assert decision.codes == (C.HEALTH_REVIEW,)
    assert decision.reasons[0].rule.item == "1"


def test_every_explanation_quotes_the_regulation_word_for_word():
    text = REGULATIONS.read_text(encoding="utf-8")
    item_6 = text.split("服务管理制度6\n", 1)[1].split("服务管理制度7\n", 1)[0]
    lines = {line.split("、", 1)[0]: line for line in item_6.splitlines() if "、" in line}
    assert set(EXPLANATIONS) == set(ExplanationCode)
    for code, explanation in EXPLANATIONS.items():
        assert explanation.code is code
        assert explanation.message.endswith("。")
        assert explanation.rule.quote in lines[explanation.rule.item], code


# The demo drug table, and drugs as patients write them.


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("医生开的头孢曲松钠", "注射用头孢曲松钠"),
        ("罗氏芬", "注射用头孢曲松钠"),
        ("头孢曲松", "注射用头孢曲松钠"),
        ("打头孢", "头孢菌素类(未说明品种)"),
        ("打丹参", "丹参注射液"),
        ("复方丹参注射液", "香丹注射液"),
        ("丹参多酚酸盐", "注射用丹参多酚酸盐"),
        ("青霉素", "注射用青霉素钠"),
        ("青霉素钠", "注射用青霉素钠"),
        ("生理盐水", "氯化钠注射液"),
        ("盐水", "氯化钠注射液"),
        ("糖盐水", "葡萄糖氯化钠注射液"),
        ("5%葡萄糖250ml", "葡萄糖注射液"),
        ("丙种球蛋白", "静注人免疫球蛋白(pH4)"),
        ("人血白蛋白10g", "人血白蛋白"),
        ("血栓通", "注射用血栓通(冻干)"),
        ("醒脑静", "醒脑静注射液"),
        ("喜炎平", "喜炎平注射液"),
        ("痰热清", "痰热清注射液"),
        ("胸腺肽", "注射用胸腺肽"),
        ("氨茶碱", "氨茶碱注射液"),
        ("克林霉素", "克林霉素磷酸酯注射液"),
        ("10%氯化钾", "氯化钾注射液"),
        # Traditional characters, full-width forms, spaces, letter case.
        ("醫生開的頭孢曲鬆鈉", "注射用头孢曲松钠"),
        ("打丹參", "丹参注射液"),
        ("維生素Ｃ", "维生素C注射液"),
        ("０.９％氯化钠", "氯化钠注射液"),
        ("丹 参", "丹参注射液"),
        ("维生素k1", "维生素K1注射液"),
    ],
)
def test_drugs_are_found_by_name_and_synonym_in_free_text(text, name):
    found = find_drug(text)
    assert found is not None
    assert found.name == name


@pytest.mark.parametrize("text", ["", "阿司匹林", "我想预约上门输液", "挂盐水", "妈妈要打盐水"])
def test_a_drug_the_table_does_not_know_is_none(text):
    assert find_drug(text) is None


def test_every_drug_named_is_found_in_reading_order():
    found = default_catalogue().find_all("挂盐水：生理盐水加头孢曲松，再加维生素C，盐水")
    assert [drug.name for drug in found] == [
        "氯化钠注射液",
        "注射用头孢曲松钠",
        "维生素C注射液",
    ]


@pytest.mark.parametrize(
    ("text", "source", "outcome", "reasons"),
    [
        (
            "医生开的头孢曲松钠",
            DrugSource.PRESCRIBED_HERE,
            Outcome.REFUSED,
            [C.SKIN_TEST_DRUG, C.ALLERGY_WARNING],
        ),
        ("打丹参", DrugSource.PRESCRIBED_HERE, Outcome.REFUSED, [C.TCM_INJECTION]),
        ("人血白蛋白", DrugSource.EXTERNAL, Outcome.REFUSED, [C.BIOLOGIC]),
        ("盐水加氯化钾", DrugSource.PRESCRIBED_HERE, Outcome.REFUSED, [C.ADVERSE_REACTION_PRONE]),
        ("生理盐水加维生素C", DrugSource.PRESCRIBED_HERE, Outcome.ELIGIBLE, []),
        ("奥美拉唑", DrugSource.EXTERNAL, Outcome.ELIGIBLE, []),
        ("挂盐水", DrugSource.PRESCRIBED_HERE, Outcome.NEEDS_REVIEW, [C.UNKNOWN_DRUG]),
    ],
)
def test_decisions_with_the_demo_drug_table(text, source, outcome, reasons):
    external = EXTERNAL_OK if source is DrugSource.EXTERNAL else {}
    decision = decide(default_catalogue(), drug_text=text, **{**external, "drug_source": source})
    assert decision.outcome is outcome
    assert list(decision.codes) == reasons


def test_the_demo_drug_table_is_well_formed():
    catalogue = load_drugs()  # raises on a bad category or a name used twice
    assert len(catalogue.drugs) >= 40
    assert len({drug.name for drug in catalogue.drugs}) == len(catalogue.drugs)
    assert {c for drug in catalogue.drugs for c in drug.categories} == set(DrugCategory)
    for each in catalogue.drugs:
        for name in each.names:
            assert catalogue.find(name) is each, name


def write_table(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "drugs.yml"
    path.write_text("drugs:\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "body",
    [
        "  - {name: 甲, synonyms: [乙], categories: [ordinary]}\n"
        "  - {name: 丙, synonyms: [乙], categories: [ordinary]}\n",
        "  - {name: 甲, synonyms: [甲], categories: [ordinary]}\n",
        "  - {name: 甲, synonyms: [], categories: [dangerous]}\n",
        "  - {name: 甲, synonyms: [], categories: []}\n",
        "  - {name: 甲, synonyms: [], categories: [ordinary, biologic]}\n",
        "  - {name: 甲, synonyms: ['  '], categories: [ordinary]}\n",
    ],
)
def test_a_malformed_drug_table_is_refused(tmp_path, body):
    with pytest.raises(DrugTableError):
        load_drugs(write_table(tmp_path, body))


# Several drugs in one message: every one, in any order, with any separator.

SEPARATORS = ["加", "和", "、", "+", "＋", " ", ",", "，", "跟", "以及", "还有", "再加", "/", ";"]


@pytest.mark.parametrize("separator", SEPARATORS)
@pytest.mark.parametrize(
    ("first", "second"),
    [("葡萄糖", "阿莫西林"), ("阿莫西林", "葡萄糖"), ("生理盐水", "丹参"), ("维C", "白蛋白")],
)
def test_two_drugs_are_both_read_whatever_joins_them(separator, first, second):
    reading = default_catalogue().read(f"医生开了{first}{separator}{second}")
    assert [find_drug(first), find_drug(second)] == list(reading.known)
    assert reading.unknown == ()


@pytest.mark.parametrize(
    "text",
    [
        "医生开了葡萄糖加阿莫西林",
        "阿莫西林和葡萄糖",
        "葡萄糖、维生素C、阿莫西林",
        "5%葡萄糖250ml+阿莫西林2g",
        "一瓶盐水 一瓶头孢",
        "先打葡萄糖，然后再加青霉素",
    ],
)
def test_a_skin_test_drug_anywhere_in_the_list_refuses(text):
    decision = decide(default_catalogue(), drug_text=text)
    assert decision.outcome is Outcome.REFUSED
    assert C.SKIN_TEST_DRUG in decision.codes


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("生理盐水加血必净", ("血必净",)),
        ("血必净加生理盐水", ("血必净",)),
        ("葡萄糖和一种进口的营养针", ("进口的营养",)),
        ("就是医生开的消炎药", ("消炎",)),
        ("葡萄糖加钾", ("钾",)),
    ],
)
def test_a_word_the_table_does_not_know_is_an_unknown_drug(text, unknown):
    reading = default_catalogue().read(text)
    assert reading.unknown == unknown
    assert decide(default_catalogue(), drug_text=text).outcome is not Outcome.ELIGIBLE


@pytest.mark.parametrize(
    "text",
    [
        "医生开了两瓶盐水,每天一次,连续3天",
        "0.9%氯化钠250ml加维生素C 2g",
        "我妈要打葡萄糖,一天一瓶",
        "奥美拉唑钠",
        "葡萄糖氯化钠 就这些",
    ],
)
def test_amounts_and_everyday_words_are_not_drugs(text):
    reading = default_catalogue().read(text)
    assert reading.known
    assert reading.unknown == ()


@pytest.mark.parametrize(
    "text", ["人民医院开的 左氧氟沙星", "市第一人民医院开回来的奥美拉唑", "卫生院开的葡萄糖"]
)
def test_where_a_drug_was_prescribed_is_not_a_drug(text):
    reading = default_catalogue().read(text)
    assert reading.known
    assert reading.unknown == ()


def test_an_unknown_drug_next_to_a_hospital_is_still_unknown():
    assert default_catalogue().read("血必净人民医院开的").unknown == ("血必净",)
