"""The operators' figures, computed from the rows of Rasa's `events` table.

Pure computation: no database here. `ConversationWalk` says what each event row means (the
one classification of the operators' loop: the conversation index sums the same per
session); `day_figures` walks event rows in the order they were written and adds what
each one says to the figures of its (local day, channel);
`DayFigures` add up, so the figures of a closed day can be stored once and summed later
(bot/analytics/service.py). Rows read only to carry a conversation's state across the
start of a day (a form activated before midnight and submitted after) are given with
`count_from`: they set the state but count nowhere.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

# The intents of a message the assistant could not place (out_of_scope also stands for
# the two-stage fallback's "都不是", which sends /out_of_scope).
NOT_UNDERSTOOD_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
POLICY_ACTION = "action_answer_policy"
POLICY_NO_ANSWER_PREFIX = "utter_policy_no_answer"
# Each form and the action that submits it once the form has filled itself (data/rules).
SUBMIT_ACTIONS = {
    "leave_form": "action_submit_leave",
    "bind_student_form": "action_submit_bind_student",
    "gas_account_form": "action_gas_answer",
    "complaint_form": "action_submit_complaint",
    "infusion_form": "action_submit_infusion",
    "care_form": "action_submit_care",
}
# The event of a conversation a person took over (Rasa's ConversationPaused, which the
# handoff to a person writes).
HANDOFF_EVENT = "pause"
_LISTEN = "action_listen"
_UNKNOWN_CHANNEL = "unknown"


@dataclass(frozen=True)
class EventRow:
    """One row of the `events` table, its JSON `data` already parsed."""

    id: int
    sender_id: str
    type_name: str
    timestamp: float
    intent_name: str | None
    action_name: str | None
    data: dict[str, Any]


@dataclass
class FlowFigures:
    started: int = 0
    completed: int = 0
    abandoned: int = 0

    def add(self, other: FlowFigures) -> None:
        self.started += other.started
        self.completed += other.completed
        self.abandoned += other.abandoned


@dataclass
class DayFigures:
    """What happened on one local day on one channel; `add` sums two of them."""

    conversations: int = 0
    user_messages: int = 0
    not_understood: int = 0
    handoffs: int = 0
    policy_asked: int = 0
    policy_not_answered: int = 0
    intents: Counter[str] = field(default_factory=Counter)
    flows: dict[str, FlowFigures] = field(default_factory=dict)
    latencies_ms: list[int] = field(default_factory=list)

    def add(self, other: DayFigures) -> None:
        self.conversations += other.conversations
        self.user_messages += other.user_messages
        self.not_understood += other.not_understood
        self.handoffs += other.handoffs
        self.policy_asked += other.policy_asked
        self.policy_not_answered += other.policy_not_answered
        self.intents.update(other.intents)
        for name, flow in other.flows.items():
            self.flows.setdefault(name, FlowFigures()).add(flow)
        self.latencies_ms.extend(other.latencies_ms)

    def flow(self, name: str) -> FlowFigures:
        return self.flows.setdefault(name, FlowFigures())

    def count(self, event: Happened) -> None:
        """Add what one row meant."""
        what = event.what
        if what is Happening.CONVERSATION:
            self.conversations += 1
        elif what is Happening.USER_MESSAGE:
            self.user_messages += 1
            if event.name:
                self.intents[event.name] += 1
        elif what is Happening.NOT_UNDERSTOOD:
            self.not_understood += 1
        elif what is Happening.REPLY:
            self.latencies_ms.append(event.latency_ms)
        elif what is Happening.POLICY_ASKED:
            self.policy_asked += 1
        elif what is Happening.POLICY_NOT_ANSWERED:
            self.policy_not_answered += 1
        elif what is Happening.FORM_STARTED:
            self.flow(event.name).started += 1
        elif what is Happening.FORM_COMPLETED:
            self.flow(event.name).completed += 1
        elif what is Happening.FORM_ABANDONED:
            self.flow(event.name).abandoned += 1
        elif what is Happening.HANDOFF:
            self.handoffs += 1

    def as_json(self) -> dict[str, Any]:
        """The stored form (`from_json` reads it back)."""
        return {
            "conversations": self.conversations,
            "user_messages": self.user_messages,
            "not_understood": self.not_understood,
            "handoffs": self.handoffs,
            "policy_asked": self.policy_asked,
            "policy_not_answered": self.policy_not_answered,
            "intents": dict(self.intents),
            "flows": {name: vars(flow).copy() for name, flow in sorted(self.flows.items())},
            "latencies_ms": sorted(self.latencies_ms),
        }

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> DayFigures:
        return cls(
            conversations=int(stored["conversations"]),
            user_messages=int(stored["user_messages"]),
            not_understood=int(stored["not_understood"]),
            handoffs=int(stored["handoffs"]),
            policy_asked=int(stored["policy_asked"]),
            policy_not_answered=int(stored["policy_not_answered"]),
            intents=Counter({k: int(v) for k, v in stored["intents"].items()}),
            flows={name: FlowFigures(**flow) for name, flow in stored["flows"].items()},
            latencies_ms=[int(v) for v in stored["latencies_ms"]],
        )


class Happening(str, enum.Enum):
    """What an event row means to an operator."""

    CONVERSATION = "conversation"  # the first user message of a session
    USER_MESSAGE = "user_message"
    NOT_UNDERSTOOD = "not_understood"
    REPLY = "reply"  # the first bot message after a user message; with its latency
    POLICY_ASKED = "policy_asked"
    POLICY_NOT_ANSWERED = "policy_not_answered"
    FORM_STARTED = "form_started"
    FORM_COMPLETED = "form_completed"
    FORM_ABANDONED = "form_abandoned"
    HANDOFF = "handoff"


@dataclass(frozen=True)
class Happened:
    """One thing a row meant, on the channel the conversation was on then."""

    what: Happening
    channel: str
    name: str = ""  # the intent of a user message, the form of a form happening
    latency_ms: int = 0


@dataclass
class _Conversation:
    """What is open in one sender's conversation while its rows are walked."""

    channel: str = _UNKNOWN_CHANNEL
    counted: bool = False  # has this session's first user message been seen
    active_form: str | None = None
    ended_form: str | None = None  # a form that deactivated itself; submit pending
    waiting_since: float | None = None  # the user message not yet answered
    policy_pending: bool = False  # action_answer_policy ran; its answer not yet seen


