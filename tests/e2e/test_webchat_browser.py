"""The web chat page in headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium) against the running assistant: type a message, see the answer, press a button.
Without chromium the test skips (CI, with REQUIRE_SERVICES=1, fails; `.ci/run` installs it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture()
def chrome(tmp_path) -> Iterator[Any]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        message = "Debian's chromium and chromium-driver are not installed"
        if os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

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
        "--window-size=420,860",  # a phone-sized window
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


def bubbles(browser: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [element.text for element in browser.find_elements(By.CSS_SELECTOR, ".bubble")]


def wait_for_text(browser: Any, text: str, timeout: float = 60) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout).until(lambda b: any(text in t for t in bubbles(b)))


def test_a_visitor_chats_in_the_browser(chrome, assistant):
    from selenium.webdriver.common.by import By

    chrome.get(f"{assistant.servers.rasa_url}/webhooks/webchat/")
    wait_for_text(chrome, "您好")  # the page greets on opening
    field = chrome.find_element(By.ID, "text")
    field.send_keys("燃气费怎么交")
    chrome.find_element(By.ID, "send").click()
    wait_for_text(chrome, "生活缴费")
    # What the visitor types is shown as text, never run as markup.
    field.send_keys('<img src="x" onerror="document.title=1">')
    chrome.find_element(By.ID, "send").click()
    wait_for_text(chrome, '<img src="x" onerror="document.title=1">')
    assert chrome.find_elements(By.CSS_SELECTOR, "#log img") == []
    buttons = chrome.find_elements(By.CSS_SELECTOR, ".buttons button")
    gas = next(button for button in buttons if button.text == "燃气缴费与账单")
    gas.click()
    wait_for_text(chrome, "户号")
