"""What to do about leaking gas, said for a message the assistant did not understand when it
may speak of one (the fallback's two stages), and for what people ask right after a leak
("客人要让他们先出去吗", "你们电话多少 我出去打"); the forms and the rules warn of the rest."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.directory import emergency_number
from bot.reading import may_smell_gas, speaks_of_gas_emergency

# A gas leak guessed at least this confidently, for a message not understood, is warned of.
GAS_GUESS_MIN_CONFIDENCE = 0.3


def warn_of_gas(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """For a message not understood, say what to do about leaking gas when it may be one:
    the NLU's guess of a gas leak (at least `GAS_GUESS_MIN_CONFIDENCE`), or a strong smell
    with gas named in it or in the two messages before ("燃汽" then "味儿好冲😰😰"). Fails
    closed: the steps cost a reader nothing when it was not gas."""
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    guessed = any(
        r.get("name") == "gas_leak" and (r.get("confidence") or 0.0) >= GAS_GUESS_MIN_CONFIDENCE
        for r in ranking
    )
    said = [
        str(event.get("text") or "")
        for event in tracker.events
        if event.get("event") == "user" and not str(event.get("text") or "").startswith("/")
    ]
    if not said:
        return False
    if not guessed and not may_smell_gas(said[-1], said[-3:-1]):
        return False
    phone = emergency_number()
    dispatcher.utter_message(
        response="utter_gas_leak" if phone else "utter_gas_leak_no_line", emergency_phone=phone
    )
    return True


# The warnings the assistant says about leaking gas (domain.yml).
WARNINGS = frozenset(
    {
        "utter_gas_leak",
        "utter_gas_leak_no_line",
        "utter_gas_leak_again",
        "utter_gas_leak_again_no_line",
    }
)
# A leak told within this many of the latest user messages is still going on.
RECENT_MESSAGES = 3


def leak_under_way(tracker: Tracker) -> bool:
    """Whether a gas leak was told, or warned of, within the last `RECENT_MESSAGES` user
    messages before the latest one: what is asked now is asked during it."""
    users = 0
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            users += 1
            if users == 1:
                continue
            if users > RECENT_MESSAGES + 1:
                return False
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent == "gas_leak" or speaks_of_gas_emergency(str(event.get("text") or "")):
                return True
        elif (
            kind == "bot"
            and 1 <= users <= RECENT_MESSAGES
            and (event.get("metadata") or {}).get("utter_action") in WARNINGS
        ):
            return True
    return False


def say_leak_again(dispatcher: CollectingDispatcher) -> None:
    """The short form of the steps, for a question asked during a leak: everyone out, no
    switches, the emergency line from outside."""
    phone = emergency_number()
    dispatcher.utter_message(
        response="utter_gas_leak_again" if phone else "utter_gas_leak_again_no_line",
        emergency_phone=phone,
    )
