"""Regulation use cases, one function each: answering a question with the clause that
answers it, and listing the regulations a sender may ask about.

Each function opens its own unit of work (`bot.infra.db.unit_of_work`) and returns plain data
that stays valid after the session is closed; a failed database leaves as
`bot.infra.db.DatabaseUnavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.infra.db import unit_of_work
from bot.infra.settings import get_settings
from bot.policies.answer import (
    LEANING_MARGIN,
    RESCUE_MARGIN,
    RESCUE_MIN_PROMINENCE,
    answer_question,
    answers_confidently,
    audiences_for,
)
from bot.policies.search import PolicyHit
from bot.policies.store import list_documents
from bot.staff import staff_member


@dataclass(frozen=True)
class Referral:
    """The department to ask when no clause answers."""

    name: str
    phone: str


@dataclass(frozen=True)
class PolicyReply:
    """The clause that answers a question and up to two related ones; or, when none
    does, whom to ask, or (`staff_only`) that the answer is for verified staff."""

    best: PolicyHit | None
    related: tuple[PolicyHit, ...]
    referral: Referral | None
    staff_only: bool
    # The sentence the answer starts with, and what a follow-up is searched with.
    plain: str = ""
    context: str = ""
    # Asked by a verified staff member: when nothing answers, their own managers are the
    # ones to ask (a carer's travel expenses are no question for the customer hotline).
    by_staff: bool = False


def answer_policy(
    *,
    question: str,
    sender_id: str | None,
    previous: str | None = None,
    department: str | None = None,
) -> PolicyReply:
    """Answer `question` from the regulations this sender may read (`answer_question`);
    `previous` is what the last policy question was about, for a follow-up; `department`
    the service the conversation is about, whom to ask when nothing answers."""
    with unit_of_work() as session:
        answer = answer_question(
            session=session,
            question=question,
            sender_id=sender_id,
            settings=get_settings(),
            previous=previous,
            department=department,
        )
        referral = (
            Referral(answer.referral.name, answer.referral.phone) if answer.referral else None
        )
        return PolicyReply(
            answer.best,
            answer.related,
            referral,
            answer.staff_only,
            plain=answer.plain,
            context=answer.context,
            by_staff=answer.best is None
            and staff_member(session=session, sender_id=sender_id) is not None,
        )


def regulations_answer(
    *,
    question: str,
    sender_id: str | None,
    previous: str | None = None,
    nlu_leans: bool = False,
) -> bool:
    """Whether the regulations answer `question` beyond doubt (`answers_confidently`; a
    follow-up of `previous`, the last policy question, with its words): a message the NLU
    took for out of scope or did not understand is then answered as a policy question.
    When the NLU's unsure best guess was a policy question (`nlu_leans`), a clause that
    answers is enough (`LEANING_MARGIN`)."""
    with unit_of_work() as session:
        return answers_confidently(
            session=session,
            question=question,
            sender_id=sender_id,
            settings=get_settings(),
            previous=previous,
            margin=LEANING_MARGIN if nlu_leans else RESCUE_MARGIN,
            min_prominence=0.0 if nlu_leans else RESCUE_MIN_PROMINENCE,
        )


def policy_titles(*, sender_id: str | None) -> list[str]:
    """The titles of the regulations this sender may ask about, in source order."""
    with unit_of_work() as session:
        audiences = audiences_for(session=session, sender_id=sender_id)
        return [d.title for d in list_documents(session=session, audiences=audiences)]
