"""Every reply is written with Chinese punctuation (，。？！：；（）), never ASCII marks mixed
into Chinese text: the responses in domain.yml, their buttons, and the text the actions
build. Times (16:30), decimals (1,000) and template slots ({days}) are left as they are."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.infra.settings import PROJECT_ROOT

_CHINESE = re.compile(r"[\u4e00-\u9fff]")
# ASCII marks that have a Chinese form; ":" between digits is a time, "," between digits
# a thousands separator.
_ASCII_MARK = re.compile(r"[?!;()]|(?<!\d),|,(?!\d)|(?<!\d):|:(?!\d)")
_SLOT = re.compile(r"\{[^}]*\}")


def response_texts() -> Iterator[tuple[str, str]]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for name, variations in domain["responses"].items():
        for variation in variations:
            yield name, variation.get("text") or ""
            for button in variation.get("buttons") or []:
                yield f"{name} button", button.get("title") or ""


def ascii_marks(text: str) -> list[str]:
    """The ASCII punctuation marks in the Chinese parts of a text."""
    bare = _SLOT.sub("", text)
    if not _CHINESE.search(bare):
        return []
    return _ASCII_MARK.findall(bare)


@pytest.mark.parametrize(("text", "marks"), [("好的,再见!", [",", "!"]), ("16:30 到 18:00", [])])
def test_the_check_finds_ascii_marks_in_chinese_text(text, marks):
    assert ascii_marks(f"{text}中文") == marks


def test_every_response_uses_chinese_punctuation():
    mixed = [f"{name}: {text[:40]}" for name, text in response_texts() if ascii_marks(text)]
    assert mixed == []


def test_the_demo_departments_read_as_replies_too():
    departments = yaml.safe_load(
        Path(PROJECT_ROOT / "data" / "demo" / "departments.yml").read_text(encoding="utf-8")
    )["departments"]
    fields = ("name", "services", "opening_hours")
    mixed = [f"{d['code']}.{f}" for d in departments for f in fields if ascii_marks(d[f])]
    assert mixed == []


# The modules that word replies in Python (from data the domain cannot hold): the actions,
# each flow's wording module and the channels' own messages.
REPLY_MODULES = [
    *sorted((PROJECT_ROOT / "actions").glob("*.py")),
    *sorted(PROJECT_ROOT.glob("bot/*/wording.py")),
    PROJECT_ROOT / "bot" / "gas" / "reminders.py",
    PROJECT_ROOT / "bot" / "gas" / "faults.py",
    *sorted((PROJECT_ROOT / "bot" / "channels").glob("*.py")),
]


def reply_literals(path: Path) -> Iterator[tuple[int, str]]:
    """The string constants of a module that may reach a user: not docstrings, not regular
    expressions (the arguments of `re` calls)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skipped.add(id(body[0].value))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
        ):
            skipped.update(id(inner) for arg in node.args for inner in ast.walk(arg))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skipped
        ):
            yield node.lineno, node.value


def test_every_reply_worded_in_python_uses_chinese_punctuation():
    mixed = [
        f"{path.relative_to(PROJECT_ROOT)}:{line}: {text[:30]}"
        for path in REPLY_MODULES
        for line, text in reply_literals(path)
        if ascii_marks(text)
    ]
    assert mixed == []
