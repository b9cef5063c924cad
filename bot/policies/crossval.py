"""Cross-validation on the anticipated and unanswered questions: what fusion is tuned on.

The tuning sets (`bot.policies.evaluate`) were written from the clauses, and BM25 alone
answers most of them; they say little about questions asked in one's own words. The
anticipated questions that share few characters with their clause
(data/policies/clause_questions*.yml) are such questions, thousands of them, and so are
the unanswered ones (unanswered_questions.yml). Each is asked of an index that does not
hold it: the questions are split into `--folds` folds by a hash of their text, and for
each fold the index keeps every other question (a clause its other questions, the
unanswered list its others). Only anticipated questions sharing at most `MAX_OVERLAP` of
their characters with their clause are asked; every one stays in the index otherwise.

    python -m bot.policies.crossval                          # the configured weights
    python -m bot.policies.crossval --grid MIN_PROMINENCE=2.5,3 \\
        --grid NEXT_QUESTIONS_WEIGHT=0.5,0.75                # every combination

Prints, for each setting, hit@1, hit@3 and no-answer F1 of the left-out questions and of
both tuning sets (asked of the whole index), and the score a setting is chosen by:
hit@1 + hit@3 + no-answer F1, the left-out questions' counted twice. The held-out sets
are never asked here. Question embeddings are cached in var/cache (a first run embeds
every anticipated question, about a minute).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.infra.db import session_scope
from bot.infra.settings import get_settings
from bot.models import PolicyClause, PolicyDocument
from bot.policies import search
from bot.policies.corpus import character_overlap
from bot.policies.evaluate import (
    EVERYDAY_TUNING_PATH,
    QUESTIONS_PATH,
    STAFF,
    Question,
    Ranking,
    Report,
    evaluate,
    load_questions,
    seeded_engine,
)
from bot.policies.semantic import (
    EmbeddingCache,
    SentenceModel,
    from_bytes_matrix,
    sentence_model,
    to_bytes,
)
from bot.policies.store import clause_questions_of

MAX_OVERLAP = 0.35
FOLDS = 5
# The module constants of `bot.policies.search` a grid may set.
TUNABLE = (
    "CLAUSE_SIMILARITY_WEIGHT",
    "BM25_WEIGHT",
    "QUESTION_BM25_WEIGHT",
    "NEXT_QUESTIONS",
    "NEXT_QUESTIONS_WEIGHT",
    "MIN_PROMINENCE",
    "UNANSWERED_MARGIN",
    "REORDER_MAX_GAP",
    "QUESTION_MIN_SCORE",
)


def fold_of(question: str, folds: int) -> int:
    """The fold a question is left out in: the same on every machine and run."""
    return int(hashlib.sha256(question.encode()).hexdigest(), 16) % folds


class RememberedModel:
    """A sentence model answering from vectors computed beforehand (the questions asked,
    embedded once for the whole grid), else from the model."""

    def __init__(self, model: SentenceModel, vectors: dict[str, np.ndarray]) -> None:
        self.name = model.name
        self._model = model
        self._vectors = vectors

    def query(self, text: str) -> np.ndarray:
        vector = self._vectors.get(text)
        return vector if vector is not None else self._model.query(text)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._model.passages(texts)


@dataclass(frozen=True)
class Fold:
    index: search.PolicyIndex
    asked: tuple[Question, ...]


def _clauses(session: Session) -> Sequence[PolicyClause]:
    return session.scalars(
        select(PolicyClause)
        .join(PolicyDocument)
        .options(selectinload(PolicyClause.document))
        .order_by(PolicyDocument.ordinal, PolicyClause.ordinal)
    ).all()


def build_folds(session: Session, model: SentenceModel, folds: int) -> list[Fold]:
    """One index per fold, without that fold's questions, and the questions it asks."""
    clauses = _clauses(session)
    unanswered = list(search.unanswered_questions())
    unanswered_vectors = EmbeddingCache().embed(model, unanswered, as_queries=True)
    built = []
    for fold in range(folds):
        kept_clauses, asked = [], []
        for clause in clauses:
            questions = list(clause_questions_of(clause))
            vectors = from_bytes_matrix(clause.question_embeddings, len(questions))
            if vectors is None:
                raise SystemExit("the clauses carry no question embeddings: run `make db`")
            left_out = {
                i
                for i, question in enumerate(questions)
                if fold_of(question, folds) == fold
                and character_overlap(question, clause.text) <= MAX_OVERLAP
            }
            answer = frozenset({(clause.document.code, clause.label)})
            asked += [Question(text=questions[i], answers=answer) for i in sorted(left_out)]
            kept = [i for i in range(len(questions)) if i not in left_out]
            kept_clauses.append(
                SimpleNamespace(
                    document=clause.document,
                    label=clause.label,
                    heading=clause.heading,
                    text=clause.text,
                    embedding=clause.embedding,
                    embedding_model=clause.embedding_model,
                    questions="\n".join(questions[i] for i in kept),
                    question_embeddings=b"".join(to_bytes(vectors[i]) for i in kept),
                )
            )
        kept_unanswered = [i for i, q in enumerate(unanswered) if fold_of(q, folds) != fold]
        asked += [
            Question(text=q, answers=frozenset()) for q in unanswered if fold_of(q, folds) == fold
        ]
        index = search.PolicyIndex(
            # Stand-ins with the attributes the index reads: a new PolicyClause would join
            # its document's clauses in the session.
            cast("list[PolicyClause]", kept_clauses),
            search.default_tokenizer(),
            search.clause_keywords(),
            model,
            unanswered_vectors[kept_unanswered],
        )
        built.append(Fold(index=index, asked=tuple(asked)))
    return built


