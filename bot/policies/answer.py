"""Answer a question from the regulations for one sender: the audience they may see, the
best clause, related clauses, or, when nothing answers, whom to ask instead."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from bot.directory import find_department, named_department
from bot.infra.settings import Settings
from bot.models import Audience, Department
from bot.policies.plain import is_follow_up, is_short, plain_answer, with_context
from bot.policies.search import (
    MIN_PROMINENCE,
    PolicyHit,
    PolicyIndex,
    Thresholds,
    default_tokenizer,
    load_index,
    search_policies,
)
from bot.policies.store import find_document
from bot.staff import staff_member

# A further clause is "related" only if it scores at least this share of the best one.
RELATED_SHARE = 0.6
MAX_RELATED = 2
# What is remembered of a conversation's policy questions, for follow-ups.
MAX_CONTEXT = 120
# Regulations of the organisation as a whole are asked about at the service desk.
DEPARTMENT_OF_GENERAL_RULES = "service"
# A message the NLU took for out of scope or did not understand is answered from the
# regulations only when a clause answers it and it is at least this much nearer (cosine)
# that clause's anticipated questions than any question the regulations do not answer.
# Chosen on the training data's 592 out-of-scope examples and the everyday tuning
# questions (margins 0.02-0.05, with and without a prominence bar): 0.05 takes 4 of the
# 592 (0.7%) for policy questions and 36 of 111 everyday policy questions, none to a
# wrong clause; 0.04 takes 21 and answers 2 wrongly. Hard negatives near a topic (the
# water tank's) keep its questions from being taken: those reach the search only when
# the NLU reads them as policy questions.
# Chosen again with the fifth round of anticipated questions and 404 unanswered ones (the
# same data; margins 0.01-0.05, prominence bars 0, 3 and 4): 0.05 took none of the 592 and
# only 34 of the 111, none wrongly; 0.04 with the best clause standing 4 standard
# deviations out (`RESCUE_MIN_PROMINENCE`) takes 5 of the 592 (0.8%) and 58 of the 111,
# one to a wrong clause; 0.04 alone 6 and 58, two wrongly; 0.03 17 of the 592.
RESCUE_MARGIN = 0.04
RESCUE_MIN_PROMINENCE = 4.0
# A message the NLU was unsure of but guessed to be about the regulations (ask_policy or
# list_policies its best guess below the bar): answered as a question it read as ask_policy
# is, when a clause answers (the search's own margin to unanswered questions).
LEANING_MARGIN = 0.0


@dataclass(frozen=True)
class PolicyAnswer:
    best: PolicyHit | None
    related: tuple[PolicyHit, ...]
    # Whom to ask when nothing answers: the department of the nearest miss, if any.
    referral: Department | None
    # Nothing public answers, but a staff-only regulation would: the sender is told that
    # the answer is for verified staff, never what it says.
    staff_only: bool = False
    # The sentence the answer starts with (`bot.policies.plain`), and what a follow-up
    # question will be searched with.
    plain: str = ""
    context: str = ""


def audiences_for(*, session: Session, sender_id: str | None) -> tuple[Audience, ...]:
    """Bound staff may read staff-only regulations; everyone else, the public ones."""
    if staff_member(session=session, sender_id=sender_id) is not None:
        return (Audience.PUBLIC, Audience.STAFF)
    return (Audience.PUBLIC,)


def answer_question(
    *,
    session: Session,
    question: str,
    sender_id: str | None,
    settings: Settings,
    previous: str | None = None,
    department: str | None = None,
) -> PolicyAnswer:
    """Answer `question`; `previous` is what the last policy question was about, which a
    follow-up ("那商业用户呢", a short question naming nothing: "多久一次?", or a short
    question that finds nothing alone) is searched with. When nothing answers, whom to ask
    is the department the question names, else `department` (the service the conversation
    is about: "修的时候要停气不" after a meter fault report), else the one of the nearest
    regulation."""
    searched = _with_context_if_follow_up(question, previous)
    prefer = question if searched != question else ""
    answer = _answer(
        session=session, question=searched, sender_id=sender_id, settings=settings, prefer=prefer
    )
    if answer.best is None and previous and searched == question and is_short(question):
        searched = with_context(question, previous)
        again = _answer(
            session=session,
            question=searched,
            sender_id=sender_id,
            settings=settings,
            prefer=question,
        )
        if again.best is not None:
            answer = again
    if answer.best is None:
        if answer.referral is not None:
            named = named_department(question, session=session) or (
                find_department(session=session, code=department) if department else None
            )
            answer = replace(answer, referral=named or answer.referral)
        return replace(answer, context=question[:MAX_CONTEXT])
    context = question if searched == question else f"{question} {previous}"
    return replace(
        answer,
        plain=plain_answer(question, answer.best, searched=searched),
        context=context[:MAX_CONTEXT],
    )


def answers_confidently(
    *,
    session: Session,
    question: str,
    sender_id: str | None,
    settings: Settings,
    previous: str | None = None,
    margin: float = RESCUE_MARGIN,
    min_prominence: float = RESCUE_MIN_PROMINENCE,
) -> bool:
    """Whether the regulations this sender may read answer `question` beyond doubt (see
    `RESCUE_MARGIN` and `RESCUE_MIN_PROMINENCE`, or `margin` and `min_prominence`): what a
    message the NLU did not read as a policy question needs to be answered as one. A
    follow-up of the last policy question (`previous`: "那吃东西呢" after "机房能抽烟不")
    is searched with it, as `answer_question` searches it, and needs only a clause that
    answers and uses some of its own words. Needs the sentence model; without it, never."""
    index = load_index(session=session)
    if not index.semantic or not question.strip():
        return False
    searched = _with_context_if_follow_up(question, previous)
    if searched == question and is_follow_up(question):
        # "那吃东西呢" follows up something this sender asked that was no policy question
        # (or nothing): what it asks about is not in its words.
        return False
    audiences = audiences_for(session=session, sender_id=sender_id)
    answers = _best_answer(index, searched, audiences, settings)
    if not answers and searched != question:
        return _answers_within_previous_regulation(index, question, previous, audiences, settings)
    if not answers or answers[0].similarity is None:
        return False
    best = answers[0]
    if searched != question:
        # A follow-up of the sender's own last policy question is a policy question by
        # the conversation, its words alone ("那吃东西呢") too few for the margin: the
        # clause that answers must use some of them ("那明天天气呢" names nothing the
        # clause on smoking in the server room says, and stays out of scope).
        own_words = index.rank(question, audiences=audiences, semantic=False)
        return any(
            hit.score > 0 and (hit.code, hit.clause) == (best.code, best.clause)
            for hit in own_words
        )
    return (
        best.prominence >= min_prominence
        and best.nearest_question_similarity - best.unanswered_similarity >= margin
    )


def _answer(
    *,
    session: Session,
    question: str,
    sender_id: str | None,
    settings: Settings,
    prefer: str = "",
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
        prefer=prefer,
    )
    if hits:
        best = hits[0]
        related = tuple(hit for hit in hits[1:] if _related(best, hit))
        return PolicyAnswer(best=best, related=related, referral=None)
    if Audience.STAFF not in audiences:
        # Over every clause, the best answer is then one this sender may not read.
        internal = search_policies(
            session=session,
            query=question,
            audiences=tuple(Audience),
            limit=1,
            min_score=settings.policy_min_score,
            min_coverage=settings.policy_min_coverage,
            min_score_unknown_noun=settings.policy_min_score_unknown_noun,
        )
        if internal:
            return PolicyAnswer(best=None, related=(), referral=None, staff_only=True)
    # The regulation sharing most words names the department: by the clauses' own words
    # (the model's nearest clause, or an anticipated question's words such as 多少钱, as
    # often point to an unrelated one).
    nearest = max(
        search_policies(
            session=session, query=question, audiences=audiences, limit=5, semantic=False
        ),
        key=lambda hit: hit.score,
        default=None,
    )
    department_code = DEPARTMENT_OF_GENERAL_RULES
    if nearest:
        department_code = _department_of_document(session=session, code=nearest.code)
    referral = find_department(session=session, code=department_code) or find_department(
        session=session, code=DEPARTMENT_OF_GENERAL_RULES
    )
    return PolicyAnswer(best=None, related=(), referral=referral)


def _best_answer(
    index: PolicyIndex, text: str, audiences: tuple[Audience, ...], settings: Settings
) -> list[PolicyHit]:
    """The clause that answers `text` beyond the configured thresholds, embedded whatever
    BM25 finds (at most one; none when nothing answers)."""
    return index.answers(
        text,
        audiences=audiences,
        thresholds=Thresholds(
            settings.policy_min_score,
            settings.policy_min_coverage,
            settings.policy_min_score_unknown_noun,
        ),
        limit=1,
        always_embed=True,
    )


def _answers_within_previous_regulation(
    index: PolicyIndex,
    question: str,
    previous: str | None,
    audiences: tuple[Audience, ...],
    settings: Settings,
) -> bool:
    """Whether a follow-up that finds nothing with the last question's words ("那饭店那种
    商业户呢 每个月几号去抄" after a question on indoor meters, whose slang finds nothing
    on its own) is answered by its own words, in the regulation the last question was
    about: the clause its own words rank first, by BM25 and fused alike, is of the
    document that the last question's words rank first."""
    if not previous:
        return False
    alone = _best_answer(index, question, audiences, settings)
    own_words = index.rank(question, audiences=audiences, semantic=False)
    before = index.rank(previous, audiences=audiences, semantic=False)
    if not alone or not own_words or not before or before[0].score <= 0:
        return False
    best = alone[0]
    return (best.code, best.clause) == (own_words[0].code, own_words[0].clause) and (
        best.code == before[0].code
    )


def _with_context_if_follow_up(question: str, previous: str | None) -> str:
    """`question` with the last policy question's words when it follows that one up
    ("那商业用户呢", or short and naming nothing: "多久一次?"); else `question`."""
    if previous and (is_follow_up(question) or _names_nothing(question)):
        return with_context(question, previous)
    return question


def _names_nothing(question: str) -> bool:
    """Whether `question` is short and names no thing ("多久一次?", "要签字吗"): it asks
    about what the last question named, though anticipated questions such as "气表多久
    看一回" would match its words alone."""
    return is_short(question) and not default_tokenizer().nouns(question)


def _related(best: PolicyHit, hit: PolicyHit) -> bool:
    """Whether `hit` is worth quoting beside `best`: near it by BM25, or, when the question
    was embedded, standing out of the rest as an answer must (`MIN_PROMINENCE`)."""
    if hit.similarity is None:
        return hit.fused_score >= RELATED_SHARE * best.fused_score
    return hit.prominence >= MIN_PROMINENCE


def _department_of_document(*, session: Session, code: str) -> str:
    document = find_document(session=session, key=code)
    if document is None or document.department == "general":
        return DEPARTMENT_OF_GENERAL_RULES
    return str(document.department)
