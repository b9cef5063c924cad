"""`python -m bot review export`: labelled messages as training data.

Messages labelled with an intent become Rasa NLU examples (data/nlu/reviewed.yml), masked
and generalised (numbers and names: bot.infra.privacy's masks replaced by neutral values), never
repeating an example the training data has already. Policy gaps become question/clause
pairs (tests/data/policy_gaps.tsv) for the policy benchmark. Both files are written whole
from the labels, sorted: exporting twice gives the same files.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.infra.db import unit_of_work
from bot.infra.privacy import mask_personal_data
from bot.infra.settings import PROJECT_ROOT
from bot.models import ReviewItem
from bot.review.inbox import normalised
from bot.review.service import INTENT, POLICY_GAP

NLU_FILE = Path("data/nlu/reviewed.yml")
GAPS_FILE = Path("tests/data/policy_gaps.tsv")
_MASKED_NUMBER = re.compile(r"\d*\*{3,}\d*")  # 139****5678, 12***34, ***
# Neutral values for what masking hid: a number stays a number, a name a name.
_NUMBER, _NAME = "1234567", "某某"
_HEADER = (
    "# Written by `python -m bot review export` from the review desk's labels: do not edit;\n"
    "# relabel in the desk and export again.\n"
)


@dataclass(frozen=True)
class ExportReport:
    examples: int
    skipped_duplicates: int
    policy_gaps: int


def generalised(text: str) -> str:
    """`text` masked, its masks replaced by neutral values, on one line, with no bracket
    that Rasa would read as an entity annotation."""
    masked = mask_personal_data(" ".join(text.split()))
    masked = _MASKED_NUMBER.sub(
        lambda m: _NUMBER if any(ch.isdigit() for ch in m.group()) else _NAME, masked
    )
    return masked.replace("[", "【").replace("]", "】").strip()


def training_examples(nlu_dir: Path, skip: Path) -> set[str]:
    """The normalised texts of every example in the NLU files of `nlu_dir` but `skip`."""
    found: set[str] = set()
    for path in sorted(nlu_dir.glob("*.yml")):
        if path.resolve() == skip.resolve():
            continue
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                example = line.strip().removeprefix("- ")
                # [text](entity) annotations: compare by the words said.
                example = re.sub(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})", r"\1", example)
                found.add(normalised(example))
    return found


def export(*, root: Path = PROJECT_ROOT, engine: Engine | None = None) -> ExportReport:
    """Write the NLU file and the policy gaps under `root` from the stored labels."""
    with unit_of_work(engine) as session:
        labelled = session.execute(
            select(ReviewItem.label, ReviewItem.intent, ReviewItem.clause, ReviewItem.text)
            .where(ReviewItem.label.in_([INTENT, POLICY_GAP]))
            .order_by(ReviewItem.id)
        ).all()
    nlu_path, gaps_path = root / NLU_FILE, root / GAPS_FILE
    known = training_examples(nlu_path.parent, nlu_path)
    per_intent: dict[str, dict[str, str]] = defaultdict(dict)
    gaps: dict[str, str] = {}
    skipped = 0
    for kind, intent, clause, text in labelled:
        example = generalised(text)
        key = normalised(example)
        if not key:
            continue
        if kind == POLICY_GAP:
            gaps.setdefault(example.replace("\t", " "), clause)
        elif key in known or any(key in seen for seen in per_intent.values()):
            skipped += 1
        else:
            per_intent[intent][key] = example
    nlu_path.write_text(_nlu_yaml(per_intent), encoding="utf-8")
    rows = ["question\tclause"] + [f"{q}\t{c}" for q, c in sorted(gaps.items())]
    gaps_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ExportReport(
        examples=sum(len(found) for found in per_intent.values()),
        skipped_duplicates=skipped,
        policy_gaps=len(gaps),
    )


def _nlu_yaml(per_intent: dict[str, dict[str, str]]) -> str:
    lines = [_HEADER.rstrip("\n"), 'version: "3.1"', ""]
    if not per_intent:
        return "\n".join([*lines, "nlu: []", ""])
    lines.append("nlu:")
    for intent in sorted(per_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {example}" for example in sorted(per_intent[intent].values())]
    return "\n".join(lines) + "\n"
