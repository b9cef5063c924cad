"""The rule register entries for school, gas, elderly care, complaints and privacy
(data/rule_register/*.yml): each quotes the regulations word for word, from the document
and item it cites; names code that imports, responses that exist, organisation settings
that exist, and tests that exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.policies.corpus import clean_line, load_corpus
from bot.settings import PROJECT_ROOT

REGISTER_DIR = PROJECT_ROOT / "data" / "rule_register"
FILES = ("school.yml", "gas.yml", "elderly.yml", "complaints.yml", "privacy.yml")
FIELDS = (
    "id",
    "document",
    "item",
    "quote",
    "rule",
    "enforced_in",
    "tells_user",
    "settings",
    "tests",
)
REGULATIONS = (PROJECT_ROOT / "data" / "policies" / "服务管理制度.txt").read_text(encoding="utf-8")
DOCUMENTS = {document.code: document for document in load_corpus()}
RESPONSES = set(
    yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
)
ORGANISATION = yaml.safe_load((PROJECT_ROOT / "data" / "organisation.yml").read_text("utf-8"))


def entries() -> list[dict[str, Any]]:
    found = []
    for name in FILES:
        raw = yaml.safe_load((REGISTER_DIR / name).read_text(encoding="utf-8"))
        assert list(raw) == ["rule_register"], name
        found.extend(raw["rule_register"])
    return found


ENTRIES = entries()


def test_ids_are_unique_and_dotted():
    ids = [entry["id"] for entry in ENTRIES]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(\.[a-z0-9_]+)+", i) for i in ids)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["id"])
def test_an_entry_has_exactly_the_fields_in_their_types(entry):
    assert tuple(entry) == FIELDS
    assert all(isinstance(entry[key], str) and entry[key] for key in FIELDS[:5])
    assert all(isinstance(entry[key], list) for key in FIELDS[5:])
    assert entry["enforced_in"] and entry["tests"]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["id"])
def test_the_quote_is_verbatim_and_sits_under_the_cited_document_and_item(entry):
    assert entry["quote"] in REGULATIONS
    document = DOCUMENTS[entry["document"]]
    clause = next((c for c in document.clauses if c.number == entry["item"]), None)
    assert clause is not None, f"《{document.title}》 has no item {entry['item']}"
    assert clean_line(entry["quote"]) in clause.text


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["id"])
def test_the_enforcing_code_imports(entry):
    for target in entry["enforced_in"]:
        module_name, _, qualname = target.partition(":")
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
        assert found is not None


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["id"])
def test_what_the_user_is_told_and_the_settings_exist(entry):
    assert set(entry["tells_user"]) <= RESPONSES
    for name in entry["settings"]:
        node: Any = ORGANISATION["organisation"]
        for part in name.split("."):
            assert isinstance(node, dict) and part in node, name
            node = node[part]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["id"])
def test_the_named_tests_exist(entry):
    for node_id in entry["tests"]:
        path, _, name = node_id.partition("::")
        source = Path(PROJECT_ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^(async )?def {re.escape(name.split('[')[0])}\(", source, re.M), node_id
