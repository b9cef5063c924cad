"""Home infusion by 服务管理制度6: every rule alone, together, and every way to pass; the
drug table and how drugs are found in what patients write."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
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
)


def decide(catalogue: DrugCatalogue = CATALOGUE, **changes: object):
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
    ("source", "first_dose", "notices"),
    [
        (DrugSource.PRESCRIBED_HERE, None, [C.CONSENT_REQUIRED]),
        (DrugSource.PRESCRIBED_HERE, False, [C.CONSENT_REQUIRED]),  # asked of external only
        (DrugSource.EXTERNAL, True, [C.CONSENT_REQUIRED, C.EXTERNAL_DRUG_CHECK]),
    ],
)
def test_every_passing_combination_is_eligible(condition, source, first_dose, notices):
    decision = decide(
        condition=condition, drug_source=source, first_dose_without_reaction=first_dose
    )
    assert decision.outcome is Outcome.ELIGIBLE
    assert decision.reasons == ()
    assert codes(decision.notices) == notices
    assert "《家庭输液治疗知情同意书》" in decision.notices[0].message


@pytest.mark.parametrize(
    ("changes", "reason", "item"),
    [
        ({"condition": PatientCondition.NONE}, C.NOT_HOMEBOUND, "1"),
        ({"has_doctor_order": False}, C.NO_DOCTOR_ORDER, "2"),
        ({"drug_source": DrugSource.UNKNOWN}, C.UNKNOWN_ORIGIN, "2"),
        ({"drug_text": "皮试针"}, C.SKIN_TEST_DRUG, "3"),
        ({"drug_text": "中药针"}, C.TCM_INJECTION, "3"),
        ({"drug_text": "生物针"}, C.BIOLOGIC, "3"),
        ({"drug_text": "易反应针"}, C.ADVERSE_REACTION_PRONE, "3"),
        ({"drug_text": "过敏针"}, C.ALLERGY_WARNING, "3"),
        ({"drug_source": DrugSource.EXTERNAL}, C.NO_FIRST_DOSE, "5"),
        (
            {"drug_source": DrugSource.EXTERNAL, "first_dose_without_reaction": False},
            C.NO_FIRST_DOSE,
            "5",
        ),
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
            [C.TCM_INJECTION, C.NO_FIRST_DOSE],
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
                "has_doctor_order": False,
                "drug_source": DrugSource.EXTERNAL,
                "first_dose_without_reaction": False,
                "drug_text": "过敏针 易反应针 生物针 中药针 皮试针",
            },
            [
                C.NOT_HOMEBOUND,
                C.NO_DOCTOR_ORDER,
                C.SKIN_TEST_DRUG,
                C.TCM_INJECTION,
                C.BIOLOGIC,
                C.ADVERSE_REACTION_PRONE,
                C.ALLERGY_WARNING,
                C.NO_FIRST_DOSE,
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
@pytest.mark.parametrize("source", [DrugSource.PRESCRIBED_HERE, DrugSource.EXTERNAL])
def test_an_unknown_drug_goes_to_the_pharmacist_never_allowed(drug_text, source):
    decision = decide(drug_text=drug_text, drug_source=source, first_dose_without_reaction=True)
    assert decision.outcome is Outcome.NEEDS_REVIEW
    assert decision.codes == (C.UNKNOWN_DRUG,)
    assert "药剂人员" in decision.reasons[0].message
    assert decision.notices == ()
    assert decision.drugs == ()


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
    decision = decide(
        default_catalogue(), drug_text=text, drug_source=source, first_dose_without_reaction=True
    )
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
