"""How families answer the safety questions of 服务管理制度6, read as the rules need them:
any reaction in any wording is a reaction (item 5), any allergy or contraindication counts
(items 1 and 3), and what cannot be read is None (asked again, then taken as unsafe)."""

from __future__ import annotations

import pytest

from bot.visits.eligibility import FirstDose, Health
from bot.visits.wording import (
    GIVEN_ONLY,
    clean_note,
    read_first_dose,
    read_health,
    read_medical_record,
    read_reaction,
    without_allergies,
)

REACTIONS = [
    "打过一次 但是起了疹子",
    "用过,有点心慌",
    "用过,有过不良反应",
    "输过一次，身上有点痒",
    "挂过一瓶 后来发烧了",
    "在人民医院打过 有点头晕",
    "用过,没有，就是有点累",
    "打过,脸有点红",
    "好像有点过敏",
    "用过 反应不大",
    "打过一次 手上肿了",
    "用过,没什么不良反应,就是有点困",
    "用过，但是手背起了个包",
    "打了之后胸闷气短",
    "用过，打的时候发冷发抖",
    "用過，有點噁心",
    "用过 恶心想吐",
    "用过，血压有点低",
]


@pytest.mark.parametrize("text", REACTIONS)
def test_a_reaction_at_the_first_dose_in_any_wording_is_a_reaction(text):
    assert read_first_dose(text) is FirstDose.REACTION


@pytest.mark.parametrize(
    "text",
    [
        "用过,没有不良反应",
        "用过一次,没什么反应",
        "一点反应都没有 用过了",
        "用了 没事",
        "打过了一切正常",
        "用过没问题",
        "用过,挺好的",
        "用过 没有不舒服",
        "用过了，没反应",
    ],
)
def test_a_first_dose_without_reaction_is_read_as_such(text):
    assert read_first_dose(text) is FirstDose.NO_REACTION


@pytest.mark.parametrize("text", ["还没用过", "没有", "还没打", "第一次用", "没有用过", "还没有"])
def test_a_first_dose_not_given_yet(text):
    assert read_first_dose(text) is FirstDose.NOT_GIVEN


@pytest.mark.parametrize("text", ["用过", "是", "嗯", "已经打过一次了 还行"])
def test_a_first_dose_given_without_a_word_on_reactions_asks_about_them(text):
    assert read_first_dose(text) == GIVEN_ONLY


@pytest.mark.parametrize("text", ["不知道", "", "🙂", "康乐苑3栋"])
def test_an_unreadable_first_dose_answer_is_none(text):
    assert read_first_dose(text) is None


@pytest.mark.parametrize(
    ("text", "reaction"),
    [
        ("没有", False),
        ("没有任何不良反应", False),
        ("一切正常", False),
        ("反应都没有", False),
        ("没有不舒服", False),
        ("有", True),
        ("有一点痒", True),
        ("没有,就是有点胸闷", True),
        ("起了点疹子", True),
        ("有过不良反应或不舒服", True),
        ("不清楚", None),
    ],
)
def test_the_reaction_question(text, reaction):
    assert read_reaction(text) is reaction


@pytest.mark.parametrize(
    ("text", "health"),
    [
        ("都没有", Health.NONE),
        ("没有", Health.NONE),
        ("无", Health.NONE),
        ("没有过敏,也没有禁忌", Health.NONE),
        ("不过敏", Health.NONE),
        ("没有过敏史", Health.NONE),
        ("有药物过敏", Health.ALLERGY),
        ("对青霉素过敏", Health.ALLERGY),
        ("过敏体质", Health.ALLERGY),
        ("有过敏史", Health.ALLERGY),
        ("对头孢过敏，别的没有", Health.ALLERGY),
        ("有禁忌症", Health.CONTRAINDICATION),
        ("医生说不能输液", Health.CONTRAINDICATION),
        ("有高血压", Health.OTHER),
        ("没有 就是有糖尿病", Health.OTHER),
        ("心脏不太好", Health.OTHER),
        # No illness in general words is a no; a named one, even denied, is for the doctor.
        ("没过敏 也没别的毛病", Health.NONE),
        ("没啥病", Health.NONE),
        ("没别的病 就是有点高血压", Health.OTHER),
        ("没有高血压", Health.OTHER),
        ("有", None),
        ("不知道", None),
    ],
)
def test_allergies_and_contraindications_as_families_report_them(text, health):
    assert read_health(text) is health


@pytest.mark.parametrize(
    ("text", "record"),
    [("有", True), ("病历在", True), ("带着呢", True), ("没有", False), ("找不到了", False)],
)
def test_an_external_drugs_medical_record(text, record):
    assert read_medical_record(text) is record


@pytest.mark.parametrize(
    ("text", "rest", "allergy"),
    [
        ("葡萄糖,她对青霉素过敏", "葡萄糖,她 ", "对青霉素过敏"),
        ("医生开了葡萄糖她对青霉素过敏", "医生开了葡萄糖她 ", "对青霉素过敏"),
        ("他没有药物过敏史", " ", None),
        ("葡萄糖", "葡萄糖", None),
    ],
)
def test_a_drug_named_in_an_allergy_is_not_a_drug_to_give(text, rest, allergy):
    assert without_allergies(text) == (rest, allergy)


def test_a_note_for_the_nurse_loses_control_and_direction_characters():
    assert clean_note("有点\x1b[31m痒\u202e\n起疹子") == "有点[31m痒 起疹子"
    assert len(clean_note("痒" * 500)) == 100
