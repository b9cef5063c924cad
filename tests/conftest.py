"""Shared fixtures: migrated databases on SQLite and, where it runs, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from bot.infra.db import create_engine
from bot.infra.migrate import upgrade

# The server the PostgreSQL tests create their throw-away databases on.
TEST_POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


# The Redis server for the shared-cache tests (each test uses its own key prefix).
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _require_services() -> bool:
    """In CI a missing service is a failure, not a skip."""
    return os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def postgres_server() -> Engine:
    engine = create_engine(TEST_POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # any driver or network error means: no server here
        engine.dispose()
        message = f"PostgreSQL not reachable at {TEST_POSTGRES_URL}: {exc.__class__.__name__}"
        if _require_services():
            pytest.fail(message)
        pytest.skip(message)
    return engine


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The URL of a reachable Redis server (skipped, or failed in CI, when there is none)."""
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis not reachable at {TEST_REDIS_URL}: {exc.__class__.__name__}"
        if _require_services():
            pytest.fail(message)
        pytest.skip(message)
    finally:
        client.close()
    return TEST_REDIS_URL


@pytest.fixture()
def redis_prefix(redis_server: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    import redis

    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(redis_server)
    try:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture()
def postgres_url(postgres_server: Engine) -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped after the test."""
    name = f"svc_test_{uuid.uuid4().hex[:10]}"
    autocommit = postgres_server.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(TEST_POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with autocommit.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture()
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'service.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request) -> str:
    """An empty database on each supported backend."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return request.getfixturevalue("sqlite_url")


@pytest.fixture()
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database on each supported backend."""
    upgrade(database_url)
    engine = create_engine(database_url)
    yield engine
    engine.dispose()
