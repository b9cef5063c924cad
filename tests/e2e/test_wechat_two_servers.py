"""Two Rasa servers behind one WeChat URL, as behind a load balancer: they share the Redis
cache (REDIS_URL) and the tracker store, so WeChat's retries of one message are handled
once whichever server they reach, and a nonce used on one is refused by the other.

Both servers push every answer (WECHAT_REPLY_TIMEOUT=0) to a local fake WeChat API, so a
message handled twice shows as two pushes (the tracker store would not show it: Rasa's SQL
tracker store keeps only one copy of events saved concurrently)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from tests.e2e.conftest import Assistant, running_assistant
from tests.e2e.fake_wechat import FakeWeChatApi
from tests.e2e.test_wechat import post_plain, signed, text_xml

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def wechat_api() -> Iterator[FakeWeChatApi]:
    api = FakeWeChatApi()
    yield api
    api.server.shutdown()


@pytest.fixture(scope="module")
def two_servers(
    tmp_path_factory, redis_server, wechat_api
) -> Iterator[tuple[Assistant, Assistant]]:
    """Two assistants on one database and tracker store, sharing a Redis key prefix."""
    prefix = f"e2e-{uuid.uuid4().hex[:10]}:"
    env = {
        "REDIS_URL": redis_server,
        "REDIS_KEY_PREFIX": prefix,
        "WECHAT_API_URL": wechat_api.url,
        "WECHAT_REPLY_TIMEOUT": "0",
    }
    shared = tmp_path_factory.mktemp("two-servers")
    with running_assistant(shared, env) as first, running_assistant(shared, env) as second:
        yield first, second
    client = redis.Redis.from_url(redis_server)
    try:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
    finally:
        client.close()


def test_one_message_sent_to_both_servers_is_handled_and_pushed_once(two_servers, wechat_api):
    first, second = two_servers
    openid = f"o{uuid.uuid4().hex[:12]}"
    xml = text_xml(openid, "你好", msg_id=time.time_ns())
    targets = [first, second, first, second]
    with ThreadPoolExecutor(len(targets)) as pool:
        results = list(pool.map(lambda a: post_plain(a.servers.rasa_url, xml), targets))
    assert results == [(200, "success")] * len(targets)
    deadline = time.monotonic() + 60
    while not wechat_api.sent and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # a second push, if there were one, would have come by now
    pushed = [m for m in wechat_api.sent if m["touser"] == openid]
    assert len(pushed) == 1 and "您好" in pushed[0]["text"]["content"]
    # WeChat's later retry, on either server, is not answered or pushed again.
    assert post_plain(second.servers.rasa_url, xml) == (200, "success")
    assert post_plain(first.servers.rasa_url, xml) == (200, "success")
    time.sleep(1)
    assert [m for m in wechat_api.sent if m["touser"] == openid] == pushed
    assert wechat_api.token_requests == 1  # the two servers share the access token


def test_a_nonce_used_on_one_server_is_refused_by_the_other(two_servers):
    first, second = two_servers
    query = signed()
    assert post_plain(first.servers.rasa_url, text_xml("o-replay", "你好"), query)[0] == 200
    assert post_plain(second.servers.rasa_url, text_xml("o-replay", "你好"), query)[0] == 403
