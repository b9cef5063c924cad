"""Attacks 8 and 9: escape sequences and bidi overrides sent by a customer reach a staff
terminal through `visits list`; data files and keys readable by every local user."""

from __future__ import annotations

import stat
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.cli import main as cli_main
from bot.infra.db import create_engine, session_scope
from bot.infra.keys import local_secret, private_database_file
from bot.infra.text_safety import clean_text, terminal_safe
from bot.models import (
    BookingState,
    Community,
    Complaint,
    HalfDay,
    HomeVisitBooking,
    Nurse,
    Patient,
)
from tests.security.conftest import FROZEN_NOW

NOW = datetime.fromisoformat(FROZEN_NOW)
TOMORROW = date(2026, 11, 26)
# Clear the screen, write the clipboard (OSC 52), ring the bell, reverse the text.
HOSTILE_NAME = "\x1b[2J\x1b]52;c;ZXZpbA==\x07王\u202e秀英\u2066\x9b31m"
HOSTILE_ADDRESS = "康宁路\r\n1号\x1b[8m隐藏\u200b"
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u200b", "\r")


def book(session, name: str, address: str) -> None:
    community = session.scalars(select(Community).where(Community.code == "kangning")).one()
    nurse = session.scalars(select(Nurse).where(Nurse.team_id == community.team_id)).first()
    patient = Patient(name=name, phone="13700001234", address=address, community_id=community.id)
    session.add(patient)
    session.flush()
    session.add(
        HomeVisitBooking(
            booking_no=f"SY20261125-{patient.id:05d}",
            patient_id=patient.id,
            sender_id="web:attacker",
            community_id=community.id,
            nurse_id=nurse.id if nurse else None,
            visit_date=TOMORROW,
            half_day=HalfDay.MORNING,
            condition="bedridden",
            has_doctor_order=True,
            drug_text="生理盐水\x1b[31m",
            drug_source="centre",
            outcome="eligible",
            state=BookingState.AWAITING_CONSENT,
        )
    )


def test_control_and_bidi_characters_are_never_stored(demo):
    with session_scope(demo.engine) as session:
        book(session, HOSTILE_NAME, HOSTILE_ADDRESS)
        session.add(
            Complaint(
                ticket_no="TS20261125-11111",
                sender_id="web:attacker",
                department="gas",
                category="attitude",
                description="第一行\x1b[2J\n第二行\u202e",
                created_at=NOW,
                updated_at=NOW,
                due_at=NOW,
            )
        )
    with session_scope(demo.engine) as session:
        patient = session.scalars(select(Patient)).one()
        complaint = session.scalars(
            select(Complaint).where(Complaint.ticket_no == "TS20261125-11111")
        ).one()
        stored = [patient.name, patient.address, complaint.description]
    assert stored[0] == "[2J]52;c;ZXZpbA==王秀英31m"
    assert stored[1] == "康宁路 1号[8m隐藏"
    assert stored[2] == "第一行[2J\n第二行"  # free text keeps its line breaks
    for value in stored:
        assert not any(ch in value for ch in FORBIDDEN), repr(value)


def test_rows_stored_before_never_reach_the_terminal_raw(demo, capfd):
    with session_scope(demo.engine) as session:
        book(session, "placeholder", "placeholder")
    # Written around the ORM, as rows from before this fix or another tool would be.
    with demo.engine.begin() as connection:
        connection.execute(
            text("UPDATE patient SET name = :name, address = :address"),
            {"name": HOSTILE_NAME, "address": HOSTILE_ADDRESS},
        )
    assert cli_main(["visits", "list", "--date", TOMORROW.isoformat()]) == 0
    out, err = capfd.readouterr()
    assert "王" in out and "秀英" in out
    for ch in FORBIDDEN:
        assert ch not in out and ch not in err, repr(ch)


@pytest.mark.parametrize(
    ("raw", "one_line", "free_text"),
    [
        ("张三", "张三", "张三"),
        ("a\tb\nc", "a b c", "a\tb\nc"),
        ("家👨\u200d👩\u200d👧", "家👨\u200d👩\u200d👧", "家👨\u200d👩\u200d👧"),
        ("\u202eexe.txt", "exe.txt", "exe.txt"),
        ("\x00\x7f\x85x", "  x"[1:], "\nx"),
    ],
)
def test_cleaning_keeps_text_and_joiners(raw, one_line, free_text):
    assert clean_text(raw) == one_line
    assert clean_text(raw, multiline=True) == free_text
    assert "\x1b" not in terminal_safe("\x1b[2Jok") and terminal_safe("a\nb") == "a\nb"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_files_and_keys_are_for_their_owner_only(tmp_path):
    database = tmp_path / "var" / "service.db"
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    assert mode(database) == 0o600 and mode(database.parent) == 0o700
    legacy = tmp_path / "old.db"
    legacy.write_bytes(b"")
    legacy.chmod(0o644)
    private_database_file(legacy)
    assert mode(legacy) == 0o600
    key = tmp_path / "keys" / "secret"
    value = local_secret(key)
    assert len(value) >= 32 and local_secret(key) == value
    assert mode(key) == 0o600 and mode(key.parent) == 0o700


def test_the_tracker_store_file_is_for_its_owner_only(tmp_path):
    from rasa.shared.core.domain import Domain

    from bot.infra.tracker_store import ThreadedSQLTrackerStore

    path = tmp_path / "tracker.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    store = ThreadedSQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    store.engine.dispose()
    assert mode(path) == 0o600
