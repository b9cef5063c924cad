"""`python -m tests.conversations` (`make eval-dialogue`): play the conversation suite
against the real servers, print each conversation's result and the totals, write the
report to results/, and exit 1 on any unsafe outcome or loop, or when task completion
is below the threshold (EVAL_DIALOGUE_MIN_COMPLETION, default 0.95)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from bot.infra.settings import PROJECT_ROOT
from tests.conversations.runner import (
    Result,
    assistant_servers,
    load_conversations,
    run_suite,
    summarize,
    verdict,
)

DEFAULT_MIN_COMPLETION = 0.95
REPORT = "eval_dialogue.json"
FAILURES = "eval_dialogue_failures.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.conversations", description=__doc__)
    parser.add_argument("--only", help="play only conversations whose id matches this regex")
    parser.add_argument("--flow", help="play only this flow")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="play the conversations of this folder (tests/conversations/open: still failing)",
    )
    parser.add_argument(
        "--min-completion",
        type=float,
        default=float(os.environ.get("EVAL_DIALOGUE_MIN_COMPLETION") or DEFAULT_MIN_COMPLETION),
        help="fail below this task completion (0-1)",
    )
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results", help="report folder")
    parser.add_argument("--show", action="store_true", help="print each conversation's transcript")
    return parser.parse_args(argv)


def print_transcript(result: Result) -> None:
    for step in result.transcript:
        print(f"    > {step['user']}    [{step['why']}]")
        for text in step["bot"]:
            print("      " + text.replace("\n", "\n      "))
        if step["buttons"]:
            print(f"      buttons: {' | '.join(step['buttons'])}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    conversations = [
        c
        for c in (load_conversations(args.dir) if args.dir else load_conversations())
        if (not args.only or re.search(args.only, c.id)) and (not args.flow or c.flow == args.flow)
    ]
    if not conversations:
        print("no conversation matches", file=sys.stderr)
        return 2
    from tests.e2e.conftest import FROZEN_NOW

    now = datetime.fromisoformat(FROZEN_NOW)
    started = time.monotonic()
    print(f"starting the servers; {len(conversations)} conversations, clock frozen at {FROZEN_NOW}")

    def report(result: Result) -> None:
        print(result.line(), flush=True)
        if args.show:
            print_transcript(result)

    with (
        tempfile.TemporaryDirectory(prefix="eval-dialogue-") as workdir,
        assistant_servers(Path(workdir)) as (talk, database_url),
    ):
        results = run_suite(conversations, talk, database_url, now, on_result=report)
    summary = summarize(results)
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["min_completion"] = args.min_completion
    problems = verdict(summary, args.min_completion)
    failures = [
        {"id": r.id, "flow": r.flow, "goal": r.goal, "why": r.why} for r in results if not r.passed
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / REPORT).write_text(
        json.dumps(
            {"summary": summary, "problems": problems, "results": [asdict(r) for r in results]},
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    (args.out / FAILURES).write_text(
        json.dumps(failures, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    print()
    print(
        f"task completion {summary['task_completion']:.1%} ({summary['completed']}/"
        f"{summary['conversations']}), turns per task {summary['turns_per_task']}, "
        f"re-asks {summary['reasks']} (in {summary['conversations_with_reasks']} conversations), "
        f"loops {summary['loops']}, unsafe outcomes {summary['unsafe_outcomes']} "
        f"[{summary['seconds']} s]"
    )
    for flow, figures in sorted(summary["per_flow"].items()):
        print(f"  {flow:<18} {figures['passed']}/{figures['total']}")
    print(f"report: {args.out / REPORT}, failures: {args.out / FAILURES}")
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
