"""`make eval-nlu`: how well the assistant understands messages it was never trained on.

Parses every message of the held-out set (`tests/nlu_heldout.yml`, written apart from the
training data and never trained on) through a running Rasa server, and prints intent
accuracy, macro F1, out-of-scope recall, the in-scope false-rejection rate, the most
frequent confusions, parse latency and a sweep of the FallbackClassifier thresholds (the
held-out set is what they are tuned on). It also runs 5-fold cross-validation on the
training data (`rasa test nlu --cross-validation`) and saves the confusion matrix and the
confidence histogram as PNG files under `reports/`. Exits 1 when a figure misses its target.

`--check DIR` reads the output of `rasa test nlu --successes` instead (what CI runs on the
held-out set) and fails below the targets, without a server. `rasa test nlu` undoes the
FallbackClassifier's decision, so the check applies the configured confidence threshold
to the reported confidence itself (the ambiguity rule needs the runner-up's confidence,
which that output lacks; the full report applies both).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.infra.settings import PROJECT_ROOT
from bot.nlu.out_of_scope import is_out_of_scope

HELDOUT_PATH = PROJECT_ROOT / "tests" / "nlu_heldout.yml"
MODEL_PATH = PROJECT_ROOT / "models" / "service-assistant.tar.gz"
REPORTS_DIR = PROJECT_ROOT / "reports"

OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
# Predictions that answer "I can't do that / I'm not sure" instead of running a service.
REJECTIONS = frozenset({OUT_OF_SCOPE, FALLBACK})

# name -> (target, True if higher is better)
TARGETS: dict[str, tuple[float, bool]] = {
    "macro F1": (0.95, True),
    "out-of-scope recall": (0.93, True),
    "false rejection": (0.05, False),
}
LATENCY_TARGET_MS = 50.0


@dataclass(frozen=True)
class Prediction:
    text: str
    intent: str  # the true intent
    predicted: str  # what the pipeline answered, nlu_fallback included
    confidence: float
    top: str = ""  # the classifier's best intent before the fallback decision
    top_confidence: float = 0.0
    second_confidence: float = 0.0


@dataclass(frozen=True)
class Metrics:
    count: int
    accuracy: float
    macro_f1: float
    # Out-of-scope messages rejected: answered as out of scope or as "not sure"
    # (nlu_fallback), the same two answers that count as rejections of in-scope messages.
    oos_recall: float
    oos_exact: float  # ... answered as out_of_scope itself
    false_rejection: float  # in-scope messages answered as out of scope or "not sure"
    wrong_intent: float  # in-scope messages that ran another service
    confusions: list[tuple[tuple[str, str], int]]

    def figures(self) -> dict[str, float]:
        return {
            "macro F1": self.macro_f1,
            "out-of-scope recall": self.oos_recall,
            "false rejection": self.false_rejection,
        }


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs of a Rasa NLU YAML file, entity annotations removed."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [
        (str(message.get("text")), str(message.get("intent"))) for message in data.intent_examples
    ]


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def macro_f1(pairs: Sequence[tuple[str, str]]) -> float:
    """Macro F1 over the true intents; a prediction of nlu_fallback is simply wrong."""
    labels = sorted({true for true, _ in pairs})
    scores = []
    for label in labels:
        tp = sum(1 for true, pred in pairs if true == label and pred == label)
        fp = sum(1 for true, pred in pairs if true != label and pred == label)
        fn = sum(1 for true, pred in pairs if true == label and pred != label)
        precision = _ratio(tp, tp + fp)
        recall = _ratio(tp, tp + fn)
        scores.append(_ratio(2 * precision * recall, precision + recall) if tp else 0.0)
    return statistics.fmean(scores) if scores else 0.0


def compute_metrics(predictions: Sequence[Prediction]) -> Metrics:
    pairs = [(p.intent, p.predicted) for p in predictions]
    oos = [pred for true, pred in pairs if true == OUT_OF_SCOPE]
    in_scope = [(true, pred) for true, pred in pairs if true != OUT_OF_SCOPE]
    confusions = Counter((true, pred) for true, pred in pairs if true != pred)
    return Metrics(
        count=len(pairs),
        accuracy=_ratio(sum(1 for true, pred in pairs if true == pred), len(pairs)),
        macro_f1=macro_f1(pairs),
        oos_recall=_ratio(sum(1 for pred in oos if pred in REJECTIONS), len(oos)),
        oos_exact=_ratio(sum(1 for pred in oos if pred == OUT_OF_SCOPE), len(oos)),
        false_rejection=_ratio(sum(1 for _, pred in in_scope if pred in REJECTIONS), len(in_scope)),
        wrong_intent=_ratio(
            sum(1 for true, pred in in_scope if pred != true and pred not in REJECTIONS),
            len(in_scope),
        ),
        confusions=confusions.most_common(),
    )


def misses(metrics: Metrics) -> list[str]:
    """The figures that miss their targets, as printable lines."""
    failed = []
    for name, value in metrics.figures().items():
        target, higher = TARGETS[name]
        if (value < target) if higher else (value > target):
            failed.append(f"{name} {value:.3f} misses its target {target:.2f}")
    return failed


def with_thresholds(
    predictions: Iterable[Prediction], threshold: float, ambiguity: float
) -> list[Prediction]:
    """The predictions FallbackClassifier would give with other thresholds."""
    result = []
    for p in predictions:
        unsure = p.top_confidence < threshold or (
            p.top_confidence - p.second_confidence < ambiguity
        )
        result.append(
            Prediction(
                text=p.text,
                intent=p.intent,
                predicted=FALLBACK if unsure else p.top,
                confidence=p.top_confidence,
                top=p.top,
                top_confidence=p.top_confidence,
                second_confidence=p.second_confidence,
            )
        )
    return result


# --- predictions from `rasa test nlu` output (CI) -------------------------------------


def _merged(intent: str) -> str:
    """The intent the dialogue sees: the training data's oos_* sub-intents are out_of_scope
    (cross-validation reports them as labelled; the pipeline merges its predictions)."""
    return OUT_OF_SCOPE if is_out_of_scope(intent) else intent


def predictions_from_rasa_test(directory: Path, threshold: float = 0.0) -> list[Prediction]:
    """Read intent_successes.json and intent_errors.json written by `rasa test nlu`;
    a confidence below `threshold` becomes nlu_fallback, as the FallbackClassifier does."""
    predictions = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = directory / name
        if not path.exists():
            continue
        for row in json.loads(path.read_text(encoding="utf-8")):
            predicted = row.get("intent_prediction") or {}
            name = _merged(str(predicted.get("name")))
            confidence = float(predicted.get("confidence") or 0.0)
            predictions.append(
                Prediction(
                    text=str(row.get("text", "")),
                    intent=_merged(str(row.get("intent"))),
                    predicted=FALLBACK if confidence < threshold else name,
                    confidence=confidence,
                    top=name,
                    top_confidence=confidence,
                )
            )
    return predictions


# --- predictions through a running Rasa server ----------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _parse(url: str, jwt_secret: str, text: str) -> tuple[dict[str, Any], float]:
    from bot.ops.devserver import api_request

    started = time.perf_counter()
    body = api_request(f"{url}/model/parse", jwt_secret, {"text": text})
    return body, (time.perf_counter() - started) * 1000


def _prediction(text: str, intent: str, parsed: dict[str, Any]) -> Prediction:
    predicted = parsed.get("intent") or {}
    ranking = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != FALLBACK]
    top: dict[str, Any] = ranking[0] if ranking else {"name": "", "confidence": 0.0}
    second: dict[str, Any] = ranking[1] if len(ranking) > 1 else {"confidence": 0.0}
    return Prediction(
        text=text,
        intent=intent,
        predicted=str(predicted.get("name")),
        confidence=float(predicted.get("confidence") or 0.0),
        top=str(top.get("name")),
        top_confidence=float(top.get("confidence") or 0.0),
        second_confidence=float(second.get("confidence") or 0.0),
    )


def parse_through_server(
    model: Path, examples: Sequence[tuple[str, str]], log_path: Path
) -> tuple[list[Prediction], list[float]]:
    """Start a Rasa server on the model, parse each example, stop the server."""
    from bot.ops.devserver import auth_headers, guarded_api_args, new_jwt_secret, wait_until_up

    port = _free_port()
    secret = new_jwt_secret()
    url = f"http://127.0.0.1:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "PYTHONPATH": str(PROJECT_ROOT),
        "RASA_JWT_SECRET": secret,  # in the environment: never on a command line
    }
    args = [sys.executable, "-m", "bot.runtime.rasa_server", *guarded_api_args()]
    args += ["--model", str(model), "--port", str(port)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        if not wait_until_up(f"{url}/status", process, 300, auth_headers(secret)):
            raise RuntimeError(f"the Rasa server did not start: see {log_path}")
        for _ in range(5):  # warm-up: the first parses load lazily
            _parse(url, secret, "你好")
        predictions, latencies = [], []
        for text, intent in examples:
            parsed, elapsed = _parse(url, secret, text)
            predictions.append(_prediction(text, intent, parsed))
            latencies.append(elapsed)
        return predictions, latencies
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def configured_thresholds(config_path: Path = PROJECT_ROOT / "config.yml") -> tuple[float, float]:
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for component in config.get("pipeline", []):
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3)), float(
                component.get("ambiguity_threshold", 0.1)
            )
    return 0.0, 0.0


# --- cross-validation -----------------------------------------------------------------


def cross_validate(folds: int, output: Path) -> Metrics:
    """`rasa test nlu --cross-validation` on the training data; metrics of the test folds."""
    rasa = str(Path(sys.executable).with_name("rasa"))
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": str(PROJECT_ROOT)}
    output.mkdir(parents=True, exist_ok=True)
    with (output / "cross_validation.log").open("wb") as log:
        subprocess.run(
            [
                rasa,
                "test",
                "nlu",
                "--nlu",
                "data/nlu",
                "--config",
                "config.yml",
                "--cross-validation",
                "--folds",
                str(folds),
                "--successes",
                "--no-plot",
                "--out",
                str(output),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return compute_metrics(predictions_from_rasa_test(output, configured_thresholds()[0]))


# --- reports --------------------------------------------------------------------------


def save_plots(predictions: Sequence[Prediction], threshold: float, directory: Path) -> None:
    """The confusion matrix and the confidence histogram, as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    labels = sorted({p.intent for p in predictions} | {p.predicted for p in predictions})
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for p in predictions:
        matrix[index[p.intent]][index[p.predicted]] += 1

    figure, axes = plt.subplots(figsize=(16, 14))
    image = axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    axes.set_yticks(range(len(labels)), labels, fontsize=7)
    axes.set_xlabel("predicted intent")
    axes.set_ylabel("true intent")
    axes.set_title("Held-out set: intent confusion matrix")
    for row, values in enumerate(matrix):
        for column, value in enumerate(values):
            if value:
                colour = "white" if value > max(map(max, matrix)) / 2 else "black"
                axes.text(column, row, value, ha="center", va="center", fontsize=6, color=colour)
    figure.colorbar(image, ax=axes, shrink=0.6)
    figure.tight_layout()
    figure.savefig(directory / "nlu_confusion_matrix.png", dpi=110)
    plt.close(figure)

    right = [p.top_confidence for p in predictions if p.top == p.intent]
    wrong = [p.top_confidence for p in predictions if p.top != p.intent]
    figure, axes = plt.subplots(figsize=(9, 5))
    bins = [i / 20 for i in range(21)]
    axes.hist(
        [right, wrong], bins=bins, stacked=True, label=["top intent right", "top intent wrong"]
    )
    axes.axvline(threshold, color="red", linestyle="--", label=f"fallback threshold {threshold}")
    axes.set_xlabel("confidence of the top intent")
    axes.set_ylabel("messages")
    axes.set_title("Held-out set: confidence of the classifier's best intent")
    axes.legend()
    figure.tight_layout()
    figure.savefig(directory / "nlu_confidence_histogram.png", dpi=110)
    plt.close(figure)


