"""The handoff queue (bot/handoff/service.py) on SQLite and PostgreSQL: queueing with a
place and a wait, messages out of hours, one winner among agents claiming at once, replies
to each channel, handing back, going back to the assistant and the idle timeout."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.handoff import service
from bot.handoff.desks import get_desks
from bot.handoff.service import ClaimOutcome, NotHolder
from bot.infra.clock import as_utc
from bot.infra.db import session_scope
from bot.models import HandoffConversation, HandoffEntry
from bot.notify import Delivery, DeliveryStatus

SHANGHAI = timezone(timedelta(hours=8))
# Wednesday afternoon: the service desk is staffed (周一至周五 9:00-17:00).
STAFFED = datetime(2026, 11, 25, 15, 45, tzinfo=SHANGHAI)
NIGHT = datetime(2026, 11, 25, 22, 0, tzinfo=SHANGHAI)


class Channels:
    """Stands in for bot.notify.deliver: records what is sent, refuses chosen senders."""

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.refuse = refuse or {}

    def __call__(self, sender_id: str, text: str) -> Delivery:
        if sender_id in self.refuse:
            return Delivery(DeliveryStatus.FAILED, self.refuse[sender_id])
        self.sent.append((sender_id, text))
        return Delivery(DeliveryStatus.SENT)


class Rasa:
    """Stands in for Rasa's HTTP API: the senders whose conversation was resumed."""

    def __init__(self, works: bool = True) -> None:
        self.resumed: list[str] = []
        self.works = works

    def __call__(self, sender_id: str) -> bool:
        if self.works:
            self.resumed.append(sender_id)
        return self.works


def queue(engine, sender: str, text: str = "转人工", now: datetime = STAFFED, **extra):
    return service.request_handoff(
        sender_id=sender,
        text=text,
        question=extra.get("question", "我家燃气费怎么这么高"),
        flow_department=extra.get("flow"),
        reason="asked",
        now=now,
        engine=engine,
    )


def test_a_customer_joins_the_queue_with_their_place_and_wait(engine):
    first = queue(engine, "tg:1")
    second = queue(engine, "web:two", now=STAFFED + timedelta(seconds=5))
    assert (first.status, first.ahead) == ("queued", 0)
    assert (second.status, second.ahead) == ("queued", 1)
    assert second.wait_minutes == 2 * get_desks().average_minutes
    assert first.reference.startswith("RG20261125-")
    assert first.department == "service"  # no service named, no flow under way


def test_asking_again_keeps_the_place_in_the_queue(engine):
    first = queue(engine, "tg:1")
    again = queue(engine, "tg:1", now=STAFFED + timedelta(minutes=1))
    assert again.already and again.reference == first.reference


def test_the_request_goes_to_the_service_it_names_or_the_flow_under_way(engine):
    assert queue(engine, "tg:1", text="燃气的事 转人工").department == "gas"
    assert queue(engine, "tg:2", flow="school").department == "school"


def test_outside_staffed_hours_the_customer_leaves_a_message(engine):
    ticket = queue(engine, "wx:openid", now=NIGHT)
    assert ticket.status == "message"
    assert ticket.reference.startswith("LY20261125-")
    # The service desk opens Thursday 9:00; messages are answered within two hours.
    assert ticket.reply_by == "11月26日 11:00"
    assert service.record_customer_message(
        conversation_id=_id(engine, ticket.reference), text="燃气表坏了", now=NIGHT, engine=engine
    )
    assert not service.record_customer_message(
        conversation_id=_id(engine, ticket.reference), text="快来修", now=NIGHT, engine=engine
    )
    # The customer goes back to the assistant; the message waits for the staff.
    service.customer_returns(
        conversation_id=_id(engine, ticket.reference), now=NIGHT, engine=engine
    )
    box = service.inbox(department="service", agent="li", now=NIGHT, engine=engine)
    assert [row.reference for row in box.messages] == [ticket.reference]
    assert not box.messages[0].silent


def _id(engine, reference: str) -> int:
    found = service.find_by_reference(reference=reference, engine=engine)
    assert found is not None
    return found


