"""The drug table behind 服务管理制度6 item 3: which drugs are not given at home, and why.

Drugs are found in free text by name or synonym ("医生开的頭孢曲松钠" -> 注射用头孢曲松钠),
longest name first, after NFKC, traditional-to-simplified and whitespace normalisation. A
drug the table does not know is None, never an ordinary drug.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from opencc import OpenCC

from bot.settings import PROJECT_ROOT

DRUGS_PATH = PROJECT_ROOT / "data" / "demo" / "drugs.yml"

_HAN_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_SPACE = re.compile(r"\s+")
# In Zhejiang "挂盐水" means any drip, not saline: it names no drug.
_DRIP_WORDS = ("挂盐水", "打盐水", "吊盐水", "输盐水")


class DrugCategory(str, enum.Enum):
    SKIN_TEST_REQUIRED = "skin_test_required"
    TCM_INJECTION = "tcm_injection"
    BIOLOGIC = "biologic"
    ADVERSE_REACTION_PRONE = "adverse_reaction_prone"
    ALLERGY_WARNING = "allergy_warning"
    ORDINARY = "ordinary"


class DrugTableError(ValueError):
    """drugs.yml is not as expected."""


@dataclass(frozen=True)
class Drug:
    name: str
    synonyms: tuple[str, ...]
    categories: frozenset[DrugCategory]
    note: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms)


@lru_cache(maxsize=1)
def _to_simplified() -> OpenCC:
    return OpenCC("t2s")


def normalize_drug_text(text: str) -> str:
    """Simplified characters, half-width forms, lower case, no whitespace."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _HAN_RUN.sub(lambda match: str(_to_simplified().convert(match.group(0))), text)
    return _SPACE.sub("", text).lower()


class DrugCatalogue:
    """Drugs by every name they go by; raises DrugTableError on a name used twice."""

    def __init__(self, drugs: Iterable[Drug]) -> None:
        self.drugs = tuple(drugs)
        self._by_name: dict[str, Drug] = {}
        for drug in self.drugs:
            if not drug.categories:
                raise DrugTableError(f"{drug.name}: no category")
            if DrugCategory.ORDINARY in drug.categories and len(drug.categories) > 1:
                raise DrugTableError(f"{drug.name}: ordinary cannot go with another category")
            for name in drug.names:
                key = normalize_drug_text(name)
                if not key or key in self._by_name:
                    raise DrugTableError(f"{drug.name}: name {name!r} is empty or used twice")
                self._by_name[key] = drug
        self._longest_first = sorted(self._by_name, key=len, reverse=True)

    def find_all(self, text: str) -> tuple[Drug, ...]:
        """Every drug the text names, in reading order, each once; at each place the
        longest name wins ("复方丹参注射液" is not "丹参")."""
        normalized = normalize_drug_text(text)
        for words in _DRIP_WORDS:
            normalized = normalized.replace(words, " ")
        found: list[Drug] = []
        start = 0
        while start < len(normalized):
            key = next((k for k in self._longest_first if normalized.startswith(k, start)), None)
            if key is None:
                start += 1
                continue
            drug = self._by_name[key]
            if drug not in found:
                found.append(drug)
            start += len(key)
        return tuple(found)

    def find(self, text: str) -> Drug | None:
        """The first drug the text names, or None for a drug the table does not know."""
        found = self.find_all(text)
        return found[0] if found else None


def load_drugs(path: Path = DRUGS_PATH) -> DrugCatalogue:
    with path.open(encoding="utf-8") as handle:
        rows = yaml.safe_load(handle)["drugs"]
    drugs = []
    for row in rows:
        try:
            categories = frozenset(DrugCategory(value) for value in row["categories"])
        except ValueError as exc:
            raise DrugTableError(f"{row['name']}: {exc}") from exc
        drugs.append(
            Drug(
                name=str(row["name"]),
                synonyms=tuple(str(synonym) for synonym in row.get("synonyms") or ()),
                categories=categories,
                note=str(row.get("note") or ""),
            )
        )
    return DrugCatalogue(drugs)


@lru_cache(maxsize=1)
def default_catalogue() -> DrugCatalogue:
    return load_drugs()


def find_drug(text: str, catalogue: DrugCatalogue | None = None) -> Drug | None:
    """The first drug `text` names, from the demo table unless a catalogue is given."""
    return (catalogue or default_catalogue()).find(text)
