"""The declarative base every model shares, its naming convention and column helpers.

One `MetaData` for all areas: Alembic (bot/migrations/env.py) compares it with the database,
so every area module must be imported by `bot.models` before the metadata is read.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeMeta, registry

from bot.infra import text_safety

# Named constraints keep migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

mapper_registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class Base(metaclass=DeclarativeMeta):
    """Declarative base; written out so type checkers see a class (SQLAlchemy 1.4)."""

    __abstract__ = True
    registry = mapper_registry
    metadata = mapper_registry.metadata
    __init__ = mapper_registry.constructor


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def enum_values(enum_class: type[enum.Enum]) -> list[str]:
    """What an Enum column stores: the members' values, not their names."""
    return [member.value for member in enum_class]


def _clean_strings_before_flush(session: Any, _context: Any, _instances: Any) -> None:
    """Clean every string column of a new or changed model (bot.infra.text_safety.clean_text)."""
    from sqlalchemy import Enum, String, Text
    from sqlalchemy import inspect as sa_inspect

    for instance in (*session.new, *session.dirty):
        if not isinstance(instance, Base):
            continue
        mapper = sa_inspect(instance).mapper
        for column in mapper.columns:
            if not isinstance(column.type, String) or isinstance(column.type, Enum):
                continue
            key = mapper.get_property_by_column(column).key
            value = getattr(instance, key, None)
            if isinstance(value, str):
                cleaned = text_safety.clean_text(value, multiline=isinstance(column.type, Text))
                if cleaned != value:
                    setattr(instance, key, cleaned)


def install_text_cleaning() -> None:
    """Clean every string of the project's models before it is written (idempotent)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "before_flush", _clean_strings_before_flush):
        event.listen(Session, "before_flush", _clean_strings_before_flush)
