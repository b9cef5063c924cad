"""`python -m bot review collect|export`: the review inbox from the command line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.analytics.cli import NOT_READY
from bot.infra.db import DatabaseUnavailable


def _collect(args: argparse.Namespace) -> int:
    from bot.analytics.service import default_tracker_engine
    from bot.review.service import collect

    try:
        added = collect(tracker=default_tracker_engine())
    except DatabaseUnavailable as error:
        print(NOT_READY.format(error), file=sys.stderr)
        return 1
    print(f"review inbox: {added} new message(s) to label")
    return 0


def _export(args: argparse.Namespace) -> int:
    from bot.review.export import GAPS_FILE, NLU_FILE, export

    try:
        report = export()
    except DatabaseUnavailable as error:
        print(NOT_READY.format(error), file=sys.stderr)
        return 1
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
