"""Backups and restores on SQLite and PostgreSQL: backup, write more, restore, and the data
is what it was at the backup; files private; a non-empty database needs --yes."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import sys
import threading
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine, make_url

from bot.infra.db import create_engine, session_scope
from bot.infra.migrate import upgrade
from bot.infra.settings import PROJECT_ROOT
from bot.models import BindingAttempt, DashboardLoginAttempt
from bot.ops.backup import BackupError, backup_all, backup_database, is_empty, restore_database

NOW = datetime(2026, 11, 25, 7, 45, tzinfo=timezone.utc)


def add_attempts(engine: Engine, senders: list[str]) -> None:
    with session_scope(engine) as session:
        for sender in senders:
            session.add(BindingAttempt(sender_id=sender, kind="gas", succeeded=False))


def senders(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(
            session.scalars(select(BindingAttempt.sender_id).order_by(BindingAttempt.sender_id))
        )


def test_restore_brings_back_the_moment_of_the_backup(engine, database_url, tmp_path):
    add_attempts(engine, ["web:a", "web:b"])
    (backup,) = backup_all(database_url=database_url, tracker_url=None, folder=tmp_path, now=NOW)
    assert re.fullmatch(r"service-20261125T074500Z\.(sqlite3|dump)", backup.path.name)
    assert stat.S_IMODE(backup.path.stat().st_mode) == 0o600

    add_attempts(engine, ["web:c"])
    with session_scope(engine) as session:
        session.execute(
            BindingAttempt.__table__.update()
            .where(BindingAttempt.sender_id == "web:a")
            .values(sender_id="web:changed")
        )
    assert senders(engine) == ["web:b", "web:c", "web:changed"]

    with pytest.raises(BackupError, match="not empty"):
        restore_database(backup.path, url=database_url)
    assert senders(engine) == ["web:b", "web:c", "web:changed"]

    engine.dispose()  # the application's connections would be stopped for a restore
    restore_database(backup.path, url=database_url, overwrite=True)
    assert senders(engine) == ["web:a", "web:b"]
    add_attempts(engine, ["web:after"])  # the restored database works as before
    assert senders(engine) == ["web:a", "web:after", "web:b"]


def test_a_second_backup_in_the_same_second_gets_its_own_name(sqlite_url, tmp_path):
    upgrade(sqlite_url)
    first = backup_database(sqlite_url, role="service", folder=tmp_path / "b", now=NOW)
    second = backup_database(sqlite_url, role="service", folder=tmp_path / "b", now=NOW)
    assert first.path != second.path
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o700


def test_an_empty_database_is_restored_without_asking(sqlite_url, tmp_path):
    upgrade(sqlite_url)
    engine = create_engine(sqlite_url)
    add_attempts(engine, ["web:a"])
    engine.dispose()
    backup = backup_database(sqlite_url, role="service", folder=tmp_path / "b", now=NOW)
    target = f"sqlite:///{tmp_path / 'new' / 'service.db'}"
    assert is_empty(target)
    restore_database(backup.path, url=target)
    restored = create_engine(target)
    assert senders(restored) == ["web:a"]
    restored.dispose()


def test_a_postgres_backup_restores_into_an_empty_database(postgres_url, postgres_server, tmp_path):
    upgrade(postgres_url)
    engine = create_engine(postgres_url)
    add_attempts(engine, ["web:a"])
    engine.dispose()
    backup = backup_database(postgres_url, role="service", folder=tmp_path, now=NOW)
    assert backup.path.suffix == ".dump"
    assert backup.path.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    with pytest.raises(BackupError, match="not a sqlite backup"):
        restore_database(backup.path, url=f"sqlite:///{tmp_path / 'x.db'}")

    name = f"svc_restore_{uuid.uuid4().hex[:10]}"
    autocommit = postgres_server.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    target = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        assert is_empty(target)
        restore_database(backup.path, url=target)
        restored = create_engine(target)
        assert senders(restored) == ["web:a"]
        restored.dispose()
    finally:
        with autocommit.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_the_backup_is_consistent_while_the_app_writes(sqlite_url, tmp_path):
    """Each write adds one row to two tables in one transaction; every backup taken
    meanwhile has as many rows in one as in the other."""
    upgrade(sqlite_url)
    engine = create_engine(sqlite_url)
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            with session_scope(engine) as session:
                session.add(BindingAttempt(sender_id=f"web:{n}", kind="gas", succeeded=True))
                session.add(DashboardLoginAttempt(username=f"u{n}", succeeded=True))
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        backups = [
            backup_database(sqlite_url, role="service", folder=tmp_path / "b", now=NOW)
            for _ in range(5)
        ]
    finally:
        stop.set()
        writer.join()
        engine.dispose()
    sizes = []
    for backup in backups:
        with sqlite3.connect(backup.path) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            attempts = copy.execute("SELECT COUNT(*) FROM binding_attempt").fetchone()[0]
            logins = copy.execute("SELECT COUNT(*) FROM dashboard_login_attempt").fetchone()[0]
        assert attempts == logins
        sizes.append(attempts)
    assert sizes[-1] > 0


def test_without_pg_dump_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match=r"pg_dump was not found.*postgresql-client"):
        backup_database(
            "postgresql://postgres@127.0.0.1:5432/none", role="service", folder=tmp_path, now=NOW
        )
    assert list(tmp_path.glob("service-*")) == []  # no empty file left behind


def test_a_separate_tracker_store_is_backed_up_too(sqlite_url, tmp_path):
    upgrade(sqlite_url)
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    assert [
        b.role
        for b in backup_all(
            database_url=sqlite_url, tracker_url=tracker_url, folder=tmp_path / "b", now=NOW
        )
    ] == ["service"]  # Rasa has not created it yet
    with sqlite3.connect(tmp_path / "tracker.db") as tracker:
        tracker.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT)")
    files = backup_all(
        database_url=sqlite_url, tracker_url=tracker_url, folder=tmp_path / "c", now=NOW
    )
    assert [(b.role, b.path.name.split("-")[0]) for b in files] == [
        ("service", "service"),
        ("tracker", "tracker"),
    ]
    assert [
        b.role
        for b in backup_all(
            database_url=sqlite_url, tracker_url=sqlite_url, folder=tmp_path / "d", now=NOW
        )
    ] == ["service"]


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_commands_back_up_and_restore(database_url, tmp_path):
    upgrade(database_url)
    engine = create_engine(database_url)
    add_attempts(engine, ["web:a"])
    env = {
        "DATABASE_URL": database_url,
        "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'no-tracker.db'}",
    }
    made = run_cli("backup", "--output", str(tmp_path / "backups"), env=env)
    assert made.returncode == 0, made.stderr
    (path,) = (tmp_path / "backups").iterdir()
    assert f"service: {path}" in made.stdout

    add_attempts(engine, ["web:b"])
    engine.dispose()
    refused = run_cli("restore", str(path), env=env)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert senders(engine) == ["web:a", "web:b"]
    engine.dispose()
    done = run_cli("restore", str(path), "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert senders(engine) == ["web:a"]
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(BindingAttempt)) == 1
    engine.dispose()
