"""The atomic Redis lock store on the local Redis: tickets from several "servers" at once
are distinct, one message at a time is handled, and none fails to get the lock."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid

import pytest
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.infra.lock_store import AtomicRedisLockStore
from tests.conftest import _require_services

HOST, PORT = "127.0.0.1", 6379


@pytest.fixture()
def prefix() -> str:
    import redis

    try:
        redis.Redis(host=HOST, port=PORT, socket_timeout=2).ping()
    except Exception as exc:  # any driver or network error means: no server here
        message = f"Redis not reachable at {HOST}:{PORT}: {exc.__class__.__name__}"
        if _require_services():
            pytest.fail(message)
        pytest.skip(message)
    return f"test{uuid.uuid4().hex[:10]}"


def store(prefix: str) -> AtomicRedisLockStore:
    config = EndpointConfig(url=HOST, type="bot.infra.lock_store.AtomicRedisLockStore", port=PORT)
    config.kwargs["key_prefix"] = prefix
    created = LockStore.create(config)
    assert isinstance(created, AtomicRedisLockStore)
    return created


def test_the_store_is_made_from_the_endpoint_configuration(prefix):
    created = store(prefix)
    assert created.key_prefix == f"{prefix}:lock:"
    assert created.red.connection_pool.connection_kwargs["port"] == PORT


def test_tickets_issued_at_once_by_several_servers_are_distinct(prefix):
    conversation = f"web:{uuid.uuid4().hex}"
    numbers: list[int] = []
    barrier = threading.Barrier(8)

    def server() -> None:
        lock_store = store(prefix)
        barrier.wait(timeout=10)
        numbers.extend(lock_store.issue_ticket(conversation) for _ in range(25))

    threads = [threading.Thread(target=server) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(numbers) == list(range(200))
    assert store(prefix).get_lock(conversation).last_issued == 199


def test_a_burst_on_several_servers_is_handled_one_at_a_time_and_none_fails(prefix):
    conversation = f"web:{uuid.uuid4().hex}"
    inside, most_inside, handled = [0], [0], []
    errors: list[BaseException] = []
    guard = threading.Lock()
    barrier = threading.Barrier(6)

    async def handle(lock_store: AtomicRedisLockStore, message: int) -> None:
        async with lock_store.lock(conversation, wait_time_in_seconds=0.005):
            with guard:
                inside[0] += 1
                most_inside[0] = max(most_inside[0], inside[0])
            await asyncio.sleep(0.002)
            with guard:
                inside[0] -= 1
                handled.append(message)

    def server(number: int) -> None:
        lock_store = store(prefix)
        barrier.wait(timeout=10)
        try:
            for message in range(10):
                asyncio.run(handle(lock_store, number * 10 + message))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=server, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert most_inside[0] == 1
    assert sorted(handled) == list(range(60))
    assert store(prefix).get_lock(conversation) is None  # the last one out deleted it


def test_an_unlocked_conversation_is_locked_and_freed_with_two_calls_off_the_event_loop(prefix):
    import redis

    lock_store = store(prefix)
    conversation = f"web:{uuid.uuid4().hex}"
    key = lock_store.key_prefix + conversation
    observer = redis.Redis(
        host=HOST, port=PORT, db=lock_store.red.connection_pool.connection_kwargs["db"]
    )
    calls: list[str] = []

    def blocking(*args, **options):
        raise AssertionError(f"{args[0]} on the blocking client, on the event loop")

    lock_store.red.execute_command = blocking

    async def handle() -> None:
        client = lock_store._async_client()
        execute = client.execute_command

        async def counted(*args, **options):
            calls.append(str(args[0]))
            return await execute(*args, **options)

        client.execute_command = counted
        async with lock_store.lock(conversation) as lock:
            assert not lock.is_locked(0)
            stored = TicketLock.from_dict(json.loads(observer.get(key)))
            assert stored.last_issued == 0 and not stored.is_locked(0)

    asyncio.run(handle())
    assert calls == ["SET", "EVAL"]  # SET NX, then delete-if-unchanged
    assert observer.get(key) is None


def test_the_event_loop_goes_on_while_redis_is_slow_to_answer(prefix):
    """While Redis holds every client back (CLIENT PAUSE), other conversations are served:
    the lock is taken with the asyncio client, not by blocking the loop."""
    import redis

    lock_store = store(prefix)
    conversation = f"web:{uuid.uuid4().hex}"
    admin = redis.Redis(
        host=HOST, port=PORT, db=lock_store.red.connection_pool.connection_kwargs["db"]
    )
    ticks = [0]

    async def ticker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            ticks[0] += 1
            await asyncio.sleep(0.01)

    async def scenario() -> float:
        lock_store._async_client()  # connect before the pause
        stop = asyncio.Event()
        ticking = asyncio.create_task(ticker(stop))
        await asyncio.sleep(0.02)
        admin.execute_command("CLIENT", "PAUSE", 600, "ALL")
        before = ticks[0]
        async with lock_store.lock(conversation):
            waited = ticks[0] - before
        stop.set()
        await ticking
        return waited

    waited = asyncio.run(scenario())
    assert waited >= 20  # about 60 ticks of 10 ms while Redis was paused; 0 if blocked
    assert admin.get(lock_store.key_prefix + conversation) is None


def test_a_message_arriving_while_another_holds_the_lock_waits_its_turn(prefix):
    first, second = store(prefix), store(prefix)
    conversation = f"web:{uuid.uuid4().hex}"
    order: list[str] = []

    async def scenario() -> None:
        async def one(lock_store: AtomicRedisLockStore, name: str, hold: float) -> None:
            async with lock_store.lock(conversation, wait_time_in_seconds=0.01):
                order.append(f"{name} in")
                await asyncio.sleep(hold)
                order.append(f"{name} out")

        early = asyncio.create_task(one(first, "first", 0.2))
        await asyncio.sleep(0.05)
        await asyncio.gather(early, one(second, "second", 0.0))

    asyncio.run(scenario())
    assert order == ["first in", "first out", "second in", "second out"]
    assert first.get_lock(conversation) is None


def test_a_ticket_taken_meanwhile_survives_the_first_message_finishing(prefix):
    first, second = store(prefix), store(prefix)
    conversation = f"web:{uuid.uuid4().hex}"
    assert first.issue_ticket(conversation) == 0  # the lock did not exist
    assert second.issue_ticket(conversation) == 1  # the lock existed
    first.cleanup(conversation, 0)
    lock = second.get_lock(conversation)
    assert lock is not None and lock.now_serving == 1 and not lock.is_locked(1)
    second.cleanup(conversation, 1)
    assert second.get_lock(conversation) is None


def test_messages_arriving_on_one_server_take_their_turns_in_arrival_order(prefix):
    """A sender's second message must not overtake the first while Redis answers the first
    one late (each call may go out on its own connection of the pool)."""
    holder, lock_store = store(prefix), store(prefix)
    conversation = f"web:{uuid.uuid4().hex}"
    order: list[str] = []

    async def scenario() -> None:
        client = lock_store._async_client()
        execute = client.execute_command
        sets = [0]

        async def first_set_answered_late(*args, **options):
            if args[0] == "SET":
                sets[0] += 1
                if sets[0] == 1:
                    await asyncio.sleep(0.15)
            return await execute(*args, **options)

        client.execute_command = first_set_answered_late

        async def message(name: str) -> None:
            async with lock_store.lock(conversation, wait_time_in_seconds=0.01):
                order.append(name)

        async def held_elsewhere(taken: asyncio.Event) -> None:
            async with holder.lock(conversation, wait_time_in_seconds=0.01):
                taken.set()
                await asyncio.sleep(0.4)

        taken = asyncio.Event()
        holding = asyncio.create_task(held_elsewhere(taken))
        await taken.wait()
        first = asyncio.create_task(message("first"))
        await asyncio.sleep(0.02)
        second = asyncio.create_task(message("second"))
        await asyncio.gather(holding, first, second)

    asyncio.run(scenario())
    assert order == ["first", "second"]
    assert holder.get_lock(conversation) is None
