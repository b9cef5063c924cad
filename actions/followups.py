"""Short follow-ups right after a task's answer ("周三呢", "后天也请一天", "那我欠费不"):
the message is replayed with the intent it stands for, as Rasa's two-stage fallback
replays a message once the user has picked its intent (bot/dialogue/followups.py decides).

data/rules/followups.yml runs this action first for a goodbye, a bare answer and a message
not understood; when it returns nothing, the usual answer follows. When it replays the
message, the message is reverted and uttered again with the resolved intent, and the rules
of that intent go on from there (the leave form, the gas account form, the halls' hours).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, UserUtteranceReverted, UserUttered
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms import latest_intent
from actions.message import latest_text
from bot.dialogue.cues import asks_about_work_rules, service_cue
from bot.dialogue.followups import resolve_followup
from bot.incidents import reports_incidents
from bot.infra import clock
from bot.infra.db import DatabaseUnavailable
from bot.policies.service import regulations_answer
from bot.reading import speaks_of_gas_emergency
from bot.staff import is_invite_code

logger = logging.getLogger(__name__)


class ActionResolveFollowup(Action):
    """Replay a short follow-up with the intent of the task just answered, or do nothing."""

    def name(self) -> str:
        return "action_resolve_followup"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        read_as, _ = latest_intent(tracker)
        text = latest_text(tracker)
        intent = resolve_followup(tracker.events, text, read_as, clock.today())
        if intent is None:
            return as_policy_question(tracker) or as_plain_request(tracker)
        logger.info("follow-up read as %s (the NLU said %s)", intent, read_as)
        return replay_as(tracker, intent)


# What the NLU says of a message that may still be a question about the regulations.
UNREAD_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
# Questions about the regulations: an unsure guess of one leans that way.
POLICY_INTENTS = frozenset({"ask_policy", "list_policies"})


def as_policy_question(tracker: Tracker) -> list[EventType]:
    """The latest message replayed as a policy question (ask_policy), when the NLU took it
    for out of scope or did not understand it and the regulations answer it beyond doubt
    (`bot.policies.service.regulations_answer`): staff ask in their own words ("坐柜台的想
    跟人倒个班咋弄"), which the classifier often misses, and follow a policy answer up
    ("那吃东西呢", judged with the sender's own last policy question, slot
    `policy_context`). Otherwise nothing, and the usual answer follows; never while a
    form asks its questions."""
    read_as, _ = latest_intent(tracker)
    if read_as not in UNREAD_INTENTS or tracker.active_loop.get("name"):
        return []
    if _may_be_an_emergency(tracker):
        return []  # "一股臭鸡蛋味儿 能开灯不" is never a question on the regulations
    try:
        answered = regulations_answer(
            question=latest_text(tracker),
            sender_id=tracker.sender_id,
            previous=tracker.get_slot("policy_context") or None,
            nlu_leans=read_as == "nlu_fallback" and best_guess(tracker) in POLICY_INTENTS,
        )
    except DatabaseUnavailable:
        logger.warning("policy search unavailable: the message is not tried as a policy question")
        return []
    if not answered and not asks_about_work_rules(latest_text(tracker)):
        return []
    # A question on pay or working time the regulations may not cover is still theirs to
    # answer: the answer then says so and whom to ask.
    logger.info("read as a policy question (the NLU said %s)", read_as)
    return replay_as(tracker, "ask_policy")


# What the NLU says of a message whose own words may still plainly ask for a service: not
# understood, or a bare answer with no question asked ("许佳怡下周三看护不去了 学号… 手机…").
PLAIN_REQUEST_INTENTS = frozenset({"nlu_fallback", "inform"})


def as_plain_request(tracker: Tracker) -> list[EventType]:
    """The latest message replayed with the intent its own words plainly ask for
    (`bot.dialogue.cues`: "…燃气表好像坏了…想请师傅来看看"), when the NLU did not
    understand it or took it for a bare answer; otherwise nothing. Never while a form
    asks its questions, nor for a message that may speak of an emergency."""
    read_as, _ = latest_intent(tracker)
    if read_as not in PLAIN_REQUEST_INTENTS or tracker.active_loop.get("name"):
        return []
    if _may_be_an_emergency(tracker):
        return []
    # A random invite code's letters may read as anything: sent alone, it binds staff.
    text = latest_text(tracker)
    intent = "bind_staff" if is_invite_code(text) else service_cue(text)
    if intent is None:
        return []
    logger.info("read as %s by its own words (the NLU was unsure)", intent)
    return replay_as(tracker, intent)


def _may_be_an_emergency(tracker: Tracker) -> bool:
    """Whether the message speaks of gas, smoke or fire, or the NLU ranked a gas leak
    among its first three guesses."""
    return "gas_leak" in _guesses(tracker)[:3] or speaks_of_gas_emergency(latest_text(tracker))


def best_guess(tracker: Tracker) -> str | None:
    """The intent the NLU ranked first below its confidence bar (`nlu_fallback` aside)."""
    return next(iter(_guesses(tracker)), None)


def _guesses(tracker: Tracker) -> list[str]:
    """The NLU's intents for the latest message, best first, `nlu_fallback` aside."""
    ranking = (tracker.latest_message or {}).get("intent_ranking") or []
    return [str(r["name"]) for r in ranking if r.get("name") and r["name"] != "nlu_fallback"]


def replay_as(tracker: Tracker, intent: str) -> list[EventType]:
    """The events that take the latest message back and utter it again with `intent`:
    Rasa's revert takes the listen before the message too, so the listen comes back
    before the replayed message, as in Rasa's two-stage fallback."""
    return [UserUtteranceReverted(), ActionExecuted("action_listen"), replayed(tracker, intent)]


def replayed(tracker: Tracker, intent: str) -> EventType:
    """The latest message again, with `intent` for certain: its text, entities, channel,
    metadata and id as they came."""
    message: dict[str, Any] = dict(tracker.latest_message or {})
    resolved = {"name": intent, "confidence": 1.0}
    ranking = [r for r in message.get("intent_ranking") or [] if r.get("name") != intent]
    parse_data = {**message, "intent": resolved, "intent_ranking": [resolved, *ranking]}
    event = UserUttered(
        latest_text(tracker),
        parse_data=parse_data,
        input_channel=tracker.get_latest_input_channel(),
    )
    # Rasa reads the metadata and the message id from the event too.
    users = [e for e in reversed(tracker.events) if e.get("event") == "user"]
    original: dict[str, Any] = users[0] if users else {}
    event["metadata"] = original.get("metadata") or {}
    if original.get("message_id"):
        event["message_id"] = original["message_id"]
    return event
