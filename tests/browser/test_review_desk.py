"""A supervisor signs in, filters, opens a complaint, reviews and closes it in headless
Chromium; the complainant is told on Telegram; the CSV export opens in Excel."""

from __future__ import annotations

import time

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from bot.infra.db import session_scope
from bot.models import Complaint, ComplaintNotification, ComplaintState
from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser


def replaced(element: WebElement):
    """A wait condition: `element`'s page has been replaced by the next one.

    Selenium's `staleness_of` expects a StaleElementReferenceException; caught in the
    middle of the navigation, ChromeDriver may instead answer with an inspector error
    saying the node "does not belong to the document", which means the same."""

    def check(_driver: object) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error.msg):
                return True
            raise
        return False

    return check


def submit(browser, selector: str) -> None:
    """Press a button and wait until the next page has replaced this one."""
    button = browser.find_element(By.CSS_SELECTOR, selector)
    button.click()
    WebDriverWait(browser, 15).until(replaced(button))


def sign_in(browser, desk) -> None:
    browser.get(f"{desk.url}/complaints")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "username").send_keys("wang")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    submit(browser, "#login")
    assert browser.find_element(By.ID, "complaints")


def test_a_supervisor_reviews_and_closes_a_complaint(browser, desk):
    sign_in(browser, desk)
    tickets = [link.text for link in browser.find_elements(By.CSS_SELECTOR, "a.ticket")]
    assert len(tickets) == 3

    Select(browser.find_element(By.ID, "f-department")).select_by_value("gas")
    submit(browser, "#apply-filters")
    links = browser.find_elements(By.CSS_SELECTOR, "a.ticket")
    assert len(links) == 1
    ticket = links[0].text
    links[0].click()
    WebDriverWait(browser, 15).until(replaced(links[0]))
    assert browser.find_element(By.ID, "ticket").text == ticket
    assert "抄表员态度很差" in browser.find_element(By.ID, "description").text
    assert not browser.find_element(By.ID, "close-button").is_enabled()

    submit(browser, "#assign-form button")
    assert "已分派" in browser.find_element(By.ID, "flash").text
    browser.find_element(By.ID, "finding-substantiated").click()
    browser.find_element(By.ID, "responsible-input").send_keys("抄表员 张三")
    submit(browser, "#finding-form button")
    assert "已记录调查结论" in browser.find_element(By.ID, "flash").text
    browser.find_element(By.ID, "resolution-input").send_keys("已对抄表员批评教育,并上门致歉")
    submit(browser, "#resolve-form button")
    submit(browser, "#close-button")

    assert "处理结果已发送给投诉人" in browser.find_element(By.ID, "flash").text
    assert browser.find_element(By.ID, "state").text == "已办结"
    assert "已发送" in browser.find_element(By.ID, "notifications").text
    audit = browser.find_element(By.ID, "audit").text
    for step in ("受理", "分派", "调查结论", "处理结果", "办结", "通知投诉人"):
        assert step in audit

    # The complainant was told through the Bot API, and the notification is on record.
    [body] = desk.telegram.sent("sendMessage")
    assert str(body["chat_id"]) == "777001"
    assert ticket in body["text"] and "上门致歉" in body["text"]
    with session_scope(desk.engine) as session:
        complaint = session.scalars(select(Complaint).where(Complaint.ticket_no == ticket)).one()
        assert complaint.state is ComplaintState.CLOSED
        notification = session.scalars(select(ComplaintNotification)).one()
        assert (notification.complaint_id, notification.status) == (complaint.id, "sent")


def test_the_csv_export_downloads_with_a_byte_order_mark(browser, desk):
    sign_in(browser, desk)
    Select(browser.find_element(By.ID, "f-status")).select_by_value("")
    submit(browser, "#apply-filters")
    browser.find_element(By.ID, "export").click()
    deadline = time.monotonic() + 20
    files: list = []
    while time.monotonic() < deadline:
        files = [f for f in desk.downloads.glob("*.csv") if f.stat().st_size > 0]
        if files:
            break
        time.sleep(0.2)
    assert files, "the CSV was not downloaded"
    raw = files[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("受理编号,受理时间,部门,类别,状态")
    assert len(lines) == 4
    assert any("抄表员态度很差" in line for line in lines)


def test_the_list_reads_on_a_phone(browser, desk):
    browser.set_window_size(390, 844)
    sign_in(browser, desk)
    row = browser.find_element(By.CSS_SELECTOR, "table.complaints tbody tr")
    assert row.value_of_css_property("display") == "block"
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400
