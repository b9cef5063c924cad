"""`python -m bot analytics [--days N] [--json]`: the operators' figures."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.infra import clock
from bot.infra.db import DatabaseUnavailable

NOT_READY = (
    "the database or the tracker store is not reachable or not migrated ({});"
    " see `python -m bot db upgrade`"
)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _analytics(args: argparse.Namespace) -> int:
    from bot.analytics.service import operators_report

    if args.days < 1:
        print("--days must be 1 or more", file=sys.stderr)
        return 2
    try:
        figures = operators_report(days=args.days, now=clock.now()).as_json()
    except DatabaseUnavailable as error:
        print(NOT_READY.format(error), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return 0
    print(_text(figures))
    return 0


def _text(f: dict[str, Any]) -> str:
    """The figures as a staff member reads them in a terminal."""
    policy, satisfaction, latency = f["policy_questions"], f["satisfaction"], f["latency_ms"]
    lines = [
        f"{f['from']} .. {f['to']}",
        f"conversations      {f['conversations']}  ({f['user_messages']} user messages)",
        f"containment        {_percent(f['containment_rate'])}  ({f['handoff_note']})",
        f"not understood     {f['not_understood']}  {_percent(f['not_understood_rate'])}"
        " of user messages",
        f"handoffs           {f['handoffs']}  {_percent(f['handoff_rate'])}",
        f"policy questions   {policy['asked']} asked, {policy['answered']} answered, "
        f"{policy['not_answered']} not covered",
        f"satisfaction       {satisfaction['answers']} answers, mean {satisfaction['mean']}, "
        f"{satisfaction['low']} low",
        f"reply latency      p50 {latency['p50']} ms, p95 {latency['p95']} ms "
        f"({latency['replies']} replies)",
        "flows (started / completed / abandoned):",
    ]
    for name, flow in f["flows"].items():
        lines.append(
            f"  {name:<20} {flow['started']:>5} {flow['completed']:>5} {flow['abandoned']:>5}"
            f"  completion {_percent(flow['completion_rate'])}"
        )
    lines.append("top intents:")
    lines += [f"  {intent:<28} {count}" for intent, count in f["top_intents"]]
    lines.append("per channel (conversations / user messages / not understood):")
    for channel, row in f["per_channel"].items():
        lines.append(
            f"  {channel:<14} {row['conversations']:>5} {row['user_messages']:>6}"
            f" {row['not_understood']:>5}"
        )
    lines.append("per day:")
    for day, row in f["per_day"].items():
        lines.append(
            f"  {day}  {row['conversations']:>5} {row['user_messages']:>6}"
            f" {row['not_understood']:>5}"
        )
    return "\n".join(lines)


def register(groups: Any) -> None:
    """Add the `analytics` command to the CLI's command groups."""
    parser = groups.add_parser(
        "analytics", help="operators' figures from the tracker store (containment, flows, ...)"
    )
    parser.add_argument("--days", type=int, default=7, help="the last N days (default: 7)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=_analytics)
