"""Alembic environment: runs migrations against the configured database."""

from __future__ import annotations

from alembic import context

from bot.infra.db import create_engine
from bot.infra.settings import get_settings
from bot.models import Base

config = context.config
url = config.attributes.get("database_url") or get_settings().database_url
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch mode rebuilds a table on SQLite (copy, drop, rename); with foreign keys
            # on, dropping the old table would cascade-delete the rows that refer to it
            # (a booking's events). The pragma only takes effect outside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # ends the transaction the pragma began (future mode)
        # Batch mode lets ALTER TABLE migrations run on SQLite too.
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
