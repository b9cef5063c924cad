"""In the Rasa server: while a person holds a sender's conversation, the sender's messages
go to the person and the assistant stays silent (bot/handoff).

The action that hands a conversation over returns ConversationPaused, so Rasa records
what the sender says and predicts nothing. `install()` wraps
`MessageProcessor.handle_message` (called inside the conversation's lock, for every
channel alike) so that, for a sender with a handoff:
- a message is also kept in the handoff's record, which the desk shows to the agent;
  the first message of one left out of hours (留言) is acknowledged;
- "返回助手" (or /restart) takes the customer out of the queue and resumes the assistant,
  which says so;
- when the silence ended elsewhere (the agent handed back, the idle timeout) and the
  desk could not tell Rasa (`bot.handoff.rasa_api`), the conversation is resumed here
  first, so nobody is left unanswered.
For every other sender it costs one indexed read (`active_for_sender`).

Installed by the project's channels (credentials.yml) like bot.runtime.action_guard;
idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from bot.handoff.service import (
    ActiveHandoff,
    active_for_sender,
    customer_returns,
    mark_resumed,
    record_customer_message,
)
from bot.infra import clock

logger = logging.getLogger(__name__)

# Going back to the assistant: the queue message's button sends "返回助手".
_BACK = re.compile(
    r"^\s*(?:返回(?:智能)?助手|回到(?:智能)?助手|结束人工(?:服务)?|取消人工(?:服务)?|不等了|/restart)"
    r"\s*[。.!！]?\s*$"
)
RETURNED = "utter_handoff_returned"
LISTEN = "action_listen"
MESSAGE_RECEIVED = "utter_handoff_message_received"


def wants_assistant(text: str | None) -> bool:
    """Whether a message asks to leave the person and go back to the assistant."""
    return bool(_BACK.match(text or ""))


async def _active(sender_id: str) -> ActiveHandoff | None:
    try:
        return await asyncio.to_thread(active_for_sender, sender_id=sender_id)
    except Exception:  # the database is down: the assistant answers as usual
        logger.exception("handoff state unavailable")
        return None


async def _resume_and_say(processor: Any, message: Any, response: str | None) -> None:
    """Resume the paused conversation and, with `response`, say it (recorded in the tracker)."""
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.shared.core.events import ActionExecuted, ConversationResumed

    tracker = await processor.fetch_tracker_and_update_session(
        message.sender_id, message.output_channel, message.metadata
    )
    if tracker.is_paused():
        tracker.update(ConversationResumed())
    if response is not None:
        action = processor._get_action(response)
        prediction = PolicyPrediction.for_action_name(processor.domain, response)
        await processor._run_action(
            action, tracker, message.output_channel, processor.nlg, prediction
        )
    # Listening again, as after any answer: the messages kept for the person while paused
    # were never answered by the assistant, and the next one must start a fresh turn.
    tracker.update(ActionExecuted(LISTEN))
    await processor.save_tracker(tracker)


async def relay(processor: Any, message: Any, original: Any) -> Any:
    """Handle `message` for a sender who may be with a person (see the module doc)."""
    from rasa.core.channels.channel import CollectingOutputChannel

    def collected() -> Any:
        channel = message.output_channel
        return channel.messages if isinstance(channel, CollectingOutputChannel) else None

    active = await _active(message.sender_id)
    if active is None:
        return await original(processor, message)
    if not active.silent:
        await _resume_and_say(processor, message, None)
        await asyncio.to_thread(mark_resumed, conversation_id=active.id)
        return await original(processor, message)
    if wants_assistant(message.text):
        await asyncio.to_thread(customer_returns, conversation_id=active.id, now=clock.now())
        await _resume_and_say(processor, message, RETURNED)
        await asyncio.to_thread(mark_resumed, conversation_id=active.id)
        return collected()
    text = message.text or ""
    # A button's intent ("/greet" when the web chat page is opened again) is no message.
    first_message = not text.startswith("/") and await asyncio.to_thread(
        record_customer_message, conversation_id=active.id, text=text, now=clock.now()
    )
    result = await original(processor, message)  # recorded; paused, so nothing predicted
    if first_message:
        await _resume_and_say_paused(processor, message, MESSAGE_RECEIVED)
        return collected()
    return result


async def _resume_and_say_paused(processor: Any, message: Any, response: str) -> None:
    """Say `response` to a sender whose conversation stays paused."""
    from rasa.core.policies.policy import PolicyPrediction

    tracker = await processor.get_tracker(message.sender_id)
    action = processor._get_action(response)
    prediction = PolicyPrediction.for_action_name(processor.domain, response)
    await processor._run_action(action, tracker, message.output_channel, processor.nlg, prediction)
    await processor.save_tracker(tracker)


def install() -> None:
    """Wrap Rasa's `MessageProcessor.handle_message` with `relay` (once)."""
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor.handle_message
    if getattr(original, "_service_assistant_handoff", False):
        return

    async def handle_message(self: Any, message: Any) -> Any:
        return await relay(self, message, original)

    handle_message._service_assistant_handoff = True  # type: ignore[attr-defined]
    MessageProcessor.handle_message = handle_message
