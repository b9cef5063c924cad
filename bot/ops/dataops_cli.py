"""Commands for data operations: `retention run`, `backup`, `restore`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bot.infra import clock
from bot.infra.settings import get_settings


def _retention_run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.infra.db import create_engine
    from bot.ops.retention import run_retention

    settings = get_settings()
    days = settings.retention_days if args.days is None else args.days
    if days < 1:
        print("--days must be at least 1", file=sys.stderr)
        return 2
    service_engine = create_engine(settings.database_url)
    tracker = make_url(settings.tracker_database_url)
    # A SQLite tracker store Rasa has not created yet: nothing to purge, nothing to create.
    missing = tracker.get_backend_name() == "sqlite" and not Path(tracker.database or "").is_file()
    tracker_engine = None if missing else create_engine(settings.tracker_database_url)
    try:
        outcomes = run_retention(
            service_engine=service_engine,
            tracker_engine=tracker_engine,
            days=days,
            now=clock.now(),
            dry_run=args.dry_run,
        )
    except SQLAlchemyError as error:
        print(
            f"retention failed ({type(error).__name__}): are the service database and the "
            "tracker store reachable, and the service database migrated (`python -m bot db "
            "upgrade`)? Tables already done stay done; run again when fixed.",
            file=sys.stderr,
        )
        return 1
    finally:
        service_engine.dispose()
        if tracker_engine is not None:
            tracker_engine.dispose()
    verb = "would be" if args.dry_run else "were"
    print(f"retention: records older than {days} days{' (dry run)' if args.dry_run else ''}")
    for outcome in outcomes:
        if outcome.action == "skipped":
            print(f"  {outcome.table:<24} skipped: {outcome.note}")
        else:
            print(f"  {outcome.table:<24} {outcome.rows} row(s) {verb} {outcome.action}")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from bot.ops.backup import BackupError, backup_all

    settings = get_settings()
    folder = args.output or settings.backup_dir
    try:
        files = backup_all(
            database_url=settings.database_url,
            tracker_url=settings.tracker_database_url,
            folder=folder,
            now=clock.now(),
        )
    except BackupError as error:
        print(f"backup failed: {error}", file=sys.stderr)
        return 1
    for backup in files:
        print(f"{backup.role}: {backup.path} ({backup.path.stat().st_size} bytes)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from bot.ops.backup import BackupError, restore_database, role_of

    settings = get_settings()
    role = role_of(args.file)
    url = settings.tracker_database_url if role == "tracker" else settings.database_url
    target = make_url(url).render_as_string(hide_password=True)
    try:
        restore_database(args.file, url=url, overwrite=args.yes)
    except BackupError as error:
        print(f"restore failed: {error}", file=sys.stderr)
        return 1
    print(f"restored {args.file.name} into the {role} database {target}")
    return 0


def register(groups: Any) -> None:
    """Add the `retention`, `backup` and `restore` commands to the top-level parser."""
    retention = groups.add_parser("retention", help="purge old conversations").add_subparsers(
        dest="command", required=True
    )
    run = retention.add_parser("run", help="purge or anonymise records older than N days")
    run.add_argument("--days", type=int, default=None, help="default: RETENTION_DAYS (180)")
    run.add_argument("--dry-run", action="store_true", help="count only; change nothing")
    run.set_defaults(handler=_retention_run)

    backup = groups.add_parser("backup", help="back up the service (and tracker) database")
    backup.add_argument("--output", type=Path, default=None, help="default: BACKUP_DIR")
    backup.set_defaults(handler=_backup)

    restore = groups.add_parser("restore", help="restore a backup file into its database")
    restore.add_argument("file", type=Path, help="a service-*.sqlite3/.dump or tracker-* file")
    restore.add_argument("--yes", action="store_true", help="overwrite a non-empty database")
    restore.set_defaults(handler=_restore)
