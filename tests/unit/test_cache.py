"""The shared cache (bot/infra/cache.py) in memory and on the local Redis, and the WeChat channel's
nonces, message de-duplication and access token on it, with two channel instances sharing
Redis standing in for two Rasa servers behind a load balancer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from wechatpy import parse_message

from bot.channels.wechat import CustomerService, ReplayGuard, WeChatInput
from bot.infra.cache import CacheUnavailable, MemoryCache, RedisCache, cache_from_settings
from bot.infra.settings import Settings
from tests.e2e.fake_wechat import FakeWeChatApi


@pytest.fixture(params=["memory", "redis"])
def new_cache(request) -> Iterator[Callable[[], MemoryCache | RedisCache]]:
    """Makes caches that share their data: one in memory, or any number on Redis."""
    if request.param == "memory":
        shared = MemoryCache(prefix="test:")
        yield lambda: shared
        return
    url, prefix = request.getfixturevalue("redis_server"), request.getfixturevalue("redis_prefix")
    yield lambda: RedisCache(url, prefix=prefix)


@pytest.fixture()
def two_redis_caches(redis_server: str, redis_prefix: str) -> tuple[RedisCache, RedisCache]:
    """Two independent clients on one Redis: what two servers would have."""
    return RedisCache(redis_server, prefix=redis_prefix), RedisCache(
        redis_server, prefix=redis_prefix
    )


def run(coroutine: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coroutine

    return asyncio.run(main())


def test_a_key_is_claimed_once_until_it_expires(new_cache):
    async def scenario() -> list[bool | str | None]:
        first, second = new_cache(), new_cache()
        results: list[bool | str | None] = [
            await first.claim("nonce:abc", "1", 0.3),
            await second.claim("nonce:abc", "2", 0.3),
            await second.get("nonce:abc"),
        ]
        await asyncio.sleep(0.4)
        results += [await second.get("nonce:abc"), await second.claim("nonce:abc", "3", 1)]
        await first.close()
        await second.close()
        return results

    assert run(scenario()) == [True, False, "1", None, True]


def test_put_replaces_and_get_reads(new_cache):
    async def scenario() -> list[str | None]:
        cache = new_cache()
        missing = await cache.get("token")
        await cache.put("token", "t-1", 5)
        await cache.put("token", "t-2", 5)
        found = await cache.get("token")
        await cache.close()
        return [missing, found]

    assert run(scenario()) == [None, "t-2"]


def test_the_lock_is_held_by_one_caller_at_a_time(new_cache):
    async def holder(name: str, log: list[str]) -> None:
        cache = new_cache()
        async with cache.lock("renewal", 5):
            log.append(f"{name} in")
            await asyncio.sleep(0.1)
            log.append(f"{name} out")
        await cache.close()

    async def scenario() -> list[str]:
        log: list[str] = []
        await asyncio.gather(holder("a", log), holder("b", log), holder("c", log))
        return log

    log = run(scenario())
    assert len(log) == 6
    assert all(log[i][0] == log[i + 1][0] for i in range(0, 6, 2)), log


def test_redis_keys_carry_the_prefix_and_expire(redis_server, redis_prefix):
    import redis

    run(_claim(RedisCache(redis_server, prefix=redis_prefix), "nonce:xyz", 30))
    client = redis.Redis.from_url(redis_server)
    try:
        assert client.get(redis_prefix + "nonce:xyz") == b"1"
        assert 0 < client.pttl(redis_prefix + "nonce:xyz") <= 30_000
    finally:
        client.close()


async def _claim(cache: RedisCache, key: str, ttl: float) -> bool:
    try:
        return await cache.claim(key, "1", ttl)
    finally:
        await cache.close()


def test_an_unreachable_redis_is_reported():
    cache = RedisCache("redis://127.0.0.1:1/0", prefix="x:")
    with pytest.raises(CacheUnavailable):
        run(_claim(cache, "k", 1))


def test_redis_is_used_only_when_redis_url_is_set():
    assert isinstance(cache_from_settings(Settings.from_env({})), MemoryCache)
    settings = Settings.from_env(
        {"REDIS_URL": "redis://127.0.0.1:6379/15", "REDIS_KEY_PREFIX": "site-b:"}
    )
    cache = cache_from_settings(settings)
    assert isinstance(cache, RedisCache) and cache.prefix == "site-b:"
    assert Settings.from_env({}).redis_key_prefix == "service-assistant:"
    assert "6379" not in repr(settings)  # the URL may hold the password
    run(cache.close())


# The WeChat channel on the cache.


def test_a_nonce_used_on_one_server_is_refused_on_the_other(two_redis_caches):
    first, second = (ReplayGuard(cache) for cache in two_redis_caches)
    now = time.time()
    stamp = str(int(now))

    async def scenario() -> list[bool]:
        return [
            await first.fresh(stamp, "n-1", now),
            await second.fresh(stamp, "n-1", now),
            await second.fresh(stamp, "n-2", now),
            await first.fresh(str(int(now) - 3600), "n-3", now),  # stale
            await first.fresh("not-a-time", "n-4", now),
            await first.fresh(stamp, "", now),
        ]

    assert run(scenario()) == [True, False, True, False, False, False]


def text_message(openid: str, content: str, msg_id: int) -> Any:
    return parse_message(
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


class FakeAssistant:
    """Answers after `delay` seconds and counts what it was asked."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.asked: list[tuple[str, str]] = []

    async def __call__(self, message: UserMessage) -> None:
        self.asked.append((message.sender_id, message.text or ""))
        await asyncio.sleep(self.delay)
        await message.output_channel.send_text_message(message.sender_id, f"答:{message.text}")