def test_of_two_agents_claiming_at_once_exactly_one_wins(engine):
    ticket = queue(engine, "tg:1")
    conversation_id = _id(engine, ticket.reference)
    channels = Channels()
    barrier = threading.Barrier(2)
    outcomes: dict[str, ClaimOutcome] = {}

    def claim(agent: str) -> None:
        barrier.wait()
        outcomes[agent] = service.claim(
            conversation_id=conversation_id,
            agent=agent,
            agent_name=agent.upper(),
            now=STAFFED,
            deliver=channels,
            engine=engine,
        )

    threads = [threading.Thread(target=claim, args=(agent,)) for agent in ("li", "wang")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome.value for outcome in outcomes.values()) == ["claimed", "taken"]
    winner = next(agent for agent, outcome in outcomes.items() if outcome is ClaimOutcome.CLAIMED)
    with session_scope(engine) as session:
        row = session.get(HandoffConversation, conversation_id)
        assert row is not None and row.claimed_by == winner
    # The customer is greeted once, by the winner.
    assert len(channels.sent) == 1 and winner.upper() in channels.sent[0][1]


def test_replies_reach_each_channel_with_the_agents_name(engine):
    channels = Channels()
    for sender in ("tg:1", "web:abc"):
        conversation_id = _id(engine, queue(engine, sender).reference)
        service.claim(
            conversation_id=conversation_id,
            agent="li",
            agent_name="李客服",
            now=STAFFED,
            deliver=channels,
            engine=engine,
        )
        sent = service.reply(
            conversation_id=conversation_id,
            agent="li",
            agent_name="李客服",
            text="<b>您好</b>，请稍等",
            now=STAFFED,
            deliver=channels,
            engine=engine,
        )
        assert sent.delivery == ("push" if sender.startswith("web:") else "sent")
    # Telegram gets it with the name, as plain text (markup is never interpreted).
    assert channels.sent[-1] == ("tg:1", "【李客服】<b>您好</b>，请稍等")
    # The web chat reads it through its push connection.
    pushed = service.pushes_after(sender_id="web:abc", after_id=0, engine=engine)
    assert [(p.kind, p.author_name, p.text) for p in pushed][-1] == (
        "agent",
        "李客服",
        "<b>您好</b>，请稍等",
    )
    assert service.pushes_after(sender_id="web:abc", after_id=pushed[-1].id, engine=engine) == []


def test_only_the_agent_holding_a_conversation_replies(engine):
    conversation_id = _id(engine, queue(engine, "tg:1").reference)
    with pytest.raises(NotHolder):
        service.reply(
            conversation_id=conversation_id,
            agent="li",
            agent_name="李",
            text="你好",
            now=STAFFED,
            deliver=Channels(),
            engine=engine,
        )


def test_a_closed_channel_is_recorded_and_shown_to_the_agent(engine):
    channels = Channels(refuse={"wx:gone": "RuntimeError: custom/send failed: errcode 45015"})
    conversation_id = _id(engine, queue(engine, "wx:gone").reference)
    service.claim(
        conversation_id=conversation_id,
        agent="li",
        agent_name="李",
        now=STAFFED,
        deliver=channels,
        engine=engine,
    )
    sent = service.reply(
        conversation_id=conversation_id,
        agent="li",
        agent_name="李",
        text="您好",
        now=STAFFED,
        deliver=channels,
        engine=engine,
    )
    assert sent.delivery == "failed" and "45015" in sent.detail
    detail = service.handoff_detail(conversation_id=conversation_id, now=STAFFED, engine=engine)
    assert detail is not None and "45015" in detail.summary.channel_problem


def test_handing_back_resumes_the_assistant_and_says_so(engine):
    channels, rasa = Channels(), Rasa()
    conversation_id = _id(engine, queue(engine, "tg:1").reference)
    service.claim(
        conversation_id=conversation_id,
        agent="li",
        agent_name="李",
        now=STAFFED,
        deliver=channels,
        engine=engine,
    )
    assert service.close(
        conversation_id=conversation_id,
        actor="li",
        actor_name="李",
        now=STAFFED,
        deliver=channels,
        resume=rasa,
        engine=engine,
    )
    assert rasa.resumed == ["tg:1"]
    assert "转回智能助手" in channels.sent[-1][1]
    assert service.active_for_sender(sender_id="tg:1", engine=engine) is None


