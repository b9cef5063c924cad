"""Conversations (Rasa sessions) and how each ended, from the rows of the `events` table.

Pure computation over `EventRow`s, with the same classification as the figures
(`bot.analytics.figures.ConversationWalk`): a session is summed from what its rows meant.
A session starts at a `session_started` row (or at a sender's first row); one without a
user message is no conversation.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.analytics.figures import ConversationWalk, EventRow, Happening

POLICY_FLOW = "policy"  # a policy question asked: a flow of its own for the filters


class Outcome(str, enum.Enum):
    """How a conversation ended, for the list. A conversation may have several of the
    first four (`SessionSummary.outcomes`); `outcome` names the one that says most."""

    HANDED_OVER = "handed_over"  # a person took it over
    COMPLETED = "completed"  # a form was completed
    ABANDONED = "abandoned"  # a form was stopped, interrupted or given up
    NOT_UNDERSTOOD = "not_understood"  # a message was not understood
    ANSWERED = "answered"  # none of these: questions answered, small talk


@dataclass
class SessionSummary:
    sender_id: str
    first_event_id: int
    last_event_id: int
    started_at: float  # Unix time of the session's first row
    last_at: float
    channel: str = ""
    user_messages: int = 0
    not_understood: int = 0
    completed: int = 0
    abandoned: int = 0
    handoffs: int = 0
    policy_not_answered: int = 0
    flows: set[str] = field(default_factory=set)  # forms started, and POLICY_FLOW

    @property
    def outcomes(self) -> set[Outcome]:
        found = set()
        if self.handoffs:
            found.add(Outcome.HANDED_OVER)
        if self.completed:
            found.add(Outcome.COMPLETED)
        if self.abandoned:
            found.add(Outcome.ABANDONED)
        if self.not_understood:
            found.add(Outcome.NOT_UNDERSTOOD)
        return found

    @property
    def outcome(self) -> Outcome:
        for candidate in Outcome:
            if candidate in self.outcomes:
                return candidate
        return Outcome.ANSWERED


def sessions(rows: Iterable[EventRow]) -> list[SessionSummary]:
    """The conversations among `rows` (in the order written, each sender's rows from the
    start of a session), in the order they started."""
    walk = ConversationWalk()
    current: dict[str, SessionSummary] = {}
    found: list[SessionSummary] = []
    for row in rows:
        summary = current.get(row.sender_id)
        if summary is None or row.type_name == "session_started":
            summary = SessionSummary(row.sender_id, row.id, row.id, row.timestamp, row.timestamp)
            current[row.sender_id] = summary
            found.append(summary)
        summary.last_event_id, summary.last_at = row.id, row.timestamp
        for event in walk.step(row):
            _count(summary, event.what, event.name, event.channel)
    return [summary for summary in found if summary.user_messages]


def _count(summary: SessionSummary, what: Happening, name: str, channel: str) -> None:
    if what is Happening.USER_MESSAGE:
        summary.user_messages += 1
        summary.channel = channel
    elif what is Happening.NOT_UNDERSTOOD:
        summary.not_understood += 1
    elif what is Happening.FORM_STARTED:
        summary.flows.add(name)
    elif what is Happening.FORM_COMPLETED:
        summary.completed += 1
    elif what is Happening.FORM_ABANDONED:
        summary.abandoned += 1
    elif what is Happening.HANDOFF:
        summary.handoffs += 1
    elif what is Happening.POLICY_ASKED:
        summary.flows.add(POLICY_FLOW)
    elif what is Happening.POLICY_NOT_ANSWERED:
        summary.policy_not_answered += 1
