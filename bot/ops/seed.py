"""Load the policy corpus and, on request, the demo data. Both loads are idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, TypeVar

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.gas.demo import seed_gas_demo
from bot.infra.settings import PROJECT_ROOT
from bot.models import (
    CareEnrollment,
    Department,
    Guardian,
    School,
    SchoolCalendarDay,
    SchoolClass,
    Student,
    StudentGuardian,
    Teacher,
)
from bot.policies.corpus import load_corpus
from bot.policies.search import embed_unanswered
from bot.policies.semantic import sentence_model
from bot.policies.store import SyncReport, sync_corpus
from bot.visits.demo import seed_visits_demo

DEMO_DIR = PROJECT_ROOT / "data" / "demo"


@dataclass(frozen=True)
class DemoReport:
    departments: int
    schools: int = 0
    students: int = 0
    gas_accounts: int = 0
    communities: int = 0
    nurses: int = 0
    care_clients: int = 0


def seed_policies(*, session: Session) -> SyncReport:
    """Store the regulations, each clause with its sentence embedding when the model is
    installed (`bot.policies.semantic`)."""
    model = sentence_model()
    if model is not None:  # the search index reads them from the cache
        embed_unanswered(model)
    return sync_corpus(session=session, documents=load_corpus(), model=model)


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
    schools, students = seed_school_demo(session=session, path=demo_dir / "school.yml")
    gas_accounts = seed_gas_demo(session=session, path=demo_dir / "gas.yml")
    communities, nurses, care_clients = seed_visits_demo(
        session=session, path=demo_dir / "visits.yml"
    )
    return DemoReport(
        departments=len(rows),
        schools=schools,
        students=students,
        gas_accounts=gas_accounts,
        communities=communities,
        nurses=nurses,
        care_clients=care_clients,
    )


ModelT = TypeVar("ModelT")


def _get_or_add(
    session: Session, model: type[ModelT], lookup: dict[str, Any], **values: Any
) -> ModelT:
    """The row of `model` matching `lookup`, created or updated with `values`."""
    row = session.scalars(select(model).filter_by(**lookup)).first()
    if row is None:
        row = model(**lookup, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    session.flush()
    return row


def seed_school_demo(*, session: Session, path: Path) -> tuple[int, int]:
    """Load the demo schools, classes, teachers, students and guardians (idempotent)."""
    with path.open(encoding="utf-8") as handle:
        schools = yaml.safe_load(handle)["schools"]
    student_count = 0
    for entry in schools:
        school = _get_or_add(
            session,
            School,
            {"code": entry["code"]},
            name=entry["name"],
            care_start=time.fromisoformat(entry["care_start"]),
            care_end=time.fromisoformat(entry["care_end"]),
            leave_cutoff_minutes=entry["leave_cutoff_minutes"],
            care_weekdays=entry["care_weekdays"],
            office_phone=entry["office_phone"],
            is_demo=True,
        )
        for day in entry.get("calendar", []):
            _get_or_add(
                session,
                SchoolCalendarDay,
                {"school_id": school.id, "day": day["day"]},
                has_care=day["has_care"],
                name=day["name"],
            )
        teachers = {
            t["key"]: _get_or_add(
                session, Teacher, {"school_id": school.id, "phone": t["phone"]}, name=t["name"]
            )
            for t in entry["teachers"]
        }
        for group in entry["classes"]:
            school_class = _get_or_add(
                session,
                SchoolClass,
                {"school_id": school.id, "name": group["name"]},
                head_teacher_id=teachers[group["head_teacher"]].id,
                care_teacher_id=teachers[group["care_teacher"]].id,
            )
            for pupil in group["students"]:
                student = _get_or_add(
                    session,
                    Student,
                    {"student_no": pupil["student_no"]},
                    name=pupil["name"],
                    class_id=school_class.id,
                )
                session.execute(
                    delete(CareEnrollment).where(CareEnrollment.student_id == student.id)
                )
                if pupil.get("care_from"):
                    session.add(
                        CareEnrollment(
                            student_id=student.id,
                            starts_on=pupil["care_from"],
                            ends_on=pupil.get("care_until"),
                        )
                    )
                for person in pupil["guardians"]:
                    guardian = _get_or_add(
                        session, Guardian, {"phone": person["phone"]}, name=person["name"]
                    )
                    _get_or_add(
                        session,
                        StudentGuardian,
                        {"student_id": student.id, "guardian_id": guardian.id},
                        relation=person["relation"],
                    )
                student_count += 1
    session.flush()
    return len(schools), student_count
