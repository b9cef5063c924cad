"""A Redis lock store whose tickets are issued and returned atomically.

Several Rasa servers share one Redis lock store so that a sender's messages are handled
one at a time, in order. Rasa 3.6's `RedisLockStore` changes a conversation's lock by
reading it, changing it in Python and writing it back: two servers issuing tickets at the
same moment can both take the same number (and handle two messages at once), and a server
returning its ticket can delete the lock while another is issuing one (that message then
fails with a LockError) or write back a ticket already returned (the conversation then
waits for it to expire). Here each change is a Redis transaction (WATCH/MULTI) that is
retried when the lock changed underneath it.

Most messages find their conversation unlocked. For them there is a shorter way, as safe:
the lock is created with one `SET NX` (which fails if another server created it first),
which also means the message holds it (its ticket is the only one), and when the message
is done the lock is deleted by a script that deletes it only if it is still exactly as
created (nobody else took a ticket meanwhile). Two Redis calls per message instead of
seven, made with Redis's asyncio client so that the Rasa server goes on with other
conversations while Redis answers (Rasa's lock store waits for Redis on the event loop).
Whenever either step finds the lock changed, the transactions above do the work, as in
Rasa's store. Waiting for Redis must not reorder a sender's messages: one server's messages
for a conversation take their tickets one after another, in the order they arrived.

endpoints.yml:

    lock_store:
      type: bot.infra.lock_store.AtomicRedisLockStore
      url: 127.0.0.1
      port: 6379
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import redis.asyncio
from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    LOCK_LIFETIME,
    LockError,
    RedisLockStore,
)
from rasa.utils.endpoints import EndpointConfig
from redis.connection import SSLConnection
from redis.exceptions import WatchError

T = TypeVar("T")


# Delete KEYS[1] if it holds ARGV[1]; 1 if deleted, 0 if not (atomic: a script runs alone).
_DELETE_IF_UNCHANGED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class AtomicRedisLockStore(RedisLockStore):
    """`RedisLockStore` with every read-change-write of a lock done atomically."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        settings = {**(endpoint_config.kwargs if endpoint_config else {}), **kwargs}
        host = (endpoint_config.url if endpoint_config else None) or settings.pop(
            "host", "localhost"
        )
        super().__init__(host=host, **settings)
        # An asyncio client belongs to the event loop it was made in: one per loop.
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, redis.asyncio.Redis
        ] = weakref.WeakKeyDictionary()
        self._gates: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, weakref.WeakValueDictionary[str, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def _async_client(self) -> redis.asyncio.Redis:
        """The asyncio twin of `self.red` (same server, database, credentials, TLS)."""
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            pool = self.red.connection_pool
            options = dict(pool.connection_kwargs)
            keep = {"host", "port", "db", "username", "password", "socket_timeout"}
            if issubclass(pool.connection_class, SSLConnection):
                keep |= {"ssl_keyfile", "ssl_certfile", "ssl_ca_certs"}
                options["ssl"] = True
                keep.add("ssl")
            options.setdefault("socket_timeout", DEFAULT_SOCKET_TIMEOUT_IN_SECONDS)
            client = redis.asyncio.Redis(**{k: v for k, v in options.items() if k in keep})
            self._async_clients[loop] = client
        return client

    def _arrival_gate(self, conversation_id: str) -> asyncio.Lock:
        """This server's gate for `conversation_id`: its messages take their tickets one
        after another, in the order they arrived (asyncio's lock wakes its waiters first
        come, first served). Without it, two messages waiting for Redis's answers at once
        could take their tickets in the order the answers came back."""
        loop = asyncio.get_running_loop()
        gates = self._gates.get(loop)
        if gates is None:
            gates = self._gates[loop] = weakref.WeakValueDictionary()
        gate = gates.get(conversation_id)
        if gate is None:  # kept while a message holds or waits for it, then dropped
            gate = gates[conversation_id] = asyncio.Lock()
        return gate

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        """Hold `conversation_id`'s lock (Rasa's `LockStore.lock`): the short way when the
        conversation is unlocked, else a ticket and a wait for its turn."""
        key = self.key_prefix + conversation_id
        async with self._arrival_gate(conversation_id):
            try:
                client = self._async_client()
                lock = self.create_lock(conversation_id)
                ticket = lock.issue_ticket(lock_lifetime)
                created = lock.dumps()
                took = await client.set(key, created, nx=True)
                if not took:  # Rasa's way, each change a transaction
                    ticket = self.issue_ticket(conversation_id, lock_lifetime)
            except LockError:
                raise
            except Exception as error:
                raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        if not took:
            try:
                yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
            finally:
                self.cleanup(conversation_id, ticket)
            return
        try:
            yield lock  # the only ticket, so it is being served
        finally:
            deleted = await client.eval(_DELETE_IF_UNCHANGED, 1, key, created)
            if not deleted:  # another message took a ticket meanwhile
                self.cleanup(conversation_id, ticket)

    def _change(
        self,
        conversation_id: str,
        change: Callable[[TicketLock], T],
        *,
        create: bool = False,
        delete_when_empty: bool = False,
    ) -> T | None:
        """Apply `change` to the stored lock (created if `create`) in one Redis transaction,
        retried until no other server changed the lock in between. Nothing happens to a
        missing lock unless `create`."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    if stored:
                        lock = TicketLock.from_dict(json.loads(stored))
                    elif create:
                        lock = self.create_lock(conversation_id)
                    else:
                        pipe.unwatch()
                        return None
                    result = change(lock)
                    pipe.multi()
                    if delete_when_empty and not lock.is_someone_waiting():
                        pipe.delete(key)
                    else:
                        pipe.set(key, lock.dumps())
                    pipe.execute()
                    return result
                except WatchError:
                    continue

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            ticket = self._change(
                conversation_id, lambda lock: lock.issue_ticket(lock_lifetime), create=True
            )
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        assert ticket is not None
        return ticket

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets())

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Return the ticket and delete the lock if no ticket is left, in one transaction:
        a ticket issued meanwhile by another server is never deleted with it."""
        self._change(
            conversation_id,
            lambda lock: lock.remove_ticket_for(ticket_number),
            delete_when_empty=True,
        )
