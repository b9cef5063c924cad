"""A conversation tracker that works out its past states once per event.

Rasa's policies each ask the tracker for its past states (MemoizationPolicy once,
RulePolicy several times, CachingTEDPolicy once for its key): seven times per turn with a
custom action, and each time Rasa replays the whole session, copying every slot for each
step. `StateCachingTracker` keeps what it worked out for each way of asking until the next
event changes the conversation, and hands out copies (the featurisers edit the states they
get). The project's tracker store (`bot.infra.tracker_store`) makes its trackers of this kind.

Working the states out still replayed the whole conversation, for each way of asking
after each event: the tracker store makes a new tracker for every message, so a
conversation of twenty turns was replayed about 80 times per message (17% of the Rasa
server's event loop at concurrency 8, README Speed). The replay is now kept between
messages (`ReplayCache`, the latest REPLAY_CACHE_SIZE conversations and ways of asking):
the tracker replayed so far and the states worked out on the way, and a new question only
replays the events that came since. It is `Domain.states_for_tracker_history` taken
apart at its loop. The kept replay is used only while the conversation's applied events
(`applied_events`: without what was reverted, restarted or rewound) still begin with the
events it replayed, compared by kind, time and content (`_mark`); anything else (a
rewind, a restart, a form's events folded away, a model with another domain) replays
from the start.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.dialogue.ted import PredictionCache, freeze

_CACHE = "_past_states_cache"
# Conversations times ways of asking (about four per conversation) kept replayed.
REPLAY_CACHE_SIZE = 2000


def _mark(event: Event) -> Hashable:
    """What tells one applied event from another: its kind, time and what it carries."""
    if isinstance(event, ActionExecuted):
        detail: Hashable = (event.action_name, event.action_text, event.hide_rule_turn)
    elif isinstance(event, UserUttered):
        detail = (event.text, event.intent_name, repr(event.entities))
    elif isinstance(event, SlotSet):
        detail = (event.key, repr(event.value))
    else:  # ActiveLoop, FollowupAction, BotUttered, DefinePrevUserUtteredFeaturization, ...
        detail = tuple(getattr(event, name, None) for name in _OTHER_DETAILS)
    return (type(event), event.timestamp, detail)


_OTHER_DETAILS = ("name", "text", "use_text_for_featurization", "action_name")


@dataclass
class _Replay:
    """`Domain.states_for_tracker_history` stopped after the events in `marks`."""

    marks: list[Hashable]
    tracker: DialogueStateTracker  # replayed through those events
    states: list[State]  # the states at each action among them
    last_ml_action: dict[str, Any] | None = None
    turn_was_hidden: bool = False

    def step(
        self,
        domain: Domain,
        hide_rule_turn: bool,
        omit_unset_slots: bool,
        ignore_rule_only_turns: bool,
        rule_only_data: dict[str, Any] | None,
    ) -> None:
        """One turn of `states_for_tracker_history`'s loop, at `self.tracker`."""
        tracker = self.tracker
        if ignore_rule_only_turns:
            if not self.turn_was_hidden:
                self.last_ml_action = domain._get_prev_action_sub_state(tracker)
            if (
                not tracker.followup_action
                and tracker.latest_action_name != tracker.active_loop_name
            ):
                self.turn_was_hidden = hide_rule_turn
            if self.turn_was_hidden:
                return
        state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
        if ignore_rule_only_turns:
            domain._remove_rule_only_features(state, rule_only_data)
            if self.states:
                domain._substitute_rule_only_user_input(state, self.states[-1])
            if self.last_ml_action:
                state[PREVIOUS_ACTION] = self.last_ml_action
        self.states.append(domain._clean_state(state))


