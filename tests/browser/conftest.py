"""The review desk in a real browser: Debian's chromium, headless, driven by Selenium.

The dashboard runs in this process under uvicorn on a free port, with its own database
and a local stand-in for the Telegram Bot API (tests/e2e/fake_telegram.py), so that
closing a complaint really sends the complainant a message. Without chromium and
chromedriver the tests skip (CI, with REQUIRE_SERVICES=1, fails instead; `.ci/run`
installs them).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.admin.app import create_app
from bot.admin.auth import DeskRole, create_user
from bot.complaints.catalog import get_catalog
from bot.complaints.filing import ComplaintDraft, file_complaint
from bot.infra.db import create_engine, session_scope
from bot.infra.migrate import upgrade
from bot.infra.settings import Settings
from bot.ops.bench import free_port
from tests.e2e.fake_telegram import FakeTelegram

PASSWORD = "browser test password"
FILED_AT = datetime(2026, 11, 25, 7, 45, tzinfo=timezone.utc)
COMPLAINTS = (
    ("tg:777001", ComplaintDraft("gas", "attitude", "抄表员态度很差,还对我大声嚷嚷")),
    ("web:someone", ComplaintDraft("school", "safety", "孩子自己跑出了校门,没人看着")),
    ("web:other", ComplaintDraft("property", "quality", "电梯坏了一个月没人修")),
)


def _require_services() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


@dataclass
class Desk:
    url: str
    engine: Engine
    downloads: Path
    telegram: FakeTelegram


@pytest.fixture(scope="session")
def chrome_binaries() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        message = (
            "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        )
        if _require_services():
            pytest.fail(message)
        pytest.skip(message)
    return chromium, driver


@pytest.fixture()
def desk(tmp_path) -> Iterator[Desk]:
    import uvicorn

    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    engine = create_engine(url)
    with session_scope(engine) as session:
        create_user(
            session=session,
            username="wang",
            password=PASSWORD,
            display_name="王主管",
            role=DeskRole.SUPERVISOR,
        )
        # A complaint agent: the operators' pages are not for them.
        create_user(session=session, username="zhao", password=PASSWORD, display_name="赵专员")
        for sender, draft in COMPLAINTS:
            file_complaint(
                session=session,
                draft=draft,
                sender_id=sender,
                channel="telegram",
                now=FILED_AT,
                catalog=get_catalog(),
            )
    telegram = FakeTelegram()
    settings = replace(
        Settings(),
        database_url=url,
        admin_secret_key="browser-test-secret",
        telegram_bot_token="123:TEST",
        telegram_api_url=telegram.url,
        tracker_database_url=f"sqlite:///{tmp_path / 'tracker.db'}",
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings=settings, engine=engine),
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
    assert server.started, "the dashboard did not start"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    try:
        yield Desk(
            url=f"http://127.0.0.1:{port}",
            engine=engine,
            downloads=downloads,
            telegram=telegram,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        telegram.close()
        engine.dispose()


@pytest.fixture()
def browser(chrome_binaries, desk: Desk, tmp_path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = chrome_binaries
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
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path / 'chrome-profile'}",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(desk.downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    chrome.set_page_load_timeout(30)
    chrome.implicitly_wait(15)
    try:
        yield chrome
    finally:
        chrome.quit()
