"""Logging for the project's own processes, with personal data masked."""

from __future__ import annotations

import logging

from bot.infra.privacy import install_log_masking


def configure_logging(level: str = "INFO") -> None:
    """Log to stderr at `level` (INFO unless LOG_LEVEL says otherwise; DEBUG is never
    the default); every record is masked (see bot.infra.privacy)."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_log_masking()
