"""Load the policy corpus and, on request, the demo data. Both loads are idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Department
from bot.policies.corpus import load_corpus
from bot.policies.store import SyncReport, sync_corpus
from bot.settings import PROJECT_ROOT

DEMO_DIR = PROJECT_ROOT / "data" / "demo"


@dataclass(frozen=True)
class DemoReport:
    departments: int


def seed_policies(*, session: Session) -> SyncReport:
    return sync_corpus(session=session, documents=load_corpus())


def seed_demo(*, session: Session, demo_dir: Path = DEMO_DIR) -> DemoReport:
    """Insert or refresh the demo rows; rows that are not demo data are left alone."""
    with (demo_dir / "departments.yml").open(encoding="utf-8") as handle:
        rows = yaml.safe_load(handle)["departments"]
    for row in rows:
        department = session.scalars(
            select(Department).where(Department.code == row["code"])
        ).first()
        if department is None:
            session.add(Department(is_demo=True, **row))
        elif department.is_demo:
            for key, value in row.items():
                setattr(department, key, value)
    session.flush()
    return DemoReport(departments=len(rows))
