"""What the agent sees beside a handed-over conversation: what the assistant already knows
about the customer (only what the agent's department may see) and the regulation clauses
that may answer the customer's last question, ready to quote with their citation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.complaints.catalog import get_catalog
from bot.infra.clock import as_utc, local_zone
from bot.infra.db import unit_of_work
from bot.infra.settings import get_settings
from bot.models import (
    Audience,
    Complaint,
    GasAccount,
    GasAccountBinding,
    GuardianBinding,
    HomeVisitBooking,
    SchoolClass,
    Student,
)
from bot.policies.search import search_policies

# Which facts each department's staff may see; a desk user without a department
# (a supervisor) sees the complaints.
VISIBLE = {
    "gas": ("gas",),
    "school": ("school",),
    "health": ("health",),
    "property": (),
    "service": ("complaints",),
    "": ("complaints",),
}


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


def _mask_account(account_no: str) -> str:
    return account_no[:2] + "****" + account_no[-2:] if len(account_no) > 4 else account_no


def known_facts(*, sender_id: str, department: str, engine: Engine | None = None) -> list[Fact]:
    """What the assistant knows about the sender that `department`'s staff may see."""
    facts: list[Fact] = []
    visible = VISIBLE.get(department, ())
    with unit_of_work(engine) as session:
        if "gas" in visible:
            for account in session.scalars(
                select(GasAccount)
                .join(GasAccountBinding, GasAccountBinding.account_id == GasAccount.id)
                .where(GasAccountBinding.sender_id == sender_id)
            ):
                facts.append(
                    Fact(
                        "已验证燃气户号",
                        f"{_mask_account(account.account_no)} {account.holder_name}",
                    )
                )
        if "school" in visible:
            for student, school_class in session.execute(
                select(Student, SchoolClass)
                .join(GuardianBinding, GuardianBinding.student_id == Student.id)
                .join(SchoolClass, Student.class_id == SchoolClass.id)
                .where(GuardianBinding.sender_id == sender_id)
            ):
                facts.append(Fact("已绑定学生", f"{student.name}（{school_class.name}）"))
        if "health" in visible:
            for booking in session.scalars(
                select(HomeVisitBooking)
                .where(HomeVisitBooking.sender_id == sender_id)
                .order_by(HomeVisitBooking.id.desc())
                .limit(3)
            ):
                state = getattr(booking.state, "value", booking.state)
                when = f"{booking.visit_date:%Y-%m-%d}" if booking.visit_date else "未排期"
                facts.append(Fact("上门服务预约", f"{booking.booking_no} {when} {state}"))
        if "complaints" in visible:
            catalog = get_catalog()
            for complaint in session.scalars(
                select(Complaint)
                .where(Complaint.sender_id == sender_id)
                .order_by(Complaint.id.desc())
                .limit(3)
            ):
                filed = as_utc(complaint.created_at).astimezone(local_zone())
                facts.append(
                    Fact(
                        "投诉",
                        f"{complaint.ticket_no} {catalog.category_name(complaint.category)} "
                        f"{catalog.states.get(complaint.state.value, complaint.state.value)}"
                        f"（{filed:%m-%d %H:%M}）",
                    )
                )
    return facts


@dataclass(frozen=True)
class SuggestedClause:
    key: str  # how the reply form names it
    citation: str
    text: str

    @property
    def reply(self) -> str:
        """The clause as a reply the agent may send: quoted, with its source."""
        return f"根据{self.citation}：“{self.text}”"


def suggested_clauses(
    *, question: str, limit: int = 3, engine: Engine | None = None
) -> list[SuggestedClause]:
    """The public regulation clauses that best answer `question` (the policy search)."""
    if not question.strip():
        return []
    settings = get_settings()
    with unit_of_work(engine) as session:
        hits = search_policies(
            session=session,
            query=question,
            audiences=(Audience.PUBLIC,),
            limit=limit,
            min_score=settings.policy_min_score,
            min_coverage=settings.policy_min_coverage,
            min_score_unknown_noun=settings.policy_min_score_unknown_noun,
        )
    return [SuggestedClause(f"{hit.code}:{hit.clause}", hit.citation, hit.text) for hit in hits]
