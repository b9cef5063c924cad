"""The Rasa server's handoff relay (bot/runtime/handoff_relay.py) around a stand-in for
Rasa's message processor: other senders pass straight through; a waiting customer's
messages are kept for the person and the assistant stays silent; "返回助手" resumes the
assistant, which says so; a conversation the desk could not resume is resumed first."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationPaused
from rasa.shared.core.trackers import DialogueStateTracker

from bot.handoff import service
from bot.notify import Delivery, DeliveryStatus
from bot.runtime.handoff_relay import relay

NIGHT = datetime(2026, 11, 25, 14, 0, tzinfo=timezone.utc)  # 22:00 in Shanghai
DAY = datetime(2026, 11, 25, 7, 45, tzinfo=timezone.utc)


class Processor:
    """What the relay uses of Rasa's MessageProcessor."""

    domain = Domain.from_dict(
        {
            "responses": {
                "utter_handoff_returned": [{"text": "已为您转回智能助手"}],
                "utter_handoff_message_received": [{"text": "已收到您的留言"}],
            }
        }
    )
    nlg = None

    def __init__(self, sender: str, paused: bool = True) -> None:
        self.tracker = DialogueStateTracker(sender, [])
        if paused:
            self.tracker.update(ConversationPaused())
        self.said: list[str] = []
        self.handled: list[str] = []

    async def fetch_tracker_and_update_session(self, *args: Any) -> DialogueStateTracker:
        return self.tracker

    async def get_tracker(self, sender: str) -> DialogueStateTracker:
        return self.tracker

    def _get_action(self, name: str) -> Any:
        return name

    async def _run_action(self, action: Any, *args: Any) -> bool:
        self.said.append(str(action))
        return True

    async def save_tracker(self, tracker: DialogueStateTracker) -> None:
        self.tracker = tracker


async def original(processor: Processor, message: UserMessage) -> Any:
    processor.handled.append(message.text or "")
    return []


def handle(processor: Processor, text: str) -> Any:
    message = UserMessage(text, CollectingOutputChannel(), sender_id=processor.tracker.sender_id)
    return asyncio.run(relay(processor, message, original))


def queue(sender: str, now: datetime) -> int:
    ticket = service.request_handoff(
        sender_id=sender, text="转人工", question="", flow_department=None, reason="asked", now=now
    )
    found = service.find_by_reference(reference=ticket.reference)
    assert found is not None
    return found


def test_a_sender_with_no_handoff_passes_straight_through(service_database):
    processor = Processor("tg:1", paused=False)
    handle(processor, "燃气费怎么交")
    assert processor.handled == ["燃气费怎么交"] and processor.said == []


def test_a_waiting_customers_messages_are_kept_for_the_person(service_database):
    conversation = queue("tg:1", DAY)
    processor = Processor("tg:1")
    handle(processor, "在吗")
    handle(processor, "/greet")
    assert processor.handled == ["在吗", "/greet"]  # Rasa records them (paused: no answer)
    assert processor.said == []
    detail = service.handoff_detail(conversation_id=conversation, now=DAY)
    assert detail is not None
    assert [e.text for e in detail.entries if e.kind == "customer"] == ["在吗"]


def test_the_first_message_left_out_of_hours_is_acknowledged(service_database):
    queue("wx:o1", NIGHT)
    processor = Processor("wx:o1")
    handle(processor, "燃气表坏了")
    handle(processor, "请回电")
    assert processor.said == ["utter_handoff_message_received"]


def test_going_back_to_the_assistant_resumes_it(service_database):
    queue("tg:1", DAY)
    processor = Processor("tg:1")
    handle(processor, "返回助手")
    assert processor.said == ["utter_handoff_returned"] and processor.handled == []
    assert not processor.tracker.is_paused()
    assert service.active_for_sender(sender_id="tg:1") is None


def test_a_conversation_the_desk_could_not_resume_is_resumed_first(service_database):
    conversation = queue("tg:1", DAY)
    service.close(
        conversation_id=conversation,
        actor="cli",
        actor_name="",
        now=DAY,
        deliver=lambda sender, text: Delivery(DeliveryStatus.SENT),
        resume=lambda sender: False,
        require_holder=False,
    )
    processor = Processor("tg:1")
    handle(processor, "燃气费怎么交")
    assert not processor.tracker.is_paused()
    assert processor.handled == ["燃气费怎么交"]
    assert service.active_for_sender(sender_id="tg:1") is None
