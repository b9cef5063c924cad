"""A person takes over (转人工), against the real Rasa and action servers: the customer is
queued with a place and a wait and the assistant falls silent (ConversationPaused); what
they write reaches the person's record; the desk's replies reach Telegram and WeChat (the
local fake APIs); handing back resumes the assistant through Rasa's HTTP API; going back
to the assistant mid-queue; a message left out of hours; WeChat voice messages."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from wechatpy import parse_message

from bot.handoff import service
from bot.handoff.rasa_api import resume_conversation
from bot.infra import clock
from bot.infra.db import create_engine
from bot.infra.settings import Settings, get_settings
from bot.notify import Delivery, deliver
from tests.e2e.conftest import FROZEN_NOW, WECHAT_ENV, Assistant, running_assistant, texts
from tests.e2e.fake_telegram import FakeTelegram
from tests.e2e.fake_wechat import FakeWeChatApi
from tests.e2e.test_wechat import post_plain, text_xml

pytestmark = pytest.mark.e2e


@dataclass
class Desk:
    """What the desk does, called as the desk calls it (bot/handoff/service.py)."""

    assistant: Assistant
    engine: Engine
    settings: Settings
    telegram: FakeTelegram
    wechat: FakeWeChatApi

    def send(self, sender_id: str, text: str) -> Delivery:
        return deliver(sender_id, text, self.settings)

    def resume(self, sender_id: str) -> bool:
        return resume_conversation(sender_id, self.settings)

    def conversation_of(self, sender_id: str) -> service.HandoffSummary:
        rows = [
            row
            for row in service.list_open(now=clock.now(), engine=self.engine)
            if row.sender_id == sender_id
        ]
        assert rows, f"{sender_id} is not with a person"
        return rows[0]

    def claim(self, sender_id: str) -> int:
        conversation = self.conversation_of(sender_id).id
        outcome = service.claim(
            conversation_id=conversation,
            agent="li",
            agent_name="李客服",
            now=clock.now(),
            deliver=self.send,
            engine=self.engine,
        )
        assert outcome is service.ClaimOutcome.CLAIMED
        return conversation

    def reply(self, conversation: int, text: str) -> service.SentMessage:
        return service.reply(
            conversation_id=conversation,
            agent="li",
            agent_name="李客服",
            text=text,
            now=clock.now(),
            deliver=self.send,
            engine=self.engine,
        )

    def close(self, conversation: int) -> None:
        assert service.close(
            conversation_id=conversation,
            actor="li",
            actor_name="李客服",
            now=clock.now(),
            deliver=self.send,
            resume=self.resume,
            engine=self.engine,
        )

    def said_by_customer(self, conversation: int) -> list[str]:
        detail = service.handoff_detail(
            conversation_id=conversation, now=clock.now(), engine=self.engine
        )
        assert detail is not None
        return [entry.text for entry in detail.entries if entry.kind == "customer"]


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[Desk]:
    telegram, wechat = FakeTelegram(), FakeWeChatApi()
    env = {"WECHAT_API_URL": wechat.url}
    with (
        running_assistant(tmp_path_factory.mktemp("handoff"), env) as assistant,
        pytest.MonkeyPatch.context() as patch,
    ):
        # The desk's clock is the servers' (queue times, idle time).
        patch.setenv("FROZEN_NOW", FROZEN_NOW)
        settings = replace(
            get_settings(),
            database_url=assistant.database_url,
            rasa_server_url=assistant.servers.rasa_url,
            rasa_jwt_secret=assistant.servers.jwt_secret,
            telegram_bot_token="123:TEST",
            telegram_api_url=telegram.url,
            wechat_app_id=WECHAT_ENV["WECHAT_APP_ID"],
            wechat_app_secret=WECHAT_ENV["WECHAT_APP_SECRET"],
            wechat_api_url=wechat.url,
            redis_url=None,
        )
        engine = create_engine(assistant.database_url)
        try:
            yield Desk(assistant, engine, settings, telegram, wechat)
        finally:
            engine.dispose()
            telegram.close()
            wechat.server.shutdown()


def events_of(desk: Desk, sender: str) -> list[str]:
    return [event["event"] for event in desk.assistant.tracker(sender)["events"]]


def test_a_telegram_customer_is_answered_by_a_person_and_handed_back(desk):
    assistant = desk.assistant
    sender = f"tg:{uuid.uuid4().int % 10**9}"
    assistant.say("燃气费怎么交", sender)  # a question, then a person (not in a form)
    queued = texts(assistant.say("我不想跟机器聊了 转人工", sender))
    assert "前面还有 0 位" in queued and "预计等待约" in queued
    assert "0571-5555-0" in queued  # the department's phone, should they prefer to call
    assert "pause" in events_of(desk, sender)

    # The assistant is silent; what the customer writes goes to the person.
    assert assistant.say("在吗 我等着呢", sender) == []
    conversation = desk.claim(sender)
    assert "在吗 我等着呢" in desk.said_by_customer(conversation)
    chat_id = int(sender.partition(":")[2])
    greeting = desk.telegram.wait_for("sendMessage", 1)[-1]
    assert int(greeting["chat_id"]) == chat_id and "李客服" in greeting["text"]

    sent = desk.reply(conversation, "您好，燃气按阶梯价计费，<b>第一档</b> 2.61 元")
    assert sent.delivery == "sent"
    answer = desk.telegram.wait_for("sendMessage", 2)[-1]
    assert answer["text"] == "【李客服】您好，燃气按阶梯价计费，<b>第一档</b> 2.61 元"
    assert "parse_mode" not in answer  # plain text: no markup is interpreted

    desk.close(conversation)
    assert "转回智能助手" in desk.telegram.wait_for("sendMessage", 3)[-1]["text"]
    assert events_of(desk, sender)[-2:] == ["resume", "action"]  # resumed, listening
    assert "生活缴费" in texts(assistant.say("燃气费怎么交", sender))  # the assistant is back


def test_a_wechat_customer_gets_the_persons_replies_and_a_closed_window_is_shown(desk):
    url = desk.assistant.servers.rasa_url
    openid = f"o{uuid.uuid4().hex[:12]}"
    status, body = post_plain(url, text_xml(openid, "转人工"))
    assert status == 200 and "前面还有" in parse_message(body).content
    status, body = post_plain(url, text_xml(openid, "我的燃气表不走了"))
    assert (status, body) == (200, "success")  # silent: no passive reply, no "unavailable"

    conversation = desk.claim(f"wx:{openid}")
    assert "我的燃气表不走了" in desk.said_by_customer(conversation)
    desk.reply(conversation, "请问表号是多少？")
    sent = [m for m in desk.wechat.sent if m["touser"] == openid]
    assert sent[-1]["text"]["content"] == "【李客服】请问表号是多少？"

    desk.wechat.refuse_with = 45015  # the customer has not written within 48 hours
    try:
        refused = desk.reply(conversation, "您还在吗？")
    finally:
        desk.wechat.refuse_with = 0
    assert refused.delivery == "failed" and "45015" in refused.detail
    assert "45015" in desk.conversation_of(f"wx:{openid}").channel_problem
    desk.close(conversation)


def test_a_customer_can_leave_the_queue_and_go_back_to_the_assistant(desk):
    assistant = desk.assistant
    sender = f"web:test-{uuid.uuid4().hex[:12]}"
    assert "前面还有" in texts(assistant.say("找客服", sender))
    back = texts(assistant.say("返回助手", sender))
    assert "已为您转回智能助手" in back
    assert all(
        row.sender_id != sender for row in service.list_open(now=clock.now(), engine=desk.engine)
    )
    assert "生活缴费" in texts(assistant.say("燃气费怎么交", sender))


def test_two_misses_in_a_row_bring_a_person(desk):
    from tests.e2e.test_nlu_conversations import _an_unsure_message

    assistant = desk.assistant
    message, _ = _an_unsure_message(assistant)
    sender = f"web:test-{uuid.uuid4().hex[:12]}"
    assert "不太确定" in texts(assistant.say(message, sender))
    handed = texts(assistant.say(message, sender))
    assert "没能理解" in handed and "前面还有" in handed
    assert desk.conversation_of(sender).reason == "fallback"
    assert "转回智能助手" in texts(assistant.say("返回助手", sender))


def test_a_wechat_voice_message_is_read_from_its_recognition(desk):
    url = desk.assistant.servers.rasa_url
    openid = f"o{uuid.uuid4().hex[:12]}"

    def voice(recognition: str) -> str:
        return (
            f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>1764000000</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
            f"<MediaId><![CDATA[media]]></MediaId><Format><![CDATA[amr]]></Format>"
            f"<Recognition><![CDATA[{recognition}]]></Recognition>"
            f"<MsgId>{uuid.uuid4().int % 10**15}</MsgId></xml>"
        )

    status, body = post_plain(url, voice("燃气费怎么交"))
    assert status == 200 and "生活缴费" in parse_message(body).content
    status, body = post_plain(url, voice(""))  # speech recognition switched off
    assert status == 200 and "文字" in parse_message(body).content


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> Iterator[Any]:
    env = {"FROZEN_NOW": "2026-11-25T22:00:00+08:00"}
    with running_assistant(tmp_path_factory.mktemp("handoff-night"), env) as assistant:
        yield assistant


def test_outside_staffed_hours_the_customer_leaves_a_message(night):
    sender = f"web:test-{uuid.uuid4().hex[:12]}"
    told = texts(night.say("我要跟人说", sender))
    assert "留言编号：LY20261125-" in told and "11月26日 11:00" in told
    assert "已收到您的留言" in texts(night.say("燃气表走得特别快，请明天给我回电话", sender))
    assert night.say("电话 139 0000 0000", sender) == []
    assert "已为您转回智能助手" in texts(night.say("返回助手", sender))
    engine = create_engine(night.database_url)
    try:
        waiting = service.inbox(department="", agent="li", now=clock.now(), engine=engine)
    finally:
        engine.dispose()
    message = next(row for row in waiting.messages if row.sender_id == sender)
    assert message.reference.startswith("LY") and not message.silent
    assert "生活缴费" in texts(night.say("燃气费怎么交", sender))


# --- The browser test: a customer on the web chat page and an agent on the desk, each in a
# headless Chromium of their own (Debian's chromium and chromium-driver).

AGENT_PASSWORD = "handoff browser test password"


def _chrome(tmp_path: Any, name: str, size: str) -> Any:
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        message = "Debian's chromium and chromium-driver are not installed"
        if os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--window-size={size}",
        f"--user-data-dir={tmp_path / name}",
    ):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    browser.set_page_load_timeout(30)
    return browser


@pytest.fixture()
def desk_server(desk, tmp_path) -> Iterator[str]:
    """The desk (bot/admin) on a free port in this process, on the assistant's databases."""
    import threading
    import time

    import uvicorn

    from bot.admin.app import create_app
    from bot.admin.auth import create_user
    from bot.infra.db import session_scope
    from bot.ops.bench import free_port

    workdir = desk.assistant.log_dir.parent if desk.assistant.log_dir else tmp_path
    with session_scope(desk.engine) as session:
        create_user(
            session=session,
            username="li",
            password=AGENT_PASSWORD,
            display_name="李客服",
            department="service",
        )
    settings = replace(
        desk.settings,
        admin_secret_key="handoff-browser-secret",
        tracker_database_url=f"sqlite:///{workdir / 'tracker.db'}",
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings=settings, engine=desk.engine, notify=desk.send, resume=desk.resume),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="none",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the desk did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_in_two_browsers_a_person_takes_over_the_web_chat_and_hands_back(
    desk, desk_server, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def bubbles(browser: Any) -> list[str]:
        return [element.text for element in browser.find_elements(By.CSS_SELECTOR, ".bubble")]

    def wait_for_text(browser: Any, text: str, timeout: float = 60) -> None:
        WebDriverWait(browser, timeout).until(lambda b: any(text in t for t in bubbles(b)))

    def say(browser: Any, text: str) -> None:
        browser.find_element(By.ID, "text").send_keys(text)
        browser.find_element(By.ID, "send").click()

    customer = _chrome(tmp_path, "customer", "420,860")
    agent = _chrome(tmp_path, "agent", "1280,900")
    try:
        customer.get(f"{desk.assistant.servers.rasa_url}/webhooks/webchat/")
        wait_for_text(customer, "您好")
        say(customer, "转人工")
        wait_for_text(customer, "前面还有")

        waiting = [
            row
            for row in service.list_open(now=clock.now(), engine=desk.engine)
            if row.channel == "web" and row.status == "queued"
        ]
        conversation = waiting[-1].id
        agent.get(f"{desk_server}/handoff")
        agent.find_element(By.ID, "username").send_keys("li")
        agent.find_element(By.ID, "password").send_keys(AGENT_PASSWORD)
        agent.find_element(By.ID, "login").click()
        WebDriverWait(agent, 30).until(lambda b: b.find_elements(By.ID, "waiting"))
        assert f"/handoff/{conversation}" in agent.page_source  # in the queue, oldest first
        agent.get(f"{desk_server}/handoff/{conversation}")
        agent.find_element(By.ID, "claim").click()
        # The customer is greeted by name over the push connection (server-sent events).
        wait_for_text(customer, "李客服")

        markup = '<img src="x" onerror="document.title=1">请稍等'
        WebDriverWait(agent, 30).until(lambda b: b.find_elements(By.ID, "reply-text"))
        agent.find_element(By.ID, "reply-text").send_keys(markup)
        agent.find_element(By.ID, "send-reply").click()
        wait_for_text(customer, markup)  # shown as text, never run
        assert customer.find_elements(By.CSS_SELECTOR, "#log img") == []

        say(customer, "好的，谢谢，我等着")
        agent.find_element(By.ID, "refresh").click()
        WebDriverWait(agent, 30).until(
            lambda b: "好的，谢谢，我等着" in b.find_element(By.ID, "handoff-entries").text
        )
        assert "系统暂时无法回答" not in "\n".join(bubbles(customer))  # silence is no error

        agent.find_element(By.ID, "close").click()
        wait_for_text(customer, "转回智能助手")
        say(customer, "燃气费怎么交")
        wait_for_text(customer, "生活缴费")  # the assistant answers again
    finally:
        customer.quit()
        agent.quit()


def test_asking_for_a_person_mid_form_pauses_the_form_and_a_person_takes_over(desk):
    assistant = desk.assistant
    sender = f"tg:{uuid.uuid4().int % 10**9}"
    assistant.say("孩子明天不参加课后看护", sender)
    assistant.say("2024010102", sender)
    assert "原因" in texts(assistant.say("1003", sender))
    queued = texts(assistant.say("转人工", sender))
    assert "刚才的请假还没有提交" in queued
    assert "前面还有" in queued or "留言" in queued
    tracker = assistant.tracker(sender)
    assert "pause" in [event["event"] for event in tracker["events"]]
    assert not (tracker.get("active_loop") or {}).get("name")  # the form has ended
    assert assistant.say("在吗", sender) == []  # silent: the person has the chat
    desk.close(desk.claim(sender))
    resumed = texts(assistant.say("接着请假", sender))
    assert "原因" in resumed and "学号" not in resumed  # the form goes on where it was