Key = tuple[date, str]


class ConversationWalk:
    """The operators' one classification of event rows: `step` says what each row meant
    (a conversation begun, a message not understood, a form completed or abandoned, a
    handoff ...), keeping every sender's open conversation. The figures count it per day
    (`day_figures`), the conversation index per session (bot/analytics/sessions.py)."""

    def __init__(self) -> None:
        self.open: dict[str, _Conversation] = {}
        self.previous_action: dict[str, str] = {}

    def step(self, row: EventRow) -> list[Happened]:
        """What `row` meant; rows must come in the order written."""
        state = self.open.setdefault(row.sender_id, _Conversation())
        happened: list[Happened] = []
        kind = row.type_name
        if kind == "session_started":
            self.open[row.sender_id] = _Conversation(channel=state.channel)
        elif kind == "user":
            self._user(row, state, happened)
        elif kind == "bot":
            self._bot(row, state, happened)
        elif kind == "action":
            self._action(row, state, happened)
        elif kind == "active_loop":
            self._active_loop(row, state, happened)
        elif kind == HANDOFF_EVENT:
            happened.append(Happened(Happening.HANDOFF, state.channel))
        if kind == "action" and row.action_name:
            self.previous_action[row.sender_id] = row.action_name
        return happened

    @staticmethod
    def _close_form(state: _Conversation, happened: list[Happened]) -> None:
        """A form that deactivated itself was not followed by its submit action."""
        if state.ended_form is not None:
            happened.append(Happened(Happening.FORM_ABANDONED, state.channel, state.ended_form))
            state.ended_form = None

    def _user(self, row: EventRow, state: _Conversation, happened: list[Happened]) -> None:
        self._close_form(state, happened)
        state.channel = str(row.data.get("input_channel") or _UNKNOWN_CHANNEL)
        state.waiting_since = row.timestamp
        state.policy_pending = False
        if not state.counted:
            state.counted = True
            happened.append(Happened(Happening.CONVERSATION, state.channel))
        intent = row.intent_name or ""
        happened.append(Happened(Happening.USER_MESSAGE, state.channel, intent))
        if intent in NOT_UNDERSTOOD_INTENTS:
            happened.append(Happened(Happening.NOT_UNDERSTOOD, state.channel, intent))

    def _bot(self, row: EventRow, state: _Conversation, happened: list[Happened]) -> None:
        if state.waiting_since is not None:
            latency = round((row.timestamp - state.waiting_since) * 1000)
            happened.append(Happened(Happening.REPLY, state.channel, latency_ms=latency))
            state.waiting_since = None
        if state.policy_pending:
            state.policy_pending = False
            utter = str((row.data.get("metadata") or {}).get("utter_action") or "")
            if utter.startswith(POLICY_NO_ANSWER_PREFIX):
                happened.append(Happened(Happening.POLICY_NOT_ANSWERED, state.channel))

    def _action(self, row: EventRow, state: _Conversation, happened: list[Happened]) -> None:
        name = row.action_name or ""
        if state.ended_form is not None and name != _LISTEN:
            if name == SUBMIT_ACTIONS.get(state.ended_form):
                happened.append(Happened(Happening.FORM_COMPLETED, state.channel, state.ended_form))
                state.ended_form = None
            else:
                self._close_form(state, happened)
        if name == POLICY_ACTION:
            state.policy_pending = True
            happened.append(Happened(Happening.POLICY_ASKED, state.channel))

    def _active_loop(self, row: EventRow, state: _Conversation, happened: list[Happened]) -> None:
        name = row.data.get("name")
        if name in SUBMIT_ACTIONS:
            if state.active_form != name:
                happened.append(Happened(Happening.FORM_STARTED, state.channel, str(name)))
            state.active_form = name
        elif name is None and state.active_form is not None:
            # Deactivated by the form itself (filled: its submit action comes next) or by
            # anything else (a stop, an interruption: abandoned).
            if self.previous_action.get(row.sender_id) == state.active_form:
                state.ended_form = state.active_form
            else:
                happened.append(
                    Happened(Happening.FORM_ABANDONED, state.channel, state.active_form)
                )
            state.active_form = None
        elif name is None:
            state.active_form = None


def day_figures(
    rows: Iterable[EventRow], *, zone: ZoneInfo, count_from: float = 0.0
) -> dict[Key, DayFigures]:
    """The figures per (local day, channel) of the rows at or after `count_from` (a Unix
    time); earlier rows only carry conversations' state. Rows in the order written."""
    walk = ConversationWalk()
    days: dict[Key, DayFigures] = {}
    for row in rows:
        happened = walk.step(row)
        if not happened or row.timestamp < count_from:
            continue
        day = datetime.fromtimestamp(row.timestamp, tz=timezone.utc).astimezone(zone).date()
        for event in happened:
            days.setdefault((day, event.channel), DayFigures()).count(event)
    return days


def percentile(sorted_values: list[int], share: float) -> int | None:
    """The nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * share // 1))  # ceil(n * share), at least 1
    return sorted_values[int(rank) - 1]
