"""`python -m bot handoff list|close|sweep|notify`: conversations handed to a person."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.infra import clock
from bot.infra.db import DatabaseUnavailable


def _list(args: argparse.Namespace) -> int:
    from bot.handoff.service import list_open

    try:
        rows = list_open(now=clock.now())
    except DatabaseUnavailable as error:
        print(
            f"the database is not ready ({error}): run `python -m bot db upgrade`", file=sys.stderr
        )
        return 1
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": row.id,
                        "reference": row.reference,
                        "sender_id": row.sender_id,
                        "channel": row.channel,
                        "department": row.department,
                        "status": row.status,
                        "reason": row.reason,
                        "waited_minutes": row.waited_minutes,
                        "held_by": row.claimed_by,
                    }
                    for row in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if not rows:
        print("no conversation is waiting for or held by a person")
    for row in rows:
        held = f" held by {row.claimed_by}" if row.claimed_by else ""
        print(
            f"{row.id:>5}  {row.reference}  {row.department:<9} {row.status:<8}"
            f" {row.channel:<4} waited {row.waited_minutes} min{held}"
        )
    return 0


def _close(args: argparse.Namespace) -> int:
    from bot.handoff.rasa_api import resume_conversation
    from bot.handoff.service import NoSuchHandoff, close, find_by_reference
    from bot.notify import deliver

    key = str(args.id)
    conversation_id = (
        int(key) if key.isascii() and key.isdigit() else find_by_reference(reference=key)
    )
    if conversation_id is None:
        print(f"no handoff {key}", file=sys.stderr)
        return 1
    try:
        closed = close(
            conversation_id=conversation_id,
            actor="cli",
            actor_name="",
            now=clock.now(),
            deliver=deliver,
            resume=resume_conversation,
            reason="operator",
            require_holder=False,
        )
    except NoSuchHandoff:
        print(f"no handoff {key}", file=sys.stderr)
        return 1
    print(
        f"handoff {key} closed: back with the assistant" if closed else f"handoff {key} was closed"
    )
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from bot.handoff.rasa_api import resume_conversation
    from bot.handoff.service import expire_idle
    from bot.notify import deliver

    expired = expire_idle(now=clock.now(), deliver=deliver, resume=resume_conversation)
    print(f"{len(expired)} idle conversation(s) given back to the assistant")
    return 0


def _notify(args: argparse.Namespace) -> int:
    from bot.handoff.notifications import send_due_notifications
    from bot.notify import deliver

    sent = send_due_notifications(now=clock.now(), deliver=deliver)
    print(f"{len(sent)} staff notification(s) sent")
    return 0


def register(groups: Any) -> None:
    """Add the `handoff` commands to the CLI's command groups."""
    handoff = groups.add_parser(
        "handoff", help="conversations handed to a person (转人工)"
    ).add_subparsers(dest="command", required=True)
    listing = handoff.add_parser("list", help="conversations waiting for or held by a person")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    closing = handoff.add_parser("close", help="hand a conversation back to the assistant")
    closing.add_argument("id", help="the conversation's id or reference (RG.../LY...)")
    closing.set_defaults(handler=_close)
    handoff.add_parser(
        "sweep", help="give idle conversations back to the assistant (the desk does it too)"
    ).set_defaults(handler=_sweep)
    handoff.add_parser(
        "notify", help="send the staff notifications that are due (the desk does it too)"
    ).set_defaults(handler=_notify)
