"""A supervisor finds a conversation by its filters in headless Chromium and reads its
transcript with personal data masked; a complaint agent is refused the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import insert

from bot.analytics.service import EVENTS
from bot.infra.db import create_engine
from tests.browser.conftest import PASSWORD
from tests.browser.test_review_desk import sign_in, submit
from tests.unit.test_analytics import TODAY, Conversation

pytestmark = pytest.mark.browser

PHONE = "13912345678"
BOOKED = (
    "已为张秀英预约上门输液：12月8日上午，由东湖社区护理组的李护士护士上门。"
    "预约编号 SY20261208-48213，请记好；查询或取消请发送“查询预约 SY20261208-48213”"
    "或“取消预约 SY20261208-48213”。"
)


def _traffic(path) -> None:
    tracker = create_engine(f"sqlite:///{path}")
    EVENTS.metadata.create_all(tracker)
    talks = [
        Conversation("wx:openid-7", "wechat", TODAY + timedelta(hours=9))
        .user("book_home_visit", f"我妈张秀英卧床三年了,想约护士上门输液,电话{PHONE}")
        .slot("visit_patient_name", "张秀英")
        .slot("visit_phone", PHONE)
        .action("infusion_form")
        .loop("infusion_form")
        .bot(1.0, "utter_ask_visit_address", "请问上门地址是?")
        .user("inform", "幸福小区3栋201")
        .slot("visit_address", "幸福小区3栋201")
        .action("infusion_form")
        .loop(None)
        .action("action_submit_infusion")
        .bot(1.0, "utter_visit_booked", BOOKED),
        Conversation("wx:openid-8", "wechat", TODAY + timedelta(hours=10))
        .user("nlu_fallback", "那个啥")
        .bot(0.5),
        Conversation("tg:8001", "telegram", TODAY - timedelta(days=3))
        .user("greet", "你好")
        .bot(0.5),
    ]
    with tracker.begin() as connection:
        connection.execute(insert(EVENTS), [r for talk in talks for r in talk.rows])
    tracker.dispose()


def test_a_supervisor_finds_a_conversation_and_reads_it_masked(browser, desk, tmp_path):
    _traffic(tmp_path / "tracker.db")
    sign_in(browser, desk)
    browser.find_element(By.LINK_TEXT, "会话").click()
    assert "共 3 段会话" in browser.find_element(By.ID, "total").text

    Select(browser.find_element(By.ID, "f-channel")).select_by_value("wechat")
    Select(browser.find_element(By.ID, "f-flow")).select_by_value("infusion_form")
    Select(browser.find_element(By.ID, "f-outcome")).select_by_value("completed")
    day = TODAY.date().isoformat()
    for field in ("f-from", "f-to"):
        # A date input is typed in the browser's locale; its value is the same everywhere.
        browser.execute_script(
            "arguments[0].value = arguments[1]", browser.find_element(By.ID, field), day
        )
    submit(browser, "#apply-filters")
    assert "共 1 段会话" in browser.find_element(By.ID, "total").text
    assert f"from={day}" in browser.current_url and "channel=wechat" in browser.current_url
    rows = browser.find_elements(By.CSS_SELECTOR, "#conversations tbody tr")
    assert len(rows) == 1 and "已办成" in rows[0].text and "上门输液" in rows[0].text

    rows[0].find_element(By.CSS_SELECTOR, "a.conversation").click()
    transcript = browser.find_element(By.ID, "transcript").text
    assert "想约护士上门输液" in transcript
    assert "预约编号 SY20261208-48213" in transcript
    page = browser.page_source
    for private in (PHONE, "张秀英", "幸福小区", "卧床", "openid-7"):
        assert private not in page, private


def test_a_complaint_agent_is_refused_the_conversations(browser, desk, tmp_path):
    _traffic(tmp_path / "tracker.db")
    browser.get(f"{desk.url}/login")
    browser.find_element(By.ID, "username").send_keys("zhao")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    submit(browser, "#login")
    assert browser.find_element(By.ID, "complaints")
    assert not browser.find_elements(By.LINK_TEXT, "会话")
    for path in ("/conversations", "/conversations/1", "/review", "/analytics"):
        browser.get(f"{desk.url}{path}")
        assert browser.find_element(By.ID, "forbidden"), path
        assert "那个啥" not in browser.page_source and "wechat" not in browser.page_source