def channel(cache: MemoryCache | RedisCache, **settings: Any) -> WeChatInput:
    return WeChatInput(Settings(wechat_token="t", **settings), cache)


def test_the_same_message_on_two_servers_is_answered_once(new_cache):
    assistant = FakeAssistant(delay=0.3)
    first, second = channel(new_cache()), channel(new_cache())
    message = text_message("o-one", "你好", msg_id=time.time_ns())

    async def scenario() -> list[str | None]:
        replies = await asyncio.gather(
            first._answer(message, "你好", assistant),
            second._answer(message, "你好", assistant),
            second._answer(message, "你好", assistant),
        )
        await asyncio.sleep(0.1)
        await first.cache.close()
        await second.cache.close()
        return list(replies)

    assert run(scenario()) == ["答:你好"] * 3
    assert assistant.asked == [("wx:o-one", "你好")]


def test_different_messages_are_each_answered(two_redis_caches):
    assistant = FakeAssistant(delay=0)
    first, second = (channel(cache) for cache in two_redis_caches)

    async def scenario() -> list[str | None]:
        replies = await asyncio.gather(
            first._answer(text_message("o-a", "一", 1), "一", assistant),
            second._answer(text_message("o-a", "二", 2), "二", assistant),
        )
        await asyncio.sleep(0.05)
        return list(replies)

    assert run(scenario()) == ["答:一", "答:二"]
    assert sorted(assistant.asked) == [("wx:o-a", "一"), ("wx:o-a", "二")]


@pytest.fixture()
def wechat_api() -> Iterator[FakeWeChatApi]:
    api = FakeWeChatApi()
    yield api
    api.server.shutdown()


def test_a_slow_answer_is_pushed_once_whichever_server_gets_the_retries(
    two_redis_caches, wechat_api
):
    assistant = FakeAssistant(delay=0.3)
    settings = {
        "wechat_app_id": "wx1",
        "wechat_app_secret": "s",
        "wechat_api_url": wechat_api.url,
        "wechat_reply_timeout": 0.1,
    }
    first, second = (channel(cache, **settings) for cache in two_redis_caches)
    message = text_message("o-slow", "燃气营业厅在哪", msg_id=time.time_ns())

    async def scenario() -> list[str | None]:
        replies = [await first._answer(message, "燃气营业厅在哪", assistant)]
        replies.append(await second._answer(message, "燃气营业厅在哪", assistant))
        await asyncio.sleep(0.5)  # the answer is ready and pushed by now
        replies.append(await second._answer(message, "燃气营业厅在哪", assistant))
        replies.append(await first._answer(message, "燃气营业厅在哪", assistant))
        await asyncio.sleep(0.2)
        return replies

    assert run(scenario()) == [None, None, None, None]
    assert assistant.asked == [("wx:o-slow", "燃气营业厅在哪")]
    assert wechat_api.sent == [
        {"touser": "o-slow", "msgtype": "text", "text": {"content": "答:燃气营业厅在哪"}}
    ]


