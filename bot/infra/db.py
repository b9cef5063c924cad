"""Database engine and sessions (SQLAlchemy 1.4 in 2.0 style).

One engine per database URL; one session per unit of work:

    with session_scope() as session:
        session.add(...)

commits when the block ends and rolls back if it raises. The service layer
(`bot/<flow>/service.py`) opens its units of work with `unit_of_work()`, which does the same
and turns SQLAlchemy's errors into `DatabaseUnavailable`, so that its callers (the actions,
the desk, the CLI) need not import SQLAlchemy to tell a failed database from a bug.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine import create_engine as sa_create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.infra.keys import private_database_file
from bot.infra.settings import get_settings


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for `url`; a SQLite file is mode 0600, its folder, if created
    here, 0700."""
    parsed = make_url(url)
    # hide_parameters: error messages and echo never repeat the values (names, phones).
    kwargs: dict[str, Any] = {"future": True, "echo": echo, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_database_file(Path(parsed.database))
            # Connections kept and reused, as SQLAlchemy 2.0 does for files: 1.4 opens a
            # new one (and sets its pragma) for every statement, which the Rasa server did
            # for every message (README, Speed).
            kwargs["poolclass"] = QueuePool
        # The action server answers on several threads.
        kwargs["connect_args"] = {"check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = sa_create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    """The shared engine for `url` (default: the configured database)."""
    settings = get_settings()
    return create_engine(url or settings.database_url, echo=settings.database_echo)


def session_factory(engine: Engine | None = None) -> sessionmaker:
    return sessionmaker(bind=engine or get_engine(), future=True, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session in a transaction: committed on success, rolled back on error."""
    session: Session = session_factory(engine)()
    try:
        with session.begin():
            yield session
    finally:
        session.close()


class DatabaseUnavailable(RuntimeError):
    """A unit of work failed in the database (unreachable, a statement refused); the
    SQLAlchemy error it came from is its `__cause__`."""


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """`session_scope` for a service function: committed on success, rolled back on error,
    and a SQLAlchemy error leaves as `DatabaseUnavailable`."""
    try:
        with session_scope(engine) as session:
            yield session
    except SQLAlchemyError as error:
        raise DatabaseUnavailable(type(error).__name__) from error
