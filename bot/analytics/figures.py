"""The operators' figures, computed from the rows of Rasa's `events` table.

Pure computation: no database here. `day_figures` walks event rows in the order they were
written and adds what each one says to the figures of its (local day, channel);
`DayFigures` add up, so the figures of a closed day can be stored once and summed later
(bot/analytics/service.py). Rows read only to carry a conversation's state across the
start of a day (a form activated before midnight and submitted after) are given with
`count_from`: they set the state but count nowhere.
"""

from __future__ import annotations

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


@dataclass
class _Conversation:
    """What is open in one sender's conversation while its rows are walked."""

    channel: str = _UNKNOWN_CHANNEL
    counted: bool = False  # has this session been counted as a conversation yet
    active_form: str | None = None
    ended_form: str | None = None  # a form that deactivated itself; submit pending
    waiting_since: float | None = None  # the user message not yet answered
    policy_pending: bool = False  # action_answer_policy ran; its answer not yet seen


Key = tuple[date, str]


class _Walk:
    def __init__(self, zone: ZoneInfo, count_from: float) -> None:
        self.zone = zone
        self.count_from = count_from
        self.days: dict[Key, DayFigures] = {}
        self.open: dict[str, _Conversation] = {}
        self.previous_action: dict[str, str] = {}

    def figures(self, row: EventRow, state: _Conversation) -> DayFigures | None:
        """The figures this row counts in, or None for a row read only for state."""
        if row.timestamp < self.count_from:
            return None
        day = datetime.fromtimestamp(row.timestamp, tz=timezone.utc).astimezone(self.zone).date()
        return self.days.setdefault((day, state.channel), DayFigures())

    def close_form(self, state: _Conversation, row: EventRow) -> None:
        """A form that deactivated itself was not followed by its submit action."""
        if state.ended_form is not None:
            counted = self.figures(row, state)
            if counted is not None:
                counted.flow(state.ended_form).abandoned += 1
            state.ended_form = None

    def step(self, row: EventRow) -> None:
        state = self.open.setdefault(row.sender_id, _Conversation())
        kind = row.type_name
        if kind == "session_started":
            self.open[row.sender_id] = _Conversation(channel=state.channel)
        elif kind == "user":
            self.user(row, state)
        elif kind == "bot":
            self.bot(row, state)
        elif kind == "action":
            self.action(row, state)
        elif kind == "active_loop":
            self.active_loop(row, state)
        elif kind == "pause":  # a person took over (bot/handoff: ConversationPaused)
            counted = self.figures(row, state)
            if counted is not None:
                counted.handoffs += 1

    def user(self, row: EventRow, state: _Conversation) -> None:
        self.close_form(state, row)
        state.channel = str(row.data.get("input_channel") or _UNKNOWN_CHANNEL)
        state.waiting_since = row.timestamp
        state.policy_pending = False
        counted = self.figures(row, state)
        if counted is None:
            state.counted = True  # the conversation began before the counted days
            return
        if not state.counted:
            state.counted = True
            counted.conversations += 1
        counted.user_messages += 1
        intent = row.intent_name or ""
        if intent:
            counted.intents[intent] += 1
        if intent in NOT_UNDERSTOOD_INTENTS:
            counted.not_understood += 1

    def bot(self, row: EventRow, state: _Conversation) -> None:
        counted = self.figures(row, state)
        if state.waiting_since is not None:
            if counted is not None:
                counted.latencies_ms.append(round((row.timestamp - state.waiting_since) * 1000))
            state.waiting_since = None
        if state.policy_pending:
            state.policy_pending = False
            utter = str((row.data.get("metadata") or {}).get("utter_action") or "")
            if counted is not None and utter.startswith(POLICY_NO_ANSWER_PREFIX):
                counted.policy_not_answered += 1

    def action(self, row: EventRow, state: _Conversation) -> None:
        name = row.action_name or ""
        counted = self.figures(row, state)
        if state.ended_form is not None and name != _LISTEN:
            if name == SUBMIT_ACTIONS.get(state.ended_form):
                if counted is not None:
                    counted.flow(state.ended_form).completed += 1
                state.ended_form = None
            else:
                self.close_form(state, row)
        if name == POLICY_ACTION:
            state.policy_pending = True
            if counted is not None:
                counted.policy_asked += 1

    def active_loop(self, row: EventRow, state: _Conversation) -> None:
        name = row.data.get("name")
        counted = self.figures(row, state)
        if name in SUBMIT_ACTIONS:
            if state.active_form != name and counted is not None:
                counted.flow(name).started += 1
            state.active_form = name
        elif name is None and state.active_form is not None:
            # Deactivated by the form itself (filled: its submit action comes next) or by
            # anything else (a stop, an interruption: abandoned).
            previous = self.previous_action.get(row.sender_id)
            if previous == state.active_form:
                state.ended_form = state.active_form
            elif counted is not None:
                counted.flow(state.active_form).abandoned += 1
            state.active_form = None
        elif name is None:
            state.active_form = None


def day_figures(
    rows: Iterable[EventRow], *, zone: ZoneInfo, count_from: float = 0.0
) -> dict[Key, DayFigures]:
    """The figures per (local day, channel) of the rows at or after `count_from` (a Unix
    time); earlier rows only carry conversations' state. Rows in the order written."""
    walk = _Walk(zone, count_from)
    for row in rows:
        walk.step(row)
        if row.type_name == "action" and row.action_name:
            walk.previous_action[row.sender_id] = row.action_name
    # Rows that counted nothing (a session's start before its first message) leave no key.
    return {key: figures for key, figures in walk.days.items() if figures != DayFigures()}


def percentile(sorted_values: list[int], share: float) -> int | None:
    """The nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * share // 1))  # ceil(n * share), at least 1
    return sorted_values[int(rank) - 1]
