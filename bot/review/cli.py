"""`python -m bot review collect|export`: the review inbox from the command line."""

from __future__ import annotations

import argparse
from typing import Any


def _collect(args: argparse.Namespace) -> int:
    from bot.analytics.service import default_tracker_engine
    from bot.review.service import collect

    added = collect(tracker=default_tracker_engine())
    print(f"review inbox: {added} new message(s) to label")
    return 0


def _export(args: argparse.Namespace) -> int:
    from bot.review.export import GAPS_FILE, NLU_FILE, export

    report = export()
    print(
        f"{NLU_FILE}: {report.examples} example(s) "
        f"({report.skipped_duplicates} skipped: already in the training data); "
        f"{GAPS_FILE}: {report.policy_gaps} policy gap(s)"
    )
    return 0


def register(groups: Any) -> None:
    """Add the `review` commands to the CLI's command groups."""
    review = groups.add_parser("review", help="the review inbox").add_subparsers(
        dest="command", required=True
    )
    review.add_parser(
        "collect", help="add the messages the assistant could not place to the inbox"
    ).set_defaults(handler=_collect)
    review.add_parser(
        "export", help="write labelled messages to data/nlu/reviewed.yml and policy gaps"
    ).set_defaults(handler=_export)
