"""Backups of the service database (and Rasa's tracker store when it is a separate
database), and restoring one.

- SQLite: the sqlite3 online backup API copies the database in one step under a read
  lock, so the copy is consistent even while the assistant writes. Files: `*.sqlite3`.
- PostgreSQL: `pg_dump --format=custom` (files: `*.dump`); restored with
  `pg_restore --clean --if-exists --single-transaction`.

Backup files are named `<service|tracker>-<UTC timestamp>.<ext>` and are readable by
their owner only (0600), in a folder only the owner may enter (0700).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from bot.infra.db import create_engine

SQLITE_SUFFIX = ".sqlite3"
POSTGRES_SUFFIX = ".dump"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupFile:
    role: str  # "service" or "tracker"
    path: Path


def _backend(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise BackupError(f"cannot back up a {backend} database (only SQLite and PostgreSQL)")
    return backend


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries it
    (so the password never shows in the process list)."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found on PATH: install the PostgreSQL client tools of the "
            f"server's major version (Debian: apt-get install postgresql-client)"
        )
    return path


def _new_file(folder: Path, role: str, suffix: str, now: datetime) -> Path:
    """Create an empty file, mode 0600, named after `role` and the UTC time."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1, 1000):
        name = f"{role}-{stamp}{suffix}" if attempt == 1 else f"{role}-{stamp}-{attempt}{suffix}"
        path = folder / name
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            continue
        return path
    raise BackupError(f"too many backups named {role}-{stamp} in {folder}")


def _backup_sqlite(url: str, target: Path) -> None:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"no SQLite database at {source_path}")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    destination = sqlite3.connect(target)
    try:
        with destination:
            source.backup(destination)
    finally:
        destination.close()
        source.close()


def _backup_postgres(url: str, target: Path) -> None:
    uri, env = _libpq(url)
    command = [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}", uri]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")


def backup_database(url: str, *, role: str, folder: Path, now: datetime) -> BackupFile:
    """Write a consistent copy of the database at `url` into `folder`."""
    backend = _backend(url)
    suffix = SQLITE_SUFFIX if backend == "sqlite" else POSTGRES_SUFFIX
    target = _new_file(folder, role, suffix, now)
    try:
        if backend == "sqlite":
            _backup_sqlite(url, target)
        else:
            _backup_postgres(url, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    target.chmod(0o600)
    return BackupFile(role, target)


def _same_database(first: str, second: str) -> bool:
    a, b = make_url(first), make_url(second)
    if a.get_backend_name() == "sqlite" and b.get_backend_name() == "sqlite":
        return Path(a.database or "").resolve() == Path(b.database or "").resolve()
    keys = ("host", "port", "database")
    return a.get_backend_name() == b.get_backend_name() and all(
        getattr(a, key) == getattr(b, key) for key in keys
    )


def backup_all(
    *, database_url: str, tracker_url: str | None, folder: Path, now: datetime
) -> list[BackupFile]:
    """Back up the service database, and the tracker store when it is a separate one
    that exists (Rasa creates it on its first conversation)."""
    files = [backup_database(database_url, role="service", folder=folder, now=now)]
    if tracker_url and not _same_database(database_url, tracker_url):
        if _backend(tracker_url) == "sqlite" and not _sqlite_path(tracker_url).is_file():
            return files
        files.append(backup_database(tracker_url, role="tracker", folder=folder, now=now))
    return files


def role_of(path: Path) -> str:
    """Whether a backup file holds the service database or the tracker store."""
    return "tracker" if path.name.startswith("tracker-") else "service"


def is_empty(url: str) -> bool:
    """Whether the database has no tables at all (a missing SQLite file is empty)."""
    if _backend(url) == "sqlite" and not _sqlite_path(url).exists():
        return True
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return not inspect(connection).get_table_names()
    finally:
        engine.dispose()


def _restore_sqlite(path: Path, url: str) -> None:
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        check = source.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a SQLite backup: {error}") from error
    if check is None or check[0] != "ok":
        source.close()
        raise BackupError(f"{path} is damaged: {check[0] if check else 'no answer'}")
    target_path = _sqlite_path(url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    destination = sqlite3.connect(target_path)
    try:
        with destination:
            source.backup(destination)
    finally:
        destination.close()
        source.close()


def _restore_postgres(path: Path, url: str) -> None:
    uri, env = _libpq(url)
    command = [
        _tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={uri}",
        str(path),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")


def restore_database(path: Path, *, url: str, overwrite: bool = False) -> None:
    """Restore the backup at `path` into the database at `url`. A database that has
    tables is only overwritten with `overwrite`."""
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    backend = _backend(url)
    expected = SQLITE_SUFFIX if backend == "sqlite" else POSTGRES_SUFFIX
    if path.suffix != expected:
        raise BackupError(
            f"{path.name} is not a {backend} backup (expected a *{expected} file): "
            "restore into a database of the same kind"
        )
    if not overwrite and not is_empty(url):
        raise BackupError("the target database is not empty; run again with --yes to overwrite it")
    if backend == "sqlite":
        _restore_sqlite(path, url)
    else:
        _restore_postgres(path, url)
