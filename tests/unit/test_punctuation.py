"""Every reply is written with Chinese punctuation (，。？！：；（）), never ASCII marks mixed
into Chinese text: the responses in domain.yml, their buttons, and the text the actions
build. Times (16:30), decimals (1,000) and template slots ({days}) are left as they are."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.settings import PROJECT_ROOT

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
