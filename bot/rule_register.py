"""The rule register: every rule the assistant applies, with its source in the regulations,
where the code enforces it, what the user is told, and the tests that cover it.

The register is data (`data/rule_register/*.yml`, one file per service), read here and
checked by `check_register`: each quote must stand word for word in the regulations file
under the document and item it cites, each place of enforcement must import, each response
must be in the domain, and each rule must name tests that exist. The unit tests fail on
any problem, so a rule cannot drift from the regulation, or lose its tests, unnoticed.

Supervisors and auditors read it with `python -m bot rules` (or `--json`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.infra.settings import PROJECT_ROOT, get_settings
from bot.policies.corpus import CATALOG_PATH, ParsedDocument, clean_line, load_corpus

REGISTER_DIR = PROJECT_ROOT / "data" / "rule_register"
DOMAIN_PATH = PROJECT_ROOT / "domain.yml"
_REQUIRED = ("id", "document", "item", "quote", "rule", "enforced_in", "tests")
_OPTIONAL = ("tells_user", "settings", "codes")
_RULE_ID = re.compile(r"[a-z]+(?:\.[a-z0-9_]+)+")
_TEST_ID = re.compile(r"^(?P<path>tests/[\w/]+\.py)::(?P<name>\w+)(?:\[.*\])?$")


class RegisterError(ValueError):
    """A register file is not as expected."""


@dataclass(frozen=True)
class RegisteredRule:
    id: str
    document: str  # the catalog code of the regulation (data/policies/catalog.yml)
    title: str  # its title, from the catalog
    item: str  # the item as printed ("12", "二.8")
    quote: str  # the regulation's words, verbatim
    rule: str  # what the assistant does, in one line
    enforced_in: tuple[str, ...]  # "module:qualname"
    tells_user: tuple[str, ...]  # response names in domain.yml
    settings: tuple[str, ...]  # organisation settings the rule uses (not regulations)
    codes: tuple[str, ...]  # explanation codes of bot.visits.eligibility, where they apply
    tests: tuple[str, ...]  # pytest node ids

    @property
    def citation(self) -> str:
        return f"《{self.title}》第{self.item}条"


def _strings(value: object, field: str, rule_id: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RegisterError(f"{rule_id}: {field} must be a list of strings")
    return tuple(value)


def load_register(
    directory: Path = REGISTER_DIR, catalog_path: Path = CATALOG_PATH
) -> tuple[RegisteredRule, ...]:
    """Every rule of every register file, in file then listed order."""
    with catalog_path.open(encoding="utf-8") as handle:
        titles = {str(d["code"]): d["title"] for d in yaml.safe_load(handle)["documents"]}
    rules: list[RegisteredRule] = []
    for path in sorted(directory.glob("*.yml")):
        with path.open(encoding="utf-8") as handle:
            rows = (yaml.safe_load(handle) or {}).get("rule_register")
        if not isinstance(rows, list):
            raise RegisterError(f"{path.name}: no `rule_register:` list")
        for row in rows:
            missing = [key for key in _REQUIRED if not row.get(key)]
            if missing:
                raise RegisterError(f"{path.name}: {row.get('id')}: missing {missing}")
            unknown = sorted(set(row) - {*_REQUIRED, *_OPTIONAL})
            if unknown:
                raise RegisterError(f"{path.name}: {row['id']}: unknown keys {unknown}")
            rule_id, document = str(row["id"]), str(row["document"])
            if not _RULE_ID.fullmatch(rule_id):
                raise RegisterError(f"{path.name}: {rule_id!r} is not a dotted lower-case id")
            if document not in titles:
                raise RegisterError(f"{rule_id}: no document {document!r} in the catalog")
            rules.append(
                RegisteredRule(
                    id=rule_id,
                    document=document,
                    title=titles[document],
                    item=str(row["item"]),
                    quote=str(row["quote"]),
                    rule=str(row["rule"]),
                    enforced_in=_strings(row["enforced_in"], "enforced_in", rule_id),
                    tells_user=_strings(row.get("tells_user"), "tells_user", rule_id),
                    settings=_strings(row.get("settings"), "settings", rule_id),
                    codes=_strings(row.get("codes"), "codes", rule_id),
                    tests=_strings(row["tests"], "tests", rule_id),
                )
            )
    return tuple(rules)


@lru_cache(maxsize=1)
def _documents() -> dict[str, ParsedDocument]:
    return {document.code: document for document in load_corpus()}


@lru_cache(maxsize=1)
def _regulations_text() -> str:
    with CATALOG_PATH.open(encoding="utf-8") as handle:
        source = yaml.safe_load(handle)["source_file"]
    return (CATALOG_PATH.parent / source).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _domain_responses() -> frozenset[str]:
    with DOMAIN_PATH.open(encoding="utf-8") as handle:
        return frozenset((yaml.safe_load(handle) or {}).get("responses") or {})


@lru_cache(maxsize=4)
def _settings_tree(path: Path) -> object:
    with path.open(encoding="utf-8") as handle:
        return (yaml.safe_load(handle) or {}).get("organisation")


@lru_cache(maxsize=64)
def _source_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _is_setting(name: str) -> bool:
    """Whether `name` is a dotted path into the organisation settings (data/organisation.yml)."""
    node = _settings_tree(get_settings().organisation_file)
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _imports(target: str) -> bool:
    module_name, _, qualname = target.partition(":")
    try:
        found: object = importlib.import_module(module_name)
    except ImportError:
        return False
    for part in qualname.split(".") if qualname else ():
        found = getattr(found, part, None)
        if found is None:
            return False
    return True


def _test_exists(test_id: str) -> bool:
    match = _TEST_ID.match(test_id)
    if match is None:
        return False
    path = PROJECT_ROOT / match["path"]
    if not path.is_file():
        return False
    definition = re.compile(rf"^(?:async )?def {match['name']}\(", re.M)
    return definition.search(_source_of(path)) is not None


def check_rule(rule: RegisteredRule) -> list[str]:
    """What is wrong with one rule (empty when nothing is)."""
    problems = []
    if rule.quote not in _regulations_text():
        problems.append(f"{rule.id}: the quote is not in the regulations file word for word")
    document = _documents()[rule.document]
    clause = next((c for c in document.clauses if c.number == rule.item.replace("、", ".")), None)
    if clause is None:
        problems.append(f"{rule.id}: {rule.citation} has no item {rule.item}")
    elif clean_line(rule.quote) not in clause.text:
        problems.append(f"{rule.id}: the quote is not in {rule.citation}")
    problems += [f"{rule.id}: {t} does not import" for t in rule.enforced_in if not _imports(t)]
    responses = _domain_responses()
    problems += [f"{rule.id}: no response {r}" for r in rule.tells_user if r not in responses]
    problems += [f"{rule.id}: no setting {n}" for n in rule.settings if not _is_setting(n)]
    if not rule.tests:
        problems.append(f"{rule.id}: no test covers it")
    problems += [f"{rule.id}: no test {t}" for t in rule.tests if not _test_exists(t)]
    return problems


def check_register(rules: Iterable[RegisteredRule]) -> list[str]:
    """Every problem of the register; empty when it is sound."""
    rules = list(rules)
    problems = [problem for rule in rules for problem in check_rule(rule)]
    ids = [rule.id for rule in rules]
    problems += [f"{i}: listed twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    return problems


def _print_table(rules: Sequence[RegisteredRule]) -> None:
    for rule in rules:
        print(f"{rule.id}  {rule.citation}")
        print(f"  rule:     {rule.rule}")
        print(f"  quote:    {rule.quote}")
        print(f"  enforced: {', '.join(rule.enforced_in)}")
        if rule.tells_user:
            print(f"  tells:    {', '.join(rule.tells_user)}")
        if rule.settings:
            print(f"  settings: {', '.join(rule.settings)} (organisation settings, not regulation)")
        print(f"  tests:    {len(rule.tests)}")
    tests = {test for rule in rules for test in rule.tests}
    print(f"{len(rules)} rules, covered by {len(tests)} tests")


def _rules(args: argparse.Namespace) -> int:
    rules = load_register()
    problems = check_register(rules)
    if args.json:
        print(
            json.dumps(
                {"rules": [asdict(rule) for rule in rules], "problems": problems},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _print_table(rules)
        for problem in problems:
            print(f"PROBLEM {problem}")
    return 1 if problems else 0


def register(groups: argparse._SubParsersAction) -> None:
    """`python -m bot rules [--json]`."""
    rules = groups.add_parser(
        "rules", help="the rule register: every rule applied, its source and its tests"
    )
    rules.add_argument("--json", action="store_true", help="print JSON")
    rules.set_defaults(handler=_rules)
