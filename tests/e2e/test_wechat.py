"""The WeChat channel with real XML and real signatures, plaintext and safe mode (AES),
against the running assistant; slow answers through a local fake customer-service API."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat import sign
from tests.e2e.conftest import WECHAT_ENV, running_assistant
from tests.e2e.fake_wechat import FakeWeChatApi

pytestmark = pytest.mark.e2e
TOKEN = WECHAT_ENV["WECHAT_TOKEN"]
CRYPTO = WeChatCrypto(TOKEN, WECHAT_ENV["WECHAT_ENCODING_AES_KEY"], WECHAT_ENV["WECHAT_APP_ID"])


def text_xml(openid: str, content: str, msg_id: int | None = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id or time.time_ns()}</MsgId></xml>"
    )


def event_xml(openid: str, event: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event></xml>"
    )


def image_xml(openid: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[http://127.0.0.1/x.jpg]]></PicUrl><MediaId><![CDATA[m]]></MediaId>"
        f"<MsgId>{time.time_ns()}</MsgId></xml>"
    )


def call(
    url: str, body: str = "", *, method: str = "POST", query: dict[str, str] | None = None
) -> tuple[int, str]:
    request = urllib.request.Request(
        f"{url}/webhooks/wechat/webhook?{urllib.parse.urlencode(query or {})}",
        data=body.encode("utf-8") if method == "POST" else None,
        headers={"Content-Type": "text/xml"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, ""


def signed(timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    stamp = str(timestamp or int(time.time()))
    nonce = nonce or uuid.uuid4().hex[:10]
    return {"timestamp": stamp, "nonce": nonce, "signature": sign(TOKEN, stamp, nonce)}


def post_plain(url: str, xml: str, query: dict[str, str] | None = None) -> tuple[int, str]:
    return call(url, xml, query=query or signed())


def reply_text(body: str) -> str:
    return str(parse_message(body).content)


def test_the_server_url_handshake(assistant):
    url = assistant.servers.rasa_url
    assert call(url, method="GET", query={**signed(), "echostr": "hello-123"}) == (200, "hello-123")
    forged = {**signed(), "echostr": "x", "signature": "0" * 40}
    assert call(url, method="GET", query=forged)[0] == 403


def test_a_text_message_gets_a_passive_reply(assistant):
    openid = f"o{uuid.uuid4().hex[:12]}"
    status, body = post_plain(assistant.servers.rasa_url, text_xml(openid, "你好"))
    assert status == 200
    reply = parse_message(body)
    assert reply.target == openid and "您好" in reply.content
    assert "您可以回复：燃气缴费与账单" in reply.content


def test_bad_signatures_stale_timestamps_and_replayed_nonces_are_refused(assistant):
    url = assistant.servers.rasa_url
    xml = text_xml("o-attacker", "你好")
    assert post_plain(url, xml, {**signed(), "signature": "f" * 40})[0] == 403
    assert post_plain(url, xml, signed(timestamp=int(time.time()) - 3600))[0] == 403
    query = signed()
    assert post_plain(url, xml, query)[0] == 200
    assert post_plain(url, text_xml("o-attacker", "你好"), query)[0] == 403  # replayed nonce


def test_safe_mode_messages_are_decrypted_and_the_reply_encrypted(assistant):
    openid = f"o{uuid.uuid4().hex[:12]}"
    query = signed()
    envelope = CRYPTO.encrypt_message(
        text_xml(openid, "燃气费怎么交"), query["nonce"], query["timestamp"]
    )
    query = {**query, "encrypt_type": "aes", "msg_signature": _field(envelope, "MsgSignature")}
    status, answer = call(assistant.servers.rasa_url, envelope, query=query)
    assert status == 200 and "生活缴费" not in answer  # the reply is encrypted too
    reply = parse_message(
        CRYPTO.decrypt_message(
            answer,
            _field(answer, "MsgSignature"),
            _field(answer, "TimeStamp"),
            _field(answer, "Nonce"),
        )
    )
    assert reply.target == openid and "生活缴费" in reply.content
    forged = {**signed(), "encrypt_type": "aes", "msg_signature": "0" * 40}
    assert call(assistant.servers.rasa_url, envelope, query=forged)[0] == 403


def _field(xml: str, name: str) -> str:
    return str(xmltodict.parse(xml)["xml"][name])


def tracker_user_messages(assistant, sender: str) -> int:
    events = assistant.servers.api(f"/conversations/{sender}/tracker", timeout=30)["events"]
    return sum(1 for event in events if event["event"] == "user")


def test_the_same_message_three_times_is_answered_once(assistant):
    openid = f"o{uuid.uuid4().hex[:12]}"
    xml = text_xml(openid, "你好", msg_id=time.time_ns())
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: post_plain(assistant.servers.rasa_url, xml), range(3)))
    assert [status for status, _ in results] == [200, 200, 200]
    assert {reply_text(body) for _, body in results} == {reply_text(results[0][1])}
    assert tracker_user_messages(assistant, f"wx:{openid}") == 1


def test_followers_are_welcomed_and_pictures_get_a_polite_reply(assistant):
    url = assistant.servers.rasa_url
    openid = f"o{uuid.uuid4().hex[:12]}"
    assert "您好" in reply_text(post_plain(url, event_xml(openid, "subscribe"))[1])
    assert post_plain(url, event_xml(openid, "unsubscribe")) == (200, "success")
    assert "只能看懂文字消息" in reply_text(post_plain(url, image_xml(openid))[1])


@pytest.fixture(scope="module")
def slow_assistant(tmp_path_factory) -> Iterator[tuple[Any, FakeWeChatApi]]:
    """A second assistant whose channel never waits: every answer is pushed later."""
    api = FakeWeChatApi()
    extra = {"WECHAT_API_URL": api.url, "WECHAT_REPLY_TIMEOUT": "0"}
    with running_assistant(tmp_path_factory.mktemp("slow"), extra) as running:
        yield running, api
    api.server.shutdown()


def test_a_slow_answer_is_sent_through_the_customer_service_api(slow_assistant):
    assistant, api = slow_assistant
    openid = f"o{uuid.uuid4().hex[:12]}"
    xml = text_xml(openid, "燃气营业厅在哪")
    assert post_plain(assistant.servers.rasa_url, xml) == (200, "success")
    deadline = time.monotonic() + 60
    while not api.sent and time.monotonic() < deadline:
        time.sleep(0.2)
    [message] = api.sent
    assert message["touser"] == openid and message["msgtype"] == "text"
    assert "营业厅" in message["text"]["content"]
    # WeChat's retry of the same message is not answered again.
    assert post_plain(assistant.servers.rasa_url, xml) == (200, "success")
    time.sleep(1)
    assert len(api.sent) == 1 and api.token_requests == 1
