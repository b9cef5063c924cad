"""A conversation tracker that works out its past states once per event.

Rasa's policies each ask the tracker for its past states (MemoizationPolicy once,
RulePolicy several times, CachingTEDPolicy once for its key): seven times per turn with a
custom action, and each time Rasa replays the whole session, copying every slot for each
step. `StateCachingTracker` keeps what it worked out for each way of asking until the next
event changes the conversation, and hands out copies (the featurisers edit the states they
get). The project's tracker store (`bot.infra.tracker_store`) makes its trackers of this kind.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable
from typing import Any

from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from bot.dialogue.ted import freeze

_CACHE = "_past_states_cache"


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
            states = super().past_states(
                domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data
            )
            cached[1][key] = states
        return copy.deepcopy(states)

    def update(self, event: Event, domain: Domain | None = None) -> None:
        self.__dict__.pop(_CACHE, None)
        super().update(event, domain)

    def _reset(self) -> None:
        self.__dict__.pop(_CACHE, None)
        super()._reset()