def test_a_retry_elsewhere_with_no_time_to_wait_uses_the_stored_answer(
    two_redis_caches, wechat_api
):
    assistant = FakeAssistant(delay=0)
    settings = {"wechat_app_id": "wx1", "wechat_app_secret": "s", "wechat_api_url": wechat_api.url}
    first = channel(two_redis_caches[0], **settings)
    second = channel(two_redis_caches[1], **settings, wechat_reply_timeout=0)
    message = text_message("o-late", "你好", msg_id=time.time_ns())

    async def scenario() -> str | None:
        key = f"wechat:message:{message.id}"
        await first.cache.claim(key + ":owner", "1", 60)
        await first.cache.put(key + ":answer", "答:你好", 60)
        return await second._answer(message, "你好", assistant)

    assert run(scenario()) == "答:你好"
    assert wechat_api.sent == [] and assistant.asked == []


def test_whichever_server_comes_second_pushes_and_only_once(two_redis_caches, wechat_api):
    """A retry decided to push while the first server was storing the answer: both look,
    one of them sends it."""
    settings = {"wechat_app_id": "wx1", "wechat_app_secret": "s", "wechat_api_url": wechat_api.url}
    first, second = (channel(cache, **settings) for cache in two_redis_caches)
    key = f"wechat:message:{time.time_ns()}"

    async def scenario() -> None:
        await first.cache.claim(key + ":delivery", "pushed", 60)  # the retry decided
        await second._push_if_ready(key, "o-race")  # no answer yet: nothing to send
        await first.cache.put(key + ":answer", "答:稍等", 60)  # the first server stores it
        await first._push_if_ready(key, "o-race")
        await second._push_if_ready(key, "o-race")

    run(scenario())
    assert [m["text"]["content"] for m in wechat_api.sent] == ["答:稍等"]


def test_two_servers_share_one_access_token(two_redis_caches, wechat_api):
    settings = Settings(wechat_app_id="wx1", wechat_app_secret="s", wechat_api_url=wechat_api.url)
    first, second = (CustomerService(settings, cache) for cache in two_redis_caches)

    async def scenario() -> None:
        await asyncio.gather(
            first.send_text("o-1", "一"),
            second.send_text("o-2", "二"),
            first.send_text("o-3", "三"),
        )
        await second.send_text("o-4", "四")

    run(scenario())
    assert sorted(message["touser"] for message in wechat_api.sent) == ["o-1", "o-2", "o-3", "o-4"]
    assert wechat_api.token_requests == 1


def test_a_refused_token_is_renewed_once_and_a_newer_one_reused():
    cache = MemoryCache()
    issued: list[str] = []

    async def scenario() -> list[str]:
        import httpx

        def handler(request: httpx.Request) -> httpx.Response:
            issued.append(f"token-{len(issued) + 1}")
            return httpx.Response(200, json={"access_token": issued[-1], "expires_in": 7200})

        service = CustomerService(Settings(wechat_app_id="wx1"), cache)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            tokens = [await service._access_token(client)]
            tokens.append(await service._access_token(client))  # cached
            tokens.append(await service._access_token(client, refused="token-1"))  # renewed
            tokens.append(await service._access_token(client, refused="token-1"))  # newer kept
        return tokens

    assert run(scenario()) == ["token-1", "token-1", "token-2", "token-2"]
    assert issued == ["token-1", "token-2"]
