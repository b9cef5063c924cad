"""The threaded SQL tracker store: the same rows as Rasa's, without blocking the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.infra.tracker_store import ThreadedSQLTrackerStore

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, gas_balance]
slots:
  gas_account:
    type: text
    influence_conversation: false
    mappings: [{type: custom}]
"""
)


def store_options(url: str) -> dict[str, object]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return {"dialect": "sqlite", "db": parsed.database}
    return {
        "dialect": "postgresql",
        "host": parsed.host,
        "port": parsed.port,
        "db": parsed.database,
        "username": parsed.username,
        "password": parsed.password,
    }


def first_turn(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    for event in [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("查燃气余额", {"name": "gas_balance", "confidence": 0.97}),
        SlotSet("gas_account", "31001001"),
        ActionExecuted("action_gas_answer"),
        ActionExecuted("action_listen"),
    ]:
        tracker.update(event)
    return tracker


def dumped(tracker: DialogueStateTracker | None) -> list[dict]:
    assert tracker is not None
    return [event.as_dict() for event in tracker.events]


def this_session(tracker: DialogueStateTracker) -> list[dict]:
    """What `retrieve` gives back: the events from the latest session start on."""
    events = dumped(tracker)
    starts = [i for i, event in enumerate(events) if event["event"] == "session_started"]
    return events[starts[-1] :]


def test_what_one_store_writes_the_other_reads(database_url):
    threaded = ThreadedSQLTrackerStore(DOMAIN, **store_options(database_url))
    stock = SQLTrackerStore(DOMAIN, **store_options(database_url))
    tracker = first_turn("web:alice")

    asyncio.run(threaded.save(tracker))
    assert dumped(asyncio.run(stock.retrieve("web:alice"))) == this_session(tracker)

    # The next message works on the tracker as retrieved, as the Rasa server does.
    first = tracker
    tracker = asyncio.run(threaded.retrieve("web:alice"))
    tracker.update(UserUttered("你好", {"name": "greet", "confidence": 0.99}))
    tracker.update(ActionExecuted("utter_greet"))
    asyncio.run(threaded.save(tracker))
    asyncio.run(threaded.save(tracker))  # saving again adds nothing
    assert dumped(asyncio.run(threaded.retrieve("web:alice"))) == dumped(tracker)
    assert dumped(asyncio.run(stock.retrieve("web:alice"))) == dumped(tracker)
    assert dumped(asyncio.run(threaded.retrieve_full_tracker("web:alice"))) == (
        dumped(first)[:1] + dumped(tracker)
    )
    with threaded.session_scope() as session:
        rows = session.query(threaded.SQLEvent).filter_by(sender_id="web:alice").all()
    assert len(rows) == len(tracker.events) + 1  # and action_session_start
    assert [row.intent_name for row in rows if row.type_name == "user"] == ["gas_balance", "greet"]

    assert asyncio.run(threaded.retrieve("web:nobody")) is None
    threaded.engine.dispose()
    stock.engine.dispose()


def ticks_while_saving(store: SQLTrackerStore, database: str) -> int:
    """How often a 10 ms timer fires on the event loop while `store` waits 0.6 s for a
    database another connection holds locked."""
    asyncio.run(store.save(first_turn("web:warm-up")))
    locked = threading.Event()

    def hold_lock() -> None:
        connection = sqlite3.connect(database, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(0.6)
        connection.execute("COMMIT")
        connection.close()

    async def main() -> int:
        ticks = 0
        save = asyncio.create_task(store.save(first_turn("web:bob")))
        while not save.done():
            await asyncio.sleep(0.01)
            ticks += 1
        await save
        return ticks

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait()
    try:
        return asyncio.run(main())
    finally:
        holder.join()


@pytest.mark.parametrize(
    ("store_class", "blocks"), [(ThreadedSQLTrackerStore, False), (SQLTrackerStore, True)]
)
def test_a_slow_database_does_not_stop_the_event_loop(tmp_path, store_class, blocks):
    database = str(tmp_path / "tracker.db")
    store = store_class(DOMAIN, dialect="sqlite", db=database)
    ticks = ticks_while_saving(store, database)
    store.engine.dispose()
    # Rasa's own store, as the control: the loop stands still until the lock is gone.
    assert (ticks <= 2) if blocks else (ticks >= 20)


def test_events_are_read_back_as_rasa_reads_them():
    """Every kind of Rasa event, stored and read back: the same objects as Rasa's own
    deserialisation gives (which searches the Event subclasses one by one)."""
    from rasa.shared.core import events as rasa_events
    from rasa.shared.utils.common import all_subclasses

    from bot.infra.tracker_store import _event_classes, deserialise_events

    for cls in all_subclasses(rasa_events.Event):
        assert _event_classes()[cls.type_name] is rasa_events.Event.resolve_by_type(cls.type_name)
    stored = [
        event.as_dict()
        for event in [
            SessionStarted(timestamp=1.0),
            ActionExecuted("action_listen", timestamp=2.0),
            UserUttered(
                "户号31001001",
                {"name": "check_gas_bill", "confidence": 0.9},
                [{"entity": "gas_account_no", "value": "31001001"}],
                timestamp=3.0,
            ),
            SlotSet("gas_account_no", "31001001", timestamp=4.0),
            rasa_events.ActiveLoop("gas_account_form", timestamp=5.0),
            rasa_events.BotUttered("您好", {"buttons": []}, timestamp=6.0),
            rasa_events.FollowupAction("action_listen", timestamp=7.0),
            rasa_events.ActionExecutionRejected("validate_leave_form", timestamp=8.0),
            rasa_events.Restarted(timestamp=9.0),
        ]
    ]
    stored.insert(2, {"no": "event key"})  # skipped, as Rasa skips it
    assert deserialise_events(stored) == rasa_events.deserialise_events(stored)
    assert len(deserialise_events(stored)) == 9


def test_a_sqlite_file_store_keeps_its_connection_between_messages(tmp_path):
    from sqlalchemy import event

    store = ThreadedSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    opened: list[object] = []
    event.listen(store.engine, "connect", lambda connection, record: opened.append(connection))

    async def messages():
        for turn in range(3):
            tracker = first_turn("web:kept") if turn == 0 else await store.retrieve("web:kept")
            assert tracker is not None
            tracker.update(UserUttered(f"第{turn}条", {"name": "greet", "confidence": 1.0}))
            await store.save(tracker)

    asyncio.run(messages())
    assert len(opened) <= 1, "a new SQLite connection per statement"
    assert len(asyncio.run(store.retrieve("web:kept")).events) >= 9


def test_the_app_database_pools_file_connections_but_not_memory(tmp_path):
    from sqlalchemy.pool import QueuePool

    from bot.infra.db import create_engine

    assert isinstance(create_engine(f"sqlite:///{tmp_path / 'app.db'}").pool, QueuePool)
    assert not isinstance(create_engine("sqlite://").pool, QueuePool)
