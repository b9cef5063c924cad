"""Secrets and private files: never on a command line, never readable by other users.

A secret comes from the environment (`NAME`), from a file the environment names
(`NAME_FILE`, e.g. a Docker or systemd secret), or, for secrets that only this machine's
processes share, from a random value kept in `var/` (mode 0600 in a folder of mode 0700).
Command lines are visible to every local user (`ps`, /proc/<pid>/cmdline); environments
and 0600 files are not.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) if missing; `path` itself is made mode 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if (path.stat().st_mode & 0o777) != PRIVATE_DIR_MODE:
        path.chmod(PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make an existing file mode 0600 (a database, a log)."""
    if path.is_file() and (path.stat().st_mode & 0o777) != PRIVATE_FILE_MODE:
        path.chmod(PRIVATE_FILE_MODE)
    return path


def write_private(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write `text` to `path`, created mode 0600 in a 0700 folder (never readable by others,
    not even for a moment). `exclusive`: fail with FileExistsError if it exists."""
    private_dir(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    descriptor = os.open(path, flags, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    private_file(path)


def secret_from_env(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """`NAME`, else the content of the file `NAME_FILE` names, else None."""
    env = os.environ if env is None else env
    value = (env.get(name) or "").strip()
    if value:
        return value
    file_name = (env.get(f"{name}_FILE") or "").strip()
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip() or None
    return None


def local_secret(path: Path) -> str:
    """The random secret kept in `path`, made on first use (0600; a race between two
    processes starting together ends with both reading the same value)."""
    if not path.is_file():
        with contextlib.suppress(FileExistsError):
            write_private(path, secrets.token_urlsafe(32), exclusive=True)
    private_file(path)
    return path.read_text(encoding="utf-8").strip()


def private_database_file(path: Path) -> None:
    """Before SQLite opens `path`: its folder created mode 0700 and the file itself
    created (or changed to) mode 0600, so no other local user reads the data."""
    if not path.parent.is_dir():
        private_dir(path.parent)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    private_file(path)