def test_when_rasa_cannot_be_told_the_relay_resumes_on_the_next_message(engine):
    conversation_id = _id(engine, queue(engine, "tg:1").reference)
    service.close(
        conversation_id=conversation_id,
        actor="cli",
        actor_name="",
        now=STAFFED,
        deliver=Channels(),
        resume=Rasa(works=False),
        require_holder=False,
        engine=engine,
    )
    active = service.active_for_sender(sender_id="tg:1", engine=engine)
    assert active is not None and not active.silent and not active.resumed
    service.mark_resumed(conversation_id=conversation_id, engine=engine)
    assert service.active_for_sender(sender_id="tg:1", engine=engine) is None


def test_a_customer_who_goes_back_to_the_assistant_leaves_the_queue(engine):
    first = _id(engine, queue(engine, "tg:1").reference)
    queue(engine, "tg:2", now=STAFFED + timedelta(seconds=1))
    service.customer_returns(conversation_id=first, now=STAFFED, engine=engine)
    box = service.inbox(department="", agent="li", now=STAFFED, engine=engine)
    assert [row.sender_id for row in box.waiting] == ["tg:2"]
    assert queue(engine, "tg:3", now=STAFFED + timedelta(seconds=2)).ahead == 1


def test_an_idle_conversation_returns_to_the_assistant_once(engine):
    channels, rasa = Channels(), Rasa()
    idle_id = _id(engine, queue(engine, "tg:1").reference)
    queue(engine, "tg:2", now=STAFFED + timedelta(minutes=9))
    later = STAFFED + timedelta(minutes=get_desks().idle_minutes, seconds=1)
    expired = service.expire_idle(now=later, deliver=channels, resume=rasa, engine=engine)
    assert len(expired) == 1 and rasa.resumed == ["tg:1"]
    assert "较长时间没有新消息" in channels.sent[0][1]
    assert service.expire_idle(now=later, deliver=channels, resume=rasa, engine=engine) == []
    with session_scope(engine) as session:
        row = session.get(HandoffConversation, idle_id)
        assert row is not None and (row.status, row.close_reason) == ("closed", "idle")


def test_a_transfer_keeps_the_place_and_tells_the_customer(engine):
    channels = Channels()
    conversation_id = _id(engine, queue(engine, "tg:1").reference)
    service.claim(
        conversation_id=conversation_id,
        agent="li",
        agent_name="李",
        now=STAFFED,
        deliver=channels,
        engine=engine,
    )
    service.transfer(
        conversation_id=conversation_id,
        agent="li",
        agent_name="李",
        department="gas",
        now=STAFFED + timedelta(minutes=2),
        deliver=channels,
        engine=engine,
    )
    box = service.inbox(department="gas", agent="zhao", now=STAFFED, engine=engine)
    assert [row.id for row in box.waiting] == [conversation_id]
    assert as_utc(box.waiting[0].queued_at) == STAFFED  # its place in time is kept
    assert "已为您转接" in channels.sent[-1][1]


def test_everything_said_is_in_the_record(engine):
    channels, rasa = Channels(), Rasa()
    conversation_id = _id(engine, queue(engine, "tg:1").reference)
    service.record_customer_message(
        conversation_id=conversation_id, text="在吗", now=STAFFED, engine=engine
    )
    service.claim(
        conversation_id=conversation_id,
        agent="li",
        agent_name="李",
        now=STAFFED,
        deliver=channels,
        engine=engine,
    )
    service.reply(
        conversation_id=conversation_id,
        agent="li",
        agent_name="李",
        text="在的",
        now=STAFFED,
        deliver=channels,
        engine=engine,
    )
    service.close(
        conversation_id=conversation_id,
        actor="li",
        actor_name="李",
        now=STAFFED,
        deliver=channels,
        resume=rasa,
        engine=engine,
    )
    with session_scope(engine) as session:
        kinds = list(
            session.scalars(
                select(HandoffEntry.kind)
                .where(HandoffEntry.conversation_id == conversation_id)
                .order_by(HandoffEntry.id)
            )
        )
    assert kinds == ["note", "customer", "note", "system", "agent", "note", "system"]
