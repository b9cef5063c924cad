"""A conversation as a supervisor may read it: what was said, masked.

Three layers over `bot.infra.privacy.mask_personal_data` (phone, ID and account numbers,
labelled names): the values the conversation itself gave the assistant for personal
slots (a patient's name, an address, a leave's reason) are masked wherever they appear;
the assistant's messages are matched against their response in domain.yml and the values
it put in a personal placeholder ({student_name}, {patient_name}, {address} ...) are
masked; the users' messages lose words about health. Pure functions over event data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.infra.privacy import MASK, mask_for_reading
from bot.infra.settings import PROJECT_ROOT

# Slots whose values identify a person or say something private about them.
PERSONAL_SLOT = re.compile(
    r"name|patient|student|guardian|holder|contact|phone|address|reason|drug|description|"
    r"occurred|staff|condition|health|reaction|account_no"
)
# Placeholders of domain.yml responses that the assistant fills with personal data (a
# list of leaves, bookings or accounts names people too).
PERSONAL_PLACEHOLDERS = frozenset(
    {
        "student_name",
        "name",
        "names",
        "patient_name",
        "visit_drug",
        "drug",
        "address",
        "phone",
        "contact",
        "description",
        "occurred",
        "reason",
        "reasons",
        "staff",
        "leaves",
        "visits",
        "bookings",
        "complaints",
        "accounts",
        "details",
        "account_no",
        "last_reading",
        "follow_ups",
    }
)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Template:
    pattern: re.Pattern[str]
    placeholders: tuple[str, ...]


@lru_cache(maxsize=4)
def response_templates(domain: Path = PROJECT_ROOT / "domain.yml") -> dict[str, list[Template]]:
    """Every response variant of `domain` as a pattern whose groups are its placeholders."""
    responses = yaml.safe_load(domain.read_text(encoding="utf-8")).get("responses") or {}
    found: dict[str, list[Template]] = {}
    for name, variants in responses.items():
        for variant in variants or []:
            text = str((variant or {}).get("text") or "")
            if not text:
                continue
            parts = _PLACEHOLDER.split(text)  # literal, name, literal, name, ..., literal
            pattern = "".join(
                re.escape(part) if index % 2 == 0 else "(.*?)" for index, part in enumerate(parts)
            )
            found.setdefault(name, []).append(
                Template(re.compile(pattern, re.DOTALL), tuple(parts[1::2]))
            )
    return found


def personal_values(slot_events: Iterable[dict[str, Any]]) -> set[str]:
    """The values set in personal slots (`slot` event data: name, value)."""
    found: set[str] = set()
    for event in slot_events:
        if PERSONAL_SLOT.search(str(event.get("name") or "")):
            found.update(_strings(event.get("value")))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield str(value)


def masked_user_text(text: str, known: Iterable[str]) -> str:
    return mask_for_reading(text, known)


def masked_bot_text(
    text: str, utter_action: str, known: Iterable[str], domain: Path | None = None
) -> str:
    """The assistant's message with its personal placeholders masked when it matches its
    response in domain.yml; otherwise masked as a user's message is."""
    known = tuple(known)
    templates = response_templates(domain) if domain else response_templates()
    for template in templates.get(utter_action, []):
        match = template.pattern.fullmatch(text)
        if match is None:
            continue
        pieces, position = [], 0
        for index, placeholder in enumerate(template.placeholders, start=1):
            start, end = match.span(index)
            pieces.append(text[position:start])
            value = text[start:end]
            if placeholder in PERSONAL_PLACEHOLDERS and value.strip():
                pieces.append(MASK)
            else:
                pieces.append(mask_for_reading(value, known, health=False))
            position = end
        pieces.append(text[position:])
        return "".join(pieces)
    return mask_for_reading(text, known)
