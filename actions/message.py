"""What every action reads from the latest message: its text, the channel it came by,
and whether its intent means "stop"."""

from __future__ import annotations

from rasa_sdk import Tracker

# Intents that end a form in every flow (a flow may add its own, e.g. cancel_leave).
STOP_INTENTS = frozenset({"deny", "goodbye"})


def latest_text(tracker: Tracker) -> str:
    """The latest message's text ("" when there is none)."""
    return str(tracker.latest_message.get("text") or "")


def input_channel(tracker: Tracker) -> str:
    """The channel the latest message came by ("" when not known)."""
    return str(tracker.get_latest_input_channel() or "")
