"""A supervisor labels unplaced messages in the review inbox in headless Chromium, and the
export writes them as Rasa NLU data."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import insert

from bot.analytics.service import EVENTS
from bot.infra.db import create_engine
from bot.infra.settings import PROJECT_ROOT
from bot.review.export import NLU_FILE, export
from tests.browser.test_review_desk import sign_in, submit
from tests.unit.test_analytics import TODAY, Conversation

pytestmark = pytest.mark.browser


def test_a_supervisor_labels_a_message_and_the_export_has_it(browser, desk, tmp_path):
    tracker = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    EVENTS.metadata.create_all(tracker)
    talk = (
        Conversation("tg:42", "telegram", TODAY + timedelta(hours=9))
        .user("nlu_fallback", "燃气表转得飞快咋回事,我电话13912345678")
        .action("action_default_ask_affirmation")
        .bot(0.5)
        .user("out_of_scope", "/out_of_scope")
    )
    with tracker.begin() as connection:
        connection.execute(insert(EVENTS), talk.rows)
    tracker.dispose()

    sign_in(browser, desk)
    browser.get(f"{desk.url}/review")
    assert "13912345678" not in browser.page_source
    row = browser.find_element(By.CSS_SELECTOR, "tr[id^=item-]")
    assert "燃气表转得飞快咋回事" in row.text
    Select(row.find_element(By.NAME, "intent")).select_by_value("report_meter_fault")
    submit(browser, "tr[id^=item-] button[type=submit]")
    assert "已标注" in browser.find_element(By.ID, "flash").text
    assert "report_meter_fault" in browser.find_element(By.ID, "labelled").text

    shutil.copytree(PROJECT_ROOT / "data" / "nlu", tmp_path / "data" / "nlu")
    (tmp_path / "tests" / "data").mkdir(parents=True)
    report = export(root=tmp_path, engine=desk.engine)
    written = (tmp_path / NLU_FILE).read_text(encoding="utf-8")
    assert report.examples == 1
    assert "- intent: report_meter_fault" in written
    assert "燃气表转得飞快咋回事,我电话1234567" in written
    assert "13912345678" not in written