def print_metrics(title: str, metrics: Metrics, *, confusions: int = 0) -> None:
    print(f"{title} ({metrics.count} messages)")
    print(f"  intent accuracy        {metrics.accuracy:.3f}")
    print(f"  macro F1               {metrics.macro_f1:.3f}   (target >= 0.95)")
    print(f"  out-of-scope recall    {metrics.oos_recall:.3f}   (target >= 0.93)")
    print(f"  ... as out_of_scope    {metrics.oos_exact:.3f}   (the rest: 'not sure')")
    print(f"  false rejection        {metrics.false_rejection:.3f}   (target <= 0.05)")
    print(f"  ran the wrong service  {metrics.wrong_intent:.3f}")
    if confusions and metrics.confusions:
        print("  most frequent confusions (true -> predicted: count):")
        for (true, predicted), count in metrics.confusions[:confusions]:
            print(f"    {true} -> {predicted}: {count}")


def print_sweep(predictions: Sequence[Prediction], configured: tuple[float, float]) -> None:
    print("FallbackClassifier thresholds on the held-out set (* = configured):")
    print("  threshold ambiguity  macroF1  OOS-recall  false-rej  wrong")
    for threshold in (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8):
        for ambiguity in (0.0, 0.05, 0.1, 0.15):
            m = compute_metrics(with_thresholds(predictions, threshold, ambiguity))
            mark = "*" if (threshold, ambiguity) == configured else " "
            print(
                f" {mark}{threshold:9.2f} {ambiguity:9.2f} {m.macro_f1:8.3f} "
                f"{m.oos_recall:11.3f} {m.false_rejection:10.3f} {m.wrong_intent:6.3f}"
            )


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.nlu.evaluate", description=__doc__)
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--heldout", type=Path, default=HELDOUT_PATH)
    parser.add_argument("--reports", type=Path, default=REPORTS_DIR)
    parser.add_argument("--folds", type=int, default=5, help="0 skips cross-validation")
    parser.add_argument(
        "--check", type=Path, metavar="DIR", help="check `rasa test nlu` output in DIR"
    )
    parser.add_argument(
        "--cv-report",
        type=Path,
        metavar="DIR",
        help="print the metrics of a finished cross-validation in DIR without rerunning it",
    )
    args = parser.parse_args(argv)

    if args.cv_report is not None:
        print_metrics(
            "Cross-validation, test folds",
            compute_metrics(predictions_from_rasa_test(args.cv_report, configured_thresholds()[0])),
            confusions=10,
        )
        return 0

    if args.check is not None:
        predictions = predictions_from_rasa_test(args.check, configured_thresholds()[0])
        if not predictions:
            print(f"no predictions in {args.check}: run `rasa test nlu --successes` first")
            return 1
        metrics = compute_metrics(predictions)
        print_metrics("rasa test nlu on the held-out set", metrics, confusions=10)
        failed = misses(metrics)
        for line in failed:
            print(f"FAIL: {line}")
        return 1 if failed else 0

    examples = load_examples(args.heldout)
    with tempfile.TemporaryDirectory() as scratch:
        predictions, latencies = parse_through_server(
            args.model, examples, Path(scratch) / "rasa.log"
        )
    metrics = compute_metrics(predictions)
    configured = configured_thresholds()
    print_metrics(f"Held-out set {args.heldout.name}", metrics, confusions=15)
    p50, p95 = statistics.median(latencies), _percentile(latencies, 0.95)
    print(f"  parse latency          p50 {p50:.1f} ms, p95 {p95:.1f} ms   (target p95 < 50)")
    print()
    print_sweep(predictions, configured)
    save_plots(predictions, configured[0], args.reports)
    print(f"\nsaved {args.reports}/nlu_confusion_matrix.png and nlu_confidence_histogram.png")

    failed = misses(metrics)
    if p95 >= LATENCY_TARGET_MS:
        failed.append(f"parse p95 {p95:.1f} ms misses its target {LATENCY_TARGET_MS:.0f} ms")
    if args.folds:
        print(f"\n{args.folds}-fold cross-validation on the training data ({args.folds} trainings)")
        cv = cross_validate(args.folds, args.reports / "cross_validation")
        print_metrics("Cross-validation, test folds", cv, confusions=10)
    for line in failed:
        print(f"FAIL: {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