def _report(index_questions: Sequence[tuple[search.PolicyIndex, Question]]) -> Report:
    settings = get_settings()
    thresholds = search.Thresholds(
        settings.policy_min_score,
        settings.policy_min_coverage,
        settings.policy_min_score_unknown_noun,
    )
    ranked = tuple(
        index.rank(question.text, audiences=STAFF, thresholds=thresholds)
        for index, question in index_questions
    )
    return evaluate(
        Ranking(
            questions=tuple(question for _, question in index_questions),
            ranked=ranked,
            latencies=(0.0,),
            semantic_share=0.0,
        ),
        min_score=thresholds.min_score,
        min_coverage=thresholds.min_coverage,
        min_score_unknown_noun=thresholds.min_score_unknown_noun,
    )


def _parse_grid(items: Sequence[str]) -> dict[str, list[float]]:
    grid: dict[str, list[float]] = {}
    for item in items:
        name, _, values = item.partition("=")
        if name not in TUNABLE or not values:
            raise SystemExit(f"--grid NAME=V1,V2 with NAME one of {', '.join(TUNABLE)}")
        kind = type(getattr(search, name))
        grid[name] = [kind(value) for value in values.split(",")]
    return grid


def _figures(report: Report) -> str:
    return f"{report.hit_at_1:.3f} {report.hit_at_3:.3f} {report.no_answer_f1:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.policies.crossval", description=__doc__)
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2")
    args = parser.parse_args(argv)
    grid = _parse_grid(args.grid)
    model = sentence_model()
    if model is None:
        print("the sentence model is not installed: nothing to tune", file=sys.stderr)
        return 1
    tuning = load_questions(QUESTIONS_PATH) + load_questions(EVERYDAY_TUNING_PATH)
    with tempfile.TemporaryDirectory() as directory:
        engine = seeded_engine(Path(directory))
        with session_scope(engine) as session:
            asked = [
                search._normalized(question)
                for clause in _clauses(session)
                for question in clause_questions_of(clause)
            ] + [search._normalized(q) for q in search.unanswered_questions()]
            asked += [search._normalized(q.text) for q in tuning]
            vectors = EmbeddingCache().embed(model, asked, as_queries=True)
            remembered = RememberedModel(model, dict(zip(asked, vectors, strict=True)))
            folds = build_folds(session, remembered, args.folds)
            whole = search.build_index(session=session, model=remembered)
        engine.dispose()
    left_out = [(fold.index, question) for fold in folds for question in fold.asked]
    answerable = sum(1 for _, question in left_out if question.answers)
    print(
        f"{args.folds} folds: {answerable} anticipated questions (at most {MAX_OVERLAP} of "
        f"their characters shared with their clause) and {len(left_out) - answerable} "
        "unanswered ones, each asked of an index without it; figures hit@1 hit@3 "
        "no-answer F1"
    )
    for values in itertools.product(*grid.values()) if grid else [()]:
        for name, value in zip(grid, values, strict=True):
            setattr(search, name, value)
        cross = _report(left_out)
        tuned = _report([(whole, question) for question in tuning])
        score = 2 * (cross.hit_at_1 + cross.hit_at_3 + cross.no_answer_f1) + (
            tuned.hit_at_1 + tuned.hit_at_3 + tuned.no_answer_f1
        )
        setting = " ".join(f"{name}={value}" for name, value in zip(grid, values, strict=True))
        print(
            f"{setting or 'configured'}: left out {_figures(cross)} | tuning sets "
            f"{_figures(tuned)} | score {score:.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
