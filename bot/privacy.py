"""Masking of personal data (phone, ID and account numbers) before it reaches a log."""

from __future__ import annotations

import logging
import re

# Mainland mobile numbers, optionally with +86 and separators.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?(1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)")
# 18-character resident ID numbers (last character may be X).
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
# Any other run of 7 or more digits: account numbers, landlines, student numbers.
_LONG_DIGITS = re.compile(r"(?<!\d)(\d{2})\d{3,}(\d{2})(?!\d)")


def mask_personal_data(text: str) -> str:
    """Replace the middle of phone, ID and account numbers with asterisks."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LONG_DIGITS.sub(
        lambda m: (
            m.group(1) + "*" * (len(m.group(0)) - 4) + m.group(2)
            if len(m.group(0)) >= 7
            else m.group(0)
        ),
        text,
    )


class PersonalDataFilter(logging.Filter):
    """A logging filter that masks personal data in every record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
