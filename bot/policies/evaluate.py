"""`make eval-policy`: how well policy search answers real questions, and how fast.

Reads `tests/data/policy_questions.tsv` (question, the clauses that answer it as
CODE:LABEL separated by ';', or '-' when the regulations do not answer it), searches a
fresh database seeded with the regulations as a staff member would, and prints hit@1,
hit@3, MRR, no-answer precision/recall/F1 and search latency. Without `--questions` it
reports every set (tuning, held-out, everyday held-out), each with BM25 alone and with the
sentence model fused in (when installed), and the share of questions the model was
called for. Exits 1 when a figure of the configuration the assistant runs misses its
target. `--tune` searches the score and coverage thresholds that decide "no answer" on
the given questions (the score a question naming a thing the regulations never name
needs is kept as configured).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.infra.db import create_engine, session_scope
from bot.infra.migrate import upgrade
from bot.infra.settings import PROJECT_ROOT, get_settings
from bot.models import Audience
from bot.ops.seed import seed_policies
from bot.policies.corpus import character_overlap
from bot.policies.search import PolicyHit, PolicyIndex, Thresholds, build_index, select_hits
from bot.policies.semantic import sentence_model

QUESTIONS_PATH = PROJECT_ROOT / "tests" / "data" / "policy_questions.tsv"
HELDOUT_PATH = PROJECT_ROOT / "tests" / "data" / "policy_questions_heldout.tsv"
# Questions in everyday and dialect words, written before reading the clauses closely;
# each shares at most `MAX_EVERYDAY_OVERLAP` of its characters with its clause. Never
# tuned on: thresholds and fusion weights are chosen on QUESTIONS_PATH only.
EVERYDAY_PATH = PROJECT_ROOT / "tests" / "data" / "policy_questions_everyday.tsv"
# Everyday and dialect questions written from the clauses for tuning (the same rule of at
# most a third of the characters shared): with QUESTIONS_PATH, what fusion and the
# thresholds are chosen on.
EVERYDAY_TUNING_PATH = PROJECT_ROOT / "tests" / "data" / "policy_questions_everyday_tuning.tsv"
MAX_EVERYDAY_OVERLAP = 1 / 3
STAFF = (Audience.PUBLIC, Audience.STAFF)
TOP_K = 3

# name -> (target, True if higher is better)
TARGETS: dict[str, tuple[float, bool]] = {
    "hit@1": (0.90, True),
    "hit@3": (0.97, True),
    "no-answer F1": (0.85, True),
    "p95 latency ms": (20.0, False),
}
# The targets for the held-out sets (the p95 latency target holds for every set).
SET_TARGETS: dict[str, dict[str, tuple[float, bool]]] = {
    "tuning": TARGETS,
    # Tuning data, reported for reference: its targets are the everyday held-out set's.
    "ev-tuning": {},
    "held-out": {"hit@1": (0.97, True), "p95 latency ms": (20.0, False)},
    "everyday": {
        "hit@1": (0.85, True),
        "hit@3": (0.95, True),
        "no-answer F1": (0.85, True),
        "p95 latency ms": (20.0, False),
    },
}


@dataclass(frozen=True)
class Question:
    text: str
    answers: frozenset[tuple[str, str]]  # (document code, clause label); empty: no answer


@dataclass(frozen=True)
class Ranking:
    questions: tuple[Question, ...]
    ranked: tuple[list[PolicyHit], ...]
    latencies: tuple[float, ...]
    # Share of searches that embedded the question.
    semantic_share: float = 0.0


@dataclass(frozen=True)
class Report:
    answerable: int
    unanswerable: int
    hit_at_1: float
    hit_at_3: float
    mrr: float
    no_answer_precision: float
    no_answer_recall: float
    no_answer_f1: float
    latency_p50_ms: float
    latency_p95_ms: float
    misses: tuple[str, ...] = ()
    # hit@1 of the ranking alone, as if every answerable question were answered: what
    # the no-answer decision costs is the gap to hit@1.
    ranked_hit_at_1: float = 0.0

    def figures(self) -> dict[str, float]:
        return {
            "hit@1": self.hit_at_1,
            "hit@3": self.hit_at_3,
            "MRR": self.mrr,
            "no-answer precision": self.no_answer_precision,
            "no-answer recall": self.no_answer_recall,
            "no-answer F1": self.no_answer_f1,
            "p50 latency ms": self.latency_p50_ms,
            "p95 latency ms": self.latency_p95_ms,
            "ranked hit@1": self.ranked_hit_at_1,
        }


def load_questions(path: Path = QUESTIONS_PATH) -> list[Question]:
    questions = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            answers = row["answers"].strip()
            pairs: set[tuple[str, str]] = set()
            for part in answers.split(";") if answers != "-" else []:
                code, _, label = part.strip().partition(":")
                if not (code and label):
                    raise ValueError(f"{path}: bad answer {part!r} for {row['question']!r}")
                pairs.add((code, label))
            questions.append(Question(text=row["question"].strip(), answers=frozenset(pairs)))
    return questions


def overlapping_questions(
    questions: Sequence[Question],
    clause_texts: dict[tuple[str, str], str],
    *,
    limit: float = MAX_EVERYDAY_OVERLAP,
) -> list[str]:
    """The questions sharing more than `limit` of their characters with a clause that
    answers them (or naming a clause that does not exist), as readable lines."""
    problems = []
    for question in questions:
        for key in sorted(question.answers):
            if key not in clause_texts:
                problems.append(f"{question.text}: no clause {key[0]}:{key[1]}")
                continue
            share = character_overlap(question.text, clause_texts[key])
            if share > limit:
                problems.append(f"{question.text}: shares {share:.2f} with {key[0]}:{key[1]}")
    return problems


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rank_all(
    engine: Engine,
    questions: Sequence[Question],
    *,
    rounds: int = 3,
    semantic: bool = True,
    thresholds: Thresholds | None = None,
) -> Ranking:
    """Rank the clauses for every question, `rounds` times for the latency figures; with
    the sentence model when `semantic` and it is installed. With `thresholds` the question
    is embedded only when that can change the answer at them, as the assistant does."""
    ranked: list[list[PolicyHit]] = []
    latencies: list[float] = []
    with session_scope(engine) as session:
        index = build_index(session=session, model=sentence_model() if semantic else None)
        # A running assistant has its index, dictionary and model loaded: time searches.
        index.rank("预热 蓄水池多久消毒一次", audiences=STAFF)
        index.semantic_calls = 0
        for round_number in range(rounds):
            # Every round embeds afresh: the figures are those of questions never asked.
            index.forget_embeddings()
            for question in questions:
                started = time.perf_counter()
                hits = index.rank(question.text, audiences=STAFF, thresholds=thresholds)
                latencies.append((time.perf_counter() - started) * 1000)
                if round_number == 0:
                    ranked.append(hits)
        searches = rounds * len(questions)
    return Ranking(
        questions=tuple(questions),
        ranked=tuple(ranked),
        latencies=tuple(latencies),
        semantic_share=index.semantic_calls / searches if searches else 0.0,
    )


def embedding_latency(questions: Sequence[Question], *, count: int = 40) -> tuple[float, float]:
    """p50 and p95 in ms of embedding one question alone: the floor of a search that
    calls the model."""
    model = sentence_model()
    if model is None or not questions:
        return (0.0, 0.0)
    model.query("预热")
    timings = []
    for question in itertools.islice(itertools.cycle(questions), count):
        started = time.perf_counter()
        model.query(question.text)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), _percentile(timings, 0.95)


def semantic_available(engine: Engine) -> bool:
    """Whether the sentence model is installed and the stored clauses carry its vectors."""
    with session_scope(engine) as session:
        index: PolicyIndex = build_index(session=session, model=sentence_model())
        return index.semantic


def evaluate(
    ranking: Ranking,
    *,
    min_score: float,
    min_coverage: float,
    min_score_unknown_noun: float = 0.0,
) -> Report:
    """Quality of the answers the thresholds would give, and the measured latency."""
    hit1 = hit3 = reciprocal = ranked_hit1 = 0.0
    true_none = false_none = missed_none = 0
    misses = []
    for question, candidates in zip(ranking.questions, ranking.ranked, strict=True):
        hits = select_hits(
            candidates,
            limit=TOP_K,
            min_score=min_score,
            min_coverage=min_coverage,
            min_score_unknown_noun=min_score_unknown_noun,
        )
        found = [(hit.code, hit.clause) for hit in hits]
        if not question.answers:
            if hits:
                missed_none += 1
                misses.append(
                    f"answered {question.text} -> {found[0]} "
                    f"score {hits[0].score:.1f} coverage {hits[0].coverage:.2f}"
                )
            else:
                true_none += 1
            continue
        if not hits:
            false_none += 1
        ranked_hit1 += bool(candidates) and (candidates[0].code, candidates[0].clause) in (
            question.answers
        )
        ranks = [rank for rank, key in enumerate(found, start=1) if key in question.answers]
        if ranks:
            hit1 += ranks[0] == 1
            hit3 += 1
            reciprocal += 1 / ranks[0]
        if not ranks or ranks[0] != 1:
            detail = (
                f"{found[0]} score {hits[0].score:.1f} coverage {hits[0].coverage:.2f}"
                if hits
                else "no answer"
            )
            misses.append(f"missed {question.text} -> {detail}")

    questions = ranking.questions
    answerable = sum(1 for q in questions if q.answers)
    unanswerable = len(questions) - answerable
    precision = true_none / (true_none + false_none) if true_none + false_none else 0.0
    recall = true_none / unanswerable if unanswerable else 0.0
    latencies = list(ranking.latencies)
    return Report(
        answerable=answerable,
        unanswerable=unanswerable,
        hit_at_1=hit1 / answerable if answerable else 0.0,
        hit_at_3=hit3 / answerable if answerable else 0.0,
        mrr=reciprocal / answerable if answerable else 0.0,
        no_answer_precision=precision,
        no_answer_recall=recall,
        no_answer_f1=_f1(precision, recall),
        latency_p50_ms=statistics.median(latencies),
        latency_p95_ms=_percentile(latencies, 0.95),
        misses=tuple(misses),
        ranked_hit_at_1=ranked_hit1 / answerable if answerable else 0.0,
    )


def failed_targets(
    report: Report,
    *,
    quality_only: bool = False,
    targets: dict[str, tuple[float, bool]] = TARGETS,
) -> list[str]:
    """The figures that miss their targets, as readable lines."""
    figures = report.figures()
    failures = []
    for name, (target, higher_is_better) in targets.items():
        if quality_only and name.endswith(" ms"):
            continue
        value = figures[name]
        if (value < target) if higher_is_better else (value > target):
            failures.append(
                f"{name} = {value:.3f}, target {'>=' if higher_is_better else '<='} {target}"
            )
    return failures


def tune(ranking: Ranking, *, min_score_unknown_noun: float) -> tuple[float, float, Report]:
    """The score and coverage thresholds with the best hit@1 + no-answer F1 (ties: the
    lower thresholds)."""
    best: tuple[float, float, float, Report] | None = None
    for min_score in [x / 2 for x in range(0, 61)]:
        for min_coverage in [x / 40 for x in range(0, 33)]:
            report = evaluate(
                ranking,
                min_score=min_score,
                min_coverage=min_coverage,
                min_score_unknown_noun=min_score_unknown_noun,
            )
            objective = report.hit_at_1 + report.no_answer_f1
            if best is None or objective > best[0] + 1e-9:
                best = (objective, min_score, min_coverage, report)
    assert best is not None
    return best[1], best[2], best[3]


def seeded_engine(directory: Path) -> Engine:
    url = f"sqlite:///{directory / 'eval.db'}"
    upgrade(url)
    engine = create_engine(url)
    with session_scope(engine) as session:
        seed_policies(session=session)
    return engine


def print_report(
    report: Report, *, min_score: float, min_coverage: float, min_score_unknown_noun: float
) -> None:
    print(
        f"policy search on {report.answerable} answerable and {report.unanswerable} "
        f"unanswerable questions (min score {min_score}, min coverage {min_coverage}, "
        f"min score with an unknown noun {min_score_unknown_noun}):"
    )
    for name, value in report.figures().items():
        target = TARGETS.get(name)
        goal = f"   (target {'>=' if target[1] else '<='} {target[0]})" if target else ""
        print(f"  {name:<20} {value:8.3f}{goal}")


TABLE_FIGURES = (
    ("hit@1", "hit@1"),
    ("hit@3", "hit@3"),
    ("MRR", "MRR"),
    ("no-answer precision", "none prec"),
    ("no-answer recall", "none rec"),
    ("no-answer F1", "no-answer F1"),
    ("p50 latency ms", "p50 ms"),
    ("p95 latency ms", "p95 ms"),
    ("ranked hit@1", "ranked h@1"),
)


def print_table(rows: list[tuple[str, str, Report, float]]) -> None:
    """One line per set and ranking: the figures (no-answer precision and recall as
    "none prec", "none rec"), and how often the model was called."""
    header = " ".join(f"{short:>12}" for _, short in TABLE_FIGURES)
    print(f"{'set':<10} {'ranking':<11} {'questions':>9} {header} {'model called':>12}")
    for set_name, ranking_name, report, share in rows:
        figures = report.figures()
        values = " ".join(f"{figures[name]:12.3f}" for name, _ in TABLE_FIGURES)
        count = f"{report.answerable}+{report.unanswerable}"
        print(f"{set_name:<10} {ranking_name:<11} {count:>9} {values} {share:12.0%}")


def _set_name(path: Path) -> str:
    names = {
        QUESTIONS_PATH: "tuning",
        EVERYDAY_TUNING_PATH: "ev-tuning",
        HELDOUT_PATH: "held-out",
        EVERYDAY_PATH: "everyday",
    }
    return names.get(path.resolve(), path.stem)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.policies.evaluate", description=__doc__)
    parser.add_argument(
        "--questions", type=Path, help="one question set (default: every set, both rankings)"
    )
    parser.add_argument(
        "--tuning-only",
        action="store_true",
        help="only the tuning sets (what thresholds and fusion may be chosen on)",
    )
    parser.add_argument("--tune", action="store_true", help="search the best thresholds")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument(
        "--quality-only",
        action="store_true",
        help="judge only the quality targets (latency is still printed): for tests, whose "
        "machine may be busy",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    thresholds = {
        "min_score": settings.policy_min_score,
        "min_coverage": settings.policy_min_coverage,
        "min_score_unknown_noun": settings.policy_min_score_unknown_noun,
    }
    paths = (
        [args.questions]
        if args.questions
        else [QUESTIONS_PATH, EVERYDAY_TUNING_PATH]
        + ([] if args.tuning_only else [HELDOUT_PATH, EVERYDAY_PATH])
    )
    rows: list[tuple[str, str, Report, float]] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as directory:
        engine = seeded_engine(Path(directory))
        semantic = semantic_available(engine)
        if not semantic:
            print("the sentence model is not installed: BM25 alone")
        for path in paths:
            questions = load_questions(path)
            set_name = _set_name(path)
            if args.tune:
                ranking = rank_all(engine, questions, semantic=semantic)
                best_score, best_coverage, _ = tune(
                    ranking, min_score_unknown_noun=thresholds["min_score_unknown_noun"]
                )
                print(
                    f"{set_name}: best thresholds: POLICY_MIN_SCORE={best_score} "
                    f"POLICY_MIN_COVERAGE={best_coverage}"
                )
                thresholds.update(min_score=best_score, min_coverage=best_coverage)
            for with_model in (False, True) if semantic else (False,):
                ranking = rank_all(
                    engine,
                    questions,
                    semantic=with_model,
                    thresholds=Thresholds(**thresholds),
                )
                report = evaluate(ranking, **thresholds)
                name = "BM25 + e5" if with_model else "BM25 alone"
                rows.append((set_name, name, report, ranking.semantic_share))
                if args.show_misses:
                    print(f"-- {set_name}, {name}:")
                    print("\n".join(report.misses))
                if with_model == semantic:  # what the assistant runs
                    failures.extend(
                        f"{set_name}: {failure}"
                        for failure in failed_targets(
                            report,
                            quality_only=args.quality_only,
                            targets=SET_TARGETS.get(set_name, TARGETS),
                        )
                    )
        engine.dispose()
    print(
        f"thresholds: min score {thresholds['min_score']}, min coverage "
        f"{thresholds['min_coverage']}, min score with an unknown noun "
        f"{thresholds['min_score_unknown_noun']}"
    )
    print_table(rows)
    if semantic:
        p50, p95 = embedding_latency(load_questions(paths[0]))
        print(f"one question embedding alone: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    for failure in failures:
        print(f"BELOW TARGET: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
