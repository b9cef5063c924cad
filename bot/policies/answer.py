"""Answer a question from the regulations for one sender: the audience they may see, the
best clause, related clauses, or, when nothing answers, whom to ask instead."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.directory import find_department
from bot.models import Audience, Department
from bot.policies.search import PolicyHit, search_policies
from bot.policies.store import find_document
from bot.settings import Settings
from bot.staff import staff_member

# A further clause is "related" only if it scores at least this share of the best one.
RELATED_SHARE = 0.6
MAX_RELATED = 2
# Regulations of the organisation as a whole are asked about at the service desk.
DEPARTMENT_OF_GENERAL_RULES = "service"


@dataclass(frozen=True)
class PolicyAnswer:
    best: PolicyHit | None
    related: tuple[PolicyHit, ...]
    # Whom to ask when nothing answers: the department of the nearest miss, if any.
    referral: Department | None
    # Nothing public answers, but a staff-only regulation would: the sender is told that
    # the answer is for verified staff, never what it says.
    staff_only: bool = False


def audiences_for(*, session: Session, sender_id: str | None) -> tuple[Audience, ...]:
    """Bound staff may read staff-only regulations; everyone else, the public ones."""
    if staff_member(session=session, sender_id=sender_id) is not None:
        return (Audience.PUBLIC, Audience.STAFF)
    return (Audience.PUBLIC,)


def answer_question(
    *, session: Session, question: str, sender_id: str | None, settings: Settings
) -> PolicyAnswer:
    audiences = audiences_for(session=session, sender_id=sender_id)
    hits = search_policies(
        session=session,
        query=question,
        audiences=audiences,
        limit=1 + MAX_RELATED,
        min_score=settings.policy_min_score,
        min_coverage=settings.policy_min_coverage,
        min_score_unknown_noun=settings.policy_min_score_unknown_noun,
    )
    if hits:
        best = hits[0]
        related = tuple(hit for hit in hits[1:] if hit.score >= RELATED_SHARE * best.score)
        return PolicyAnswer(best=best, related=related, referral=None)
    if Audience.STAFF not in audiences:
        internal = search_policies(
            session=session,
            query=question,
            audiences=(Audience.STAFF,),
            limit=1,
            min_score=settings.policy_min_score,
            min_coverage=settings.policy_min_coverage,
            min_score_unknown_noun=settings.policy_min_score_unknown_noun,
        )
        if internal:
            return PolicyAnswer(best=None, related=(), referral=None, staff_only=True)
    nearest = search_policies(session=session, query=question, audiences=audiences, limit=1)
    department_code = DEPARTMENT_OF_GENERAL_RULES
    if nearest:
        department_code = _department_of_document(session=session, code=nearest[0].code)
    referral = find_department(session=session, code=department_code) or find_department(
        session=session, code=DEPARTMENT_OF_GENERAL_RULES
    )
    return PolicyAnswer(best=None, related=(), referral=referral)


def _department_of_document(*, session: Session, code: str) -> str:
    document = find_document(session=session, key=code)
    if document is None or document.department == "general":
        return DEPARTMENT_OF_GENERAL_RULES
    return str(document.department)
