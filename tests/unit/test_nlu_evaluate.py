"""The NLU evaluation's arithmetic and the floor CI applies to `rasa test nlu` output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.infra.settings import PROJECT_ROOT
from bot.nlu.evaluate import (
    FALLBACK,
    OUT_OF_SCOPE,
    Prediction,
    compute_metrics,
    load_examples,
    macro_f1,
    main,
    misses,
    predictions_from_rasa_test,
    with_thresholds,
)
from bot.nlu.normalize import normalize_chinese


def _p(
    intent: str, predicted: str, top_confidence: float = 0.9, second: float = 0.05
) -> Prediction:
    return Prediction(
        text=f"{intent}->{predicted}",
        intent=intent,
        predicted=predicted,
        confidence=top_confidence,
        top=predicted if predicted != FALLBACK else intent,
        top_confidence=top_confidence,
        second_confidence=second,
    )


def test_macro_f1_averages_over_true_intents() -> None:
    pairs = [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")]
    # a: P 1, R 0.5, F1 2/3; b: P 2/3, R 1, F1 0.8
    assert macro_f1(pairs) == pytest.approx((2 / 3 + 0.8) / 2)


def test_a_fallback_prediction_counts_as_a_miss_not_as_a_class() -> None:
    pairs = [("a", "a"), ("a", FALLBACK), ("b", "b")]
    # a: P 1, R 0.5 -> 2/3; b: 1. nlu_fallback is no class of its own.
    assert macro_f1(pairs) == pytest.approx((2 / 3 + 1) / 2)


def test_out_of_scope_recall_and_false_rejection() -> None:
    predictions = [
        _p(OUT_OF_SCOPE, OUT_OF_SCOPE),
        _p(OUT_OF_SCOPE, FALLBACK),
        _p(OUT_OF_SCOPE, "check_gas_bill"),
        _p(OUT_OF_SCOPE, OUT_OF_SCOPE),
        _p("check_gas_bill", "check_gas_bill"),
        _p("check_gas_bill", FALLBACK),
        _p("request_leave", OUT_OF_SCOPE),
        _p("request_leave", "cancel_leave"),
    ]
    metrics = compute_metrics(predictions)
    assert metrics.oos_recall == pytest.approx(3 / 4)
    assert metrics.oos_exact == pytest.approx(2 / 4)
    assert metrics.false_rejection == pytest.approx(2 / 4)
    assert metrics.wrong_intent == pytest.approx(1 / 4)
    assert metrics.accuracy == pytest.approx(3 / 8)
    assert metrics.confusions[0][1] == 1


def test_misses_names_every_figure_below_its_target() -> None:
    good = compute_metrics([_p("a", "a"), _p(OUT_OF_SCOPE, OUT_OF_SCOPE)])
    assert misses(good) == []
    bad = compute_metrics([_p("a", FALLBACK), _p("a", "a"), _p(OUT_OF_SCOPE, "a")])
    failed = " ".join(misses(bad))
    assert "macro F1" in failed
    assert "out-of-scope recall" in failed
    assert "false rejection" in failed


def test_threshold_sweep_replays_the_fallback_classifier() -> None:
    confident = _p("a", "a", top_confidence=0.9, second=0.05)
    unsure = _p("a", "a", top_confidence=0.5, second=0.1)
    close = _p("b", "b", top_confidence=0.7, second=0.65)
    replayed = with_thresholds([confident, unsure, close], threshold=0.6, ambiguity=0.1)
    assert [p.predicted for p in replayed] == ["a", FALLBACK, FALLBACK]
    replayed = with_thresholds([confident, unsure, close], threshold=0.4, ambiguity=0.0)
    assert [p.predicted for p in replayed] == ["a", "a", "b"]


def _write_rasa_output(directory: Path, rows: list[tuple[str, str, str]]) -> None:
    successes = [
        {"text": t, "intent": i, "intent_prediction": {"name": p, "confidence": 0.9}}
        for t, i, p in rows
        if i == p
    ]
    errors = [
        {"text": t, "intent": i, "intent_prediction": {"name": p, "confidence": 0.4}}
        for t, i, p in rows
        if i != p
    ]
    (directory / "intent_successes.json").write_text(json.dumps(successes), encoding="utf-8")
    (directory / "intent_errors.json").write_text(json.dumps(errors), encoding="utf-8")


def test_check_reads_rasa_test_output_and_fails_below_the_floor(tmp_path: Path) -> None:
    rows = [(f"x{i}", "check_gas_bill", "check_gas_bill") for i in range(20)]
    rows += [(f"o{i}", OUT_OF_SCOPE, OUT_OF_SCOPE) for i in range(10)]
    _write_rasa_output(tmp_path, rows)
    assert len(predictions_from_rasa_test(tmp_path)) == 30
    assert main(["--check", str(tmp_path)]) == 0

    rows[0] = ("x0", "check_gas_bill", FALLBACK)
    rows[1] = ("x1", "check_gas_bill", OUT_OF_SCOPE)  # 2/20 rejected: 0.10 > 0.05
    _write_rasa_output(tmp_path, rows)
    assert main(["--check", str(tmp_path)]) == 1


def test_check_without_output_fails(tmp_path: Path) -> None:
    assert main(["--check", str(tmp_path)]) == 1


def test_the_heldout_set_is_big_enough_and_never_trained_on() -> None:
    heldout = load_examples(PROJECT_ROOT / "tests" / "nlu_heldout.yml")
    assert len(heldout) >= 200
    assert sum(1 for _, intent in heldout if intent == OUT_OF_SCOPE) >= 40

    def key(text: str) -> str:  # what the model sees, without punctuation and emoji
        return re.sub(r"[\W_]+", "", normalize_chinese(text)).lower()

    training = set()
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        training |= {key(text) for text, _ in load_examples(path)}
    overlap = [text for text, _ in heldout if key(text) in training]
    assert overlap == [], f"held-out messages found in the training data: {overlap[:5]}"


def test_out_of_scope_sub_intents_count_as_out_of_scope(tmp_path: Path) -> None:
    rows = [
        ("交电费", "oos_utility", OUT_OF_SCOPE),
        ("查燃气费", "check_gas_bill", "check_gas_bill"),
    ]
    _write_rasa_output(tmp_path, rows)
    metrics = compute_metrics(predictions_from_rasa_test(tmp_path))
    assert metrics.accuracy == 1.0
    assert metrics.oos_recall == 1.0


def test_the_policy_routing_set_is_never_trained_on() -> None:
    routing = load_examples(PROJECT_ROOT / "tests" / "nlu_policy_routing.yml")
    assert sum(1 for _, intent in routing if intent == "ask_policy") >= 25

    def key(text: str) -> str:
        return re.sub(r"[\W_]+", "", normalize_chinese(text)).lower()

    training = set()
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        training |= {key(text) for text, _ in load_examples(path)}
    overlap = [text for text, _ in routing if key(text) in training]
    assert overlap == [], f"routing messages found in the training data: {overlap[:5]}"
