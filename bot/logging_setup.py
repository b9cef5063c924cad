"""Logging for the project's own processes, with personal data masked."""

from __future__ import annotations

import logging

from bot.privacy import PersonalDataFilter


def configure_logging(level: str = "INFO") -> None:
    """Log to stderr at `level`; every handler masks personal data."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
            handler.addFilter(PersonalDataFilter())
