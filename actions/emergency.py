"""What to do about leaking gas, said for a message the assistant did not understand when it
may speak of one (the fallback's two stages); the forms and the rules warn of the rest."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.directory import emergency_number
from bot.reading import may_smell_gas

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
