"""The rule register (data/rule_register/*.yml) is sound: every quote stands word for word
in the regulations under the item it cites, every place of enforcement imports, every
response exists, every rule has tests that exist; the infusion rules cover every reason
the eligibility check can give."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.cli import main
from bot.infra.settings import PROJECT_ROOT
from bot.rule_register import check_register, check_rule, load_register
from bot.visits.eligibility import ExplanationCode

RULES = load_register()


def test_the_register_holds_rules_from_several_services():
    assert len(RULES) >= 25
    assert {rule.document for rule in RULES} >= {"5.1", "6", "7.1", "7.4", "8"}


def test_the_register_has_no_problem():
    assert check_register(RULES) == []


def test_every_reason_the_infusion_check_gives_is_registered():
    registered = {code for rule in RULES for code in rule.codes}
    assert {code.value for code in ExplanationCode} <= registered


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"quote": "出诊服务对象可以是任何人。"}, "not in the regulations file"),
        ({"item": "5"}, "not in 《出诊输液管理办法》第5条"),
        ({"item": "99"}, "has no item 99"),
        ({"enforced_in": ("bot.visits.eligibility:no_such_function",)}, "does not import"),
        ({"tells_user": ("utter_no_such_response",)}, "no response"),
        ({"tests": ()}, "no test covers it"),
        ({"tests": ("tests/unit/test_visit_eligibility.py::test_no_such_test",)}, "no test"),
    ],
)
def test_a_broken_rule_is_caught(changes, problem):
    rule = next(r for r in RULES if r.id == "infusion.homebound_patients")
    problems = check_rule(replace(rule, **changes))
    assert any(problem in p for p in problems), problems


def test_the_regulations_copy_is_the_organisations_text():
    seed = PROJECT_ROOT.parent / "shared" / "seed" / "000_2fbfaf2281794026.txt"
    if not seed.is_file():
        pytest.skip("the shared seed folder is not beside the project")
    copy = PROJECT_ROOT / "data" / "policies" / "服务管理制度.txt"
    assert copy.read_text(encoding="utf-8") == seed.read_text(encoding="utf-8")


def test_the_command_prints_the_register_as_json(capsys):
    assert main(["rules", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["problems"] == []
    assert len(printed["rules"]) == len(RULES)
    first = printed["rules"][0]
    assert {"id", "document", "item", "quote", "enforced_in", "tests"} <= set(first)
