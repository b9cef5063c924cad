"""The attacks of issue 19, each played again against the real code: a test fails if its
attack works again. Servers run on this machine only (127.0.0.1, free ports)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.infra import db, settings
from bot.infra.db import create_engine, session_scope
from bot.infra.migrate import upgrade
from bot.ops.devserver import Servers, ServerStartError, server_env, start_process
from bot.ops.seed import seed_demo

# Wednesday 2026-11-25, 15:45 in Shanghai: the clock of the code under attack.
FROZEN_NOW = "2026-11-25T15:45:00+08:00"


@dataclass
class DemoDatabase:
    url: str
    engine: Engine


@pytest.fixture()
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoDatabase]:
    """A SQLite database with the demo data, which the services and actions read."""
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    engine = create_engine(url)
    with session_scope(engine) as session:
        seed_demo(session=session)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("FROZEN_NOW", FROZEN_NOW)
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield DemoDatabase(url, engine)
    engine.dispose()
    db.get_engine.cache_clear()
    settings.get_settings.cache_clear()


def start_server(
    name: str, args: list[str], health_url: str, log_dir: Path, env: dict[str, str]
) -> Servers:
    """A server process in its own group (stop it with `.stop()`); fails the test with
    its log if it does not answer `health_url`."""
    try:
        process = start_process(
            name, args, health_url, log_dir=log_dir, env=server_env(env), timeout=240
        )
    except ServerStartError as error:
        log = (log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
        pytest.fail(f"{error}\n{log}")
    return Servers("", "", [process])
