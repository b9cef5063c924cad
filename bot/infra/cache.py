"""A small shared cache: Redis when REDIS_URL is set, process memory otherwise.

The WeChat channel keeps three things here that must hold across several Rasa servers
behind a load balancer: the nonces it has seen (a replayed request is refused by whichever
server gets it), which server handles a message and its answer (WeChat's retries of one
message may reach another server), and the access token with a lock for its renewal.
With one server the in-memory cache gives the same behaviour.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from bot.infra.settings import Settings


class CacheUnavailable(RuntimeError):
    """The shared cache could not be reached."""


class Cache(Protocol):
    """Keys with an expiry; every value is a string."""

    async def claim(self, key: str, value: str, ttl: float) -> bool:
        """Store `value` unless `key` exists (SET NX): True for the one caller that stored it."""

    async def get(self, key: str) -> str | None:
        """The value stored under `key`, or None when it is absent or expired."""

    async def put(self, key: str, value: str, ttl: float) -> None:
        """Store `value` under `key` for `ttl` seconds, replacing any value."""

    def lock(self, key: str, ttl: float) -> AbstractAsyncContextManager[None]:
        """An async context manager held by one caller at a time (released after `ttl` s)."""

    async def close(self) -> None:
        """Release the connections."""


class MemoryCache:
    """The cache in this process's memory: for one server, and for tests."""

    SWEEP_SECONDS = 1.0  # expired keys are dropped at most this often (reads check expiry)

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self._values: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._swept = time.monotonic()

    def _live(self, key: str) -> tuple[str, float] | None:
        now = time.monotonic()
        if now - self._swept > self.SWEEP_SECONDS:
            self._values = {k: v for k, v in self._values.items() if v[1] > now}
            self._swept = now
        entry = self._values.get(self.prefix + key)
        return entry if entry and entry[1] > now else None

    async def claim(self, key: str, value: str, ttl: float) -> bool:
        if self._live(key):
            return False
        self._values[self.prefix + key] = (value, time.monotonic() + ttl)
        return True

    async def get(self, key: str) -> str | None:
        entry = self._live(key)
        return entry[0] if entry else None

    async def put(self, key: str, value: str, ttl: float) -> None:
        self._values[self.prefix + key] = (value, time.monotonic() + ttl)

    @asynccontextmanager
    async def lock(self, key: str, ttl: float) -> AsyncIterator[None]:
        async with self._locks.setdefault(self.prefix + key, asyncio.Lock()):
            yield

    async def close(self) -> None:
        self._values.clear()


class RedisCache:
    """The cache in Redis, shared by every process that uses the same URL and prefix."""

    def __init__(self, url: str, prefix: str) -> None:
        from redis.asyncio import Redis

        self.prefix = prefix
        # Bounded waits: a Redis that hangs fails the request instead of holding it.
        self._redis = Redis.from_url(
            url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5
        )

    async def claim(self, key: str, value: str, ttl: float) -> bool:
        async with self._errors():
            stored = await self._redis.set(self.prefix + key, value, nx=True, px=_ms(ttl))
        return bool(stored)

    async def get(self, key: str) -> str | None:
        async with self._errors():
            value = await self._redis.get(self.prefix + key)
        return None if value is None else str(value)

    async def put(self, key: str, value: str, ttl: float) -> None:
        async with self._errors():
            await self._redis.set(self.prefix + key, value, px=_ms(ttl))

    @asynccontextmanager
    async def lock(self, key: str, ttl: float) -> AsyncIterator[None]:
        # A Redis lock with a timeout, so a server that dies holding it does not block
        # the others for longer than `ttl`.
        lock = self._redis.lock(self.prefix + "lock:" + key, timeout=ttl, blocking_timeout=ttl)
        async with self._errors():
            acquired = await lock.acquire()
        if not acquired:
            raise CacheUnavailable(f"lock {key} not acquired within {ttl} s")
        try:
            yield
        finally:
            async with self._errors():
                # The lock may have expired meanwhile; another holder may own it now.
                if await lock.owned():
                    await lock.release()

    async def close(self) -> None:
        await self._redis.close()
        await self._redis.connection_pool.disconnect()

    @asynccontextmanager
    async def _errors(self) -> AsyncIterator[None]:
        from redis.exceptions import RedisError

        try:
            yield
        except RedisError as error:
            raise CacheUnavailable(f"Redis: {type(error).__name__}: {error}") from error


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def cache_from_settings(settings: Settings) -> MemoryCache | RedisCache:
    """Redis when REDIS_URL is set (keys under REDIS_KEY_PREFIX), else this process's memory."""
    if settings.redis_url:
        return RedisCache(settings.redis_url, prefix=settings.redis_key_prefix)
    return MemoryCache()