class ReplayCache:
    """The latest replays, by conversation and way of asking (least recently used out)."""

    def __init__(self, size: int) -> None:
        self._replays: PredictionCache[_Replay] = PredictionCache(size)
        self.replayed = self.reused = 0  # events replayed, events not replayed again

    def __len__(self) -> int:
        return len(self._replays)

    def clear(self) -> None:
        self._replays.clear()

    def states(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        omit_unset_slots: bool,
        ignore_rule_only_turns: bool,
        rule_only_data: dict[str, Any] | None,
    ) -> list[State]:
        """`domain.states_for_tracker_history(tracker, ...)`, replaying only new events."""
        key = (
            tracker.sender_id,
            tracker.is_rule_tracker,
            id(domain),
            omit_unset_slots,
            ignore_rule_only_turns,
            freeze(rule_only_data),
        )
        applied = tracker.applied_events()
        marks = [_mark(event) for event in applied]
        replay = self._replays.get(key)
        if replay is None or marks[: len(replay.marks)] != replay.marks:
            # Only the tracker's state is read: it keeps none of the events it replays.
            start = DialogueStateTracker(
                tracker.sender_id, tracker.slots.values(), max_event_history=1,
                is_rule_tracker=tracker.is_rule_tracker,
            )  # fmt: skip
            replay = _Replay(marks=[], tracker=start, states=[])
        self.reused += len(replay.marks)
        self.replayed += len(marks) - len(replay.marks)
        way = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        for event in applied[len(replay.marks) :]:
            if isinstance(event, ActionExecuted):
                replay.step(domain, event.hide_rule_turn, *way)
            replay.tracker.update(event)
        replay.marks = marks
        # The state of the conversation as it is now: not kept, the next event changes it.
        now = _Replay(
            marks=marks, tracker=replay.tracker, states=list(replay.states),
            last_ml_action=replay.last_ml_action, turn_was_hidden=replay.turn_was_hidden,
        )  # fmt: skip
        now.step(domain, False, *way)
        self._replays.put(key, replay)
        return now.states


REPLAYS = ReplayCache(REPLAY_CACHE_SIZE)

_ATOMS = frozenset({str, int, float, bool, type(None)})


def _is_atomic(value: Any) -> bool:
    kind = type(value)
    return kind in _ATOMS or (kind is tuple and all(type(item) in _ATOMS for item in value))


def copy_states(states: list[State]) -> list[State]:
    """`copy.deepcopy(states)`, quicker for what states hold: a state is a dict of
    sub-states (dicts) whose values are strings, numbers or tuples of them, which need no
    copy; anything else in them is deep-copied (deepcopy was 7% of the event loop)."""
    return [
        {
            kind: (
                {key: value if _is_atomic(value) else copy.deepcopy(value)
                 for key, value in sub_state.items()}
                if type(sub_state) is dict
                else copy.deepcopy(sub_state)
            )
            for kind, sub_state in state.items()
        }
        for state in states
    ]  # fmt: skip


class StateCachingTracker(DialogueStateTracker):
    """`DialogueStateTracker` whose `past_states` are worked out once per event."""

    def past_states(
        self,
        domain: Domain,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: dict[str, Any] | None = None,
    ) -> list[State]:
        # `update` forgets the cache; the events' length and last event guard it as well.
        version = (len(self.events), id(self.events[-1]) if self.events else None)
        cached: tuple[Hashable, dict[Hashable, list[State]]] | None = self.__dict__.get(_CACHE)
        if cached is None or cached[0] != version:
            cached = self.__dict__[_CACHE] = (version, {})
        key = (id(domain), omit_unset_slots, ignore_rule_only_turns, freeze(rule_only_data))
        states = cached[1].get(key)
        if states is None:
            states = REPLAYS.states(
                self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data
            )
            cached[1][key] = states
        return copy_states(states)

    def update(self, event: Event, domain: Domain | None = None) -> None:
        self.__dict__.pop(_CACHE, None)
        super().update(event, domain)

    def _reset(self) -> None:
        self.__dict__.pop(_CACHE, None)
        super()._reset()
