"""RulePolicy's rule matching remembered by dialogue state.

To predict, Rasa's `RulePolicy` tests every rule it learnt against the conversation's
last states, turn by turn (`_get_possible_keys`, through `_is_rule_applicable` and
`_does_rule_match_state`), for the rules and again for a form's unhappy paths, twice a
turn with a custom action: 12.8% of the Rasa server's event loop at concurrency 8 (py-spy,
README Speed). The rules that apply are a function of the rule set, fixed once the model is
loaded, and of those states alone, and a service assistant's conversations pass through the
same states again and again.

`install()` keeps, per policy and rule set, the rules found for the most recently seen
distinct states (`CACHE_SIZE`; `bot.dialogue.ted.PredictionCache`, least recently used out
first) and answers from them. Only the serving Rasa process installs it
(`bot.runtime.rasa_server`): training builds its rule sets while it matches against them.
`tests/e2e/test_rule_lookup.py` checks the whole ensemble's prediction at every point of
every story against Rasa's, with the cache empty and full.
"""

from __future__ import annotations

from typing import Any

from bot.dialogue.ted import PredictionCache, freeze

CACHE_SIZE = 5_000
_CACHE = "_service_assistant_rule_lookup"
_INSTALLED = "_service_assistant_rule_lookup_installed"


def install() -> None:
    """Remember `RulePolicy._get_possible_keys` by (rule set, states) in this process."""
    from rasa.core.policies.rule_policy import RulePolicy

    stock = RulePolicy._get_possible_keys
    if getattr(stock, _INSTALLED, False):
        return

    def _get_possible_keys(self: Any, lookup: dict[str, str], states: list[Any]) -> set[str]:
        cache: PredictionCache[frozenset[str]] | None = self.__dict__.get(_CACHE)
        if cache is None:
            cache = self.__dict__[_CACHE] = PredictionCache(CACHE_SIZE)
        # The policy's rule sets are the same dicts for as long as it is loaded.
        key = (id(lookup), len(lookup), freeze(states))
        found = cache.get(key)
        if found is None:
            found = frozenset(stock(self, lookup, states))
            cache.put(key, found)
        return set(found)

    _get_possible_keys._stock = stock  # type: ignore[attr-defined]
    setattr(_get_possible_keys, _INSTALLED, True)
    RulePolicy._get_possible_keys = _get_possible_keys


def uninstall() -> None:
    """Put Rasa's own matching back (tests)."""
    from rasa.core.policies.rule_policy import RulePolicy

    current = RulePolicy._get_possible_keys
    if getattr(current, _INSTALLED, False):
        RulePolicy._get_possible_keys = current._stock
