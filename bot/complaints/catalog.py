"""Complaint departments and categories, response time frames and messages.

They are read from `data/complaints/catalog.yml` (or the file named by COMPLAINT_CATALOG),
so that an organisation adds a category without code. The time frame of each category is
the organisation's promise, kept with its other settings (data/organisation.yml,
organisation.complaints.response_hours): 服务流程管理制度 内容概述 第3条 asks for a time
frame (设定问题解决的步骤和时间框架) but names no hours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.infra.settings import get_settings
from bot.organisation import get_organisation

# Jobs named after what they do, which say nothing of what went wrong.
_ROLES = re.compile(r"收费员|收费处|收费窗口|抄表员|维修工|保洁员|安全员")


class CatalogError(ValueError):
    """The catalog file is missing something the complaints desk needs."""


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    response_hours: int
    keywords: tuple[str, ...]

    @property
    def response_time(self) -> timedelta:
        return timedelta(hours=self.response_hours)


@dataclass(frozen=True)
class Catalog:
    departments: dict[str, Department]
    categories: dict[str, Category]
    detection_order: tuple[str, ...]
    messages: dict[str, str]
    findings: dict[str, str]
    states: dict[str, str]

    def department_name(self, code: str) -> str:
        department = self.departments.get(code)
        return department.name if department else code

    def category_name(self, code: str) -> str:
        category = self.categories.get(code)
        return category.name if category else code

    def guess_department(self, text: str) -> str | None:
        """The department a message is about, when exactly one is named."""
        found = [d.code for d in self.departments.values() if any(k in text for k in d.keywords)]
        return found[0] if len(found) == 1 else None

    def guess_category(self, text: str) -> str | None:
        """The first category of `detection_order` a keyword of which the message uses;
        the names of people's jobs (收费员) are no keyword ("收费员啥态度" is about manners)."""
        text = _ROLES.sub(" ", text)
        for code in self.detection_order:
            if any(keyword in text for keyword in self.categories[code].keywords):
                return code
        return None

    def find_department(self, text: str) -> str | None:
        """A department chosen by code, by name or by a keyword (a button or a reply)."""
        text = text.strip()
        for department in self.departments.values():
            if text in {department.code, department.name} or department.name in text:
                return department.code
        return self.guess_department(text)

    def find_category(self, text: str) -> str | None:
        text = text.strip()
        for category in self.categories.values():
            if text in {category.code, category.name} or category.name in text:
                return category.code
        return self.guess_category(text)


def _words(raw: Any) -> tuple[str, ...]:
    return tuple(str(word) for word in raw or ())


def parse_catalog(raw: dict[str, Any], response_hours: Mapping[str, int] | None = None) -> Catalog:
    """The catalog in `raw`, each category with its hours from `response_hours` (default:
    the organisation's settings); raises CatalogError."""
    hours = (
        get_organisation().complaints.response_hours if response_hours is None else response_hours
    )
    try:
        missing = sorted(str(code) for code in raw["categories"] if code not in hours)
    except (KeyError, TypeError) as error:
        raise CatalogError(f"complaint catalog: {error!r}") from error
    if missing:
        raise CatalogError(
            "complaint catalog: no response hours in the organisation settings for "
            + ", ".join(missing)
        )
    try:
        departments = {
            code: Department(code, str(item["name"]), _words(item.get("keywords")))
            for code, item in raw["departments"].items()
        }
        categories = {
            code: Category(
                code,
                str(item["name"]),
                int(hours[code]),
                _words(item.get("keywords")),
            )
            for code, item in raw["categories"].items()
        }
        catalog = Catalog(
            departments=departments,
            categories=categories,
            detection_order=_words(raw.get("detection_order")) or tuple(categories),
            messages={str(k): str(v) for k, v in raw["messages"].items()},
            findings={str(k): str(v) for k, v in raw["findings"].items()},
            states={str(k): str(v) for k, v in raw["states"].items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CatalogError(f"complaint catalog: {error!r}") from error
    unknown = set(catalog.detection_order) - set(categories)
    if unknown or "other" not in categories or "closed" not in catalog.messages:
        raise CatalogError("complaint catalog: needs an 'other' category and a 'closed' message")
    if any(category.response_hours < 1 for category in categories.values()):
        raise CatalogError("complaint catalog: response_hours must be at least 1")
    return catalog


def load_catalog(path: Path) -> Catalog:
    with path.open(encoding="utf-8") as file:
        return parse_catalog(yaml.safe_load(file))


@lru_cache(maxsize=4)
def _cached(path: Path) -> Catalog:
    return load_catalog(path)


def get_catalog() -> Catalog:
    """The configured catalog, read once."""
    return _cached(get_settings().complaint_catalog)
