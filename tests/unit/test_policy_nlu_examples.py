"""The ask_policy examples in everyday words are generated from the anticipated questions,
and only from questions that read as questions about the rules."""

from __future__ import annotations

import re
from pathlib import Path

from bot.infra.settings import PROJECT_ROOT
from bot.nlu.evaluate import load_examples
from bot.policies.nlu_examples import OUTPUT_PATH, everyday_examples, generate, render


def test_the_generated_file_is_up_to_date() -> None:
    assert OUTPUT_PATH.read_text(encoding="utf-8") == generate(), (
        "run python -m bot.policies.nlu_examples"
    )


def test_each_clause_gives_its_question_furthest_from_its_wording() -> None:
    examples = everyday_examples(
        {
            "1:a": ["蓄水池多久消毒一次", "楼顶那个存水的大罐子 隔多久下一回药"],
            "1:b": ["机房里头到底能不能抽烟"],
        },
        {"1:a": "蓄水池的消毒,每10天消毒一次。", "1:b": "机房内严禁吸烟。"},
    )
    assert examples == ["楼顶那个存水的大罐子 隔多久下一回药", "机房里头到底能不能抽烟"]


def test_complaints_requests_and_a_customers_own_case_are_never_examples() -> None:
    questions = {
        "1:a": [
            "看门的就站那儿看着 气死了 有人管吗",  # a complaint
            "我明天要带娃去医院 托管那边找谁说",  # a leave
            "外婆刚出院 能派个人来搭把手吗",  # care for one's family
            "隔几日搞",  # too short to say what it asks
            "保安站岗的时候能玩手机吗",
        ]
    }
    assert everyday_examples(questions, {"1:a": "保安人员上岗时须精神饱满。"}) == [
        "保安站岗的时候能玩手机吗"
    ]


def test_the_examples_are_valid_training_data_of_ask_policy_only(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(render(["机房能抽烟吗", "蓄水池多久消毒"]), encoding="utf-8")
    assert load_examples(path) == [("机房能抽烟吗", "ask_policy"), ("蓄水池多久消毒", "ask_policy")]
    generated = load_examples(OUTPUT_PATH)
    assert len(generated) >= 200 and {intent for _, intent in generated} == {"ask_policy"}

    def key(text: str) -> str:
        return re.sub(r"\W+", "", text)

    elsewhere = {
        key(text)
        for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml")
        if path != OUTPUT_PATH
        for text, intent in load_examples(path)
        if intent != "ask_policy"
    }
    assert [text for text, _ in generated if key(text) in elsewhere] == []
