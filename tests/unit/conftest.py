"""Fixtures for the service-layer tests: the configured database is a migrated SQLite file
holding the demo data (schools, gas accounts, communities, departments, policies)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.infra import db
from bot.infra import settings as bot_settings


@pytest.fixture(scope="session")
def demo_database_file(tmp_path_factory) -> Path:
    """A migrated SQLite database with the demo data, made once per test run."""
    from bot.infra.migrate import upgrade
    from bot.ops.seed import seed_demo, seed_policies

    path = tmp_path_factory.mktemp("demo") / "service.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = db.create_engine(url)
    with db.session_scope(engine) as session:
        seed_policies(session=session)
        seed_demo(session=session)
    engine.dispose()
    return path


@pytest.fixture()
def service_database(demo_database_file, tmp_path, monkeypatch) -> Iterator[str]:
    """The configured database (`bot.infra.db.get_engine()`, which the services use): a fresh
    copy of the demo database for each test."""
    path = tmp_path / "service.db"
    shutil.copyfile(demo_database_file, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    bot_settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield url
    db.get_engine().dispose()
    db.get_engine.cache_clear()
    bot_settings.get_settings.cache_clear()
