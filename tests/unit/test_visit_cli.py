"""`python -m bot visits ...` and the nurse invite, as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime

import pytest
from sqlalchemy import select

from bot.infra.db import create_engine, session_scope
from bot.infra.settings import PROJECT_ROOT
from bot.models import Community, HalfDay, Nurse
from bot.visits.booking import PatientDetails, request_infusion
from bot.visits.drugs import default_catalogue
from bot.visits.eligibility import (
    DrugSource,
    Health,
    InfusionRequest,
    PatientCondition,
    check_infusion_eligibility,
)

FROZEN_NOW = "2026-11-25T15:45:00+08:00"


@pytest.fixture()
def bot_cli(database_url):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(PROJECT_ROOT),
        "FROZEN_NOW": FROZEN_NOW,
    }

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    run("db", "upgrade")
    run("db", "seed", "--demo")
    return run


def book(database_url: str, drug: str = "生理盐水") -> str:
    request = InfusionRequest(
        condition=PatientCondition.BEDRIDDEN,
        has_doctor_order=True,
        drug_text=drug,
        drug_source=DrugSource.PRESCRIBED_HERE,
        health=Health.NONE,
    )
    engine = create_engine(database_url)
    with session_scope(engine) as session:
        kangning = session.scalars(select(Community).where(Community.code == "kangning")).one()
        result = request_infusion(
            session=session,
            sender_id="web:family",
            channel="rest",
            patient=PatientDetails("王秀英", "19912345678", "康乐苑2幢301"),
            community=kangning,
            request=request,
            decision=check_infusion_eligibility(request, default_catalogue()),
            day=date(2026, 11, 26),
            half_day=HalfDay.MORNING,
            now=datetime.fromisoformat(FROZEN_NOW),
        )
        assert result.booking is not None
        number = str(result.booking.booking_no)
    engine.dispose()
    return number


def test_staff_list_visits_and_move_a_booking_on(bot_cli, database_url):
    number = book(database_url)
    listed = bot_cli("visits", "list", "--date", "明天").stdout
    assert "2026-11-26: 1 infusion visit(s)" in listed
    assert number in listed and "王秀英" in listed

    assert "consent_recorded" in bot_cli("visits", "consent", number, "--by", "陈静").stdout
    again = bot_cli("visits", "consent", number, check=False)
    assert again.returncode == 1
    assert "cannot do that" in again.stderr
    assert "done" in bot_cli("visits", "done", number).stdout
    assert bot_cli("visits", "cancel", number, check=False).returncode == 1
    assert bot_cli("visits", "consent", "SY20261125-99999", check=False).returncode == 1


def test_a_request_for_review_is_approved_from_the_command_line(bot_cli, database_url):
    number = book(database_url, drug="某某特效针")
    assert number in bot_cli("visits", "pending").stdout
    assert "awaiting_consent" in bot_cli("visits", "approve", number).stdout
    assert "0 request(s)" in bot_cli("visits", "pending").stdout


def test_a_nurse_invite_links_the_nurse(bot_cli, database_url):
    out = bot_cli(
        "staff", "invite", "--name", "陈静", "--role", "nurse", "--nurse-phone", "19900003101"
    ).stdout
    assert "one-time code" in out
    engine = create_engine(database_url)
    with session_scope(engine) as session:
        nurse = session.scalars(select(Nurse).where(Nurse.phone == "19900003101")).one()
        assert nurse.invite_id is not None
    engine.dispose()
    missing = bot_cli(
        "staff", "invite", "--name", "X", "--role", "nurse", "--nurse-phone", "1", check=False
    )
    assert missing.returncode == 1


def test_hotline_calls_and_follow_ups(bot_cli):
    logged = bot_cli("visits", "hotline", "咨询助餐", "--phone", "19900004001").stdout
    assert "linked to the client on file" in logged
    assert "follow-up visit(s) in the next 14 days" in bot_cli("visits", "follow-ups").stdout


def test_every_person_served_keeps_a_quarterly_recheck_from_the_command_line(bot_cli):
    first = bot_cli("visits", "care-schedule").stdout
    assert "10 person(s) served" in first and "(10 added)" in first
    assert "(0 added)" in bot_cli("visits", "care-schedule").stdout
    listed = bot_cli("visits", "follow-ups", "--days", "120").stdout
    line = next(row for row in listed.splitlines() if "季度核实回访" in row and "YL0002" in row)
    visit_id = line.split("#")[1].split()[0]
    done = bot_cli("visits", "care-done", visit_id, "--by", "陈静", "--note", "情况稳定").stdout
    assert "done; next re-check" in done
    assert bot_cli("visits", "care-done", visit_id, check=False).returncode == 1
    ended = bot_cli("visits", "care-end", "YL0001", "--reason", "搬去子女家").stdout
    assert "YL0001: served until 2026-11-25; 1 later visit(s) cancelled" in ended
    assert "9 person(s) served" in bot_cli("visits", "care-schedule").stdout
    assert bot_cli("visits", "care-end", "YL9999", "--reason", "x", check=False).returncode == 1
