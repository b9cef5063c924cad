"""Control and bidirectional-formatting characters: never stored, never sent to a terminal.

A customer can put an escape sequence (ESC [ 2 J, a fake prompt, OSC 52 writing the
clipboard) or a right-to-left override (U+202E, turning "txt.exe" into "exe.txt") into
a name, an address or a complaint. Stored as typed, it would reach a staff member's
terminal through `python -m bot visits list` and rewrite what they see.

- `clean_text`: what the database stores. Every string column of the project's models is
  cleaned with it before each flush (`bot.models.base.install_text_cleaning`): C0/C1
  control characters and format characters are removed, except the zero-width joiners
  inside emoji and scripts; in one-line columns (String) line breaks and tabs become
  spaces, in free text (Text) line breaks are kept.
- `terminal_safe`: what the command line prints, for rows stored before this and for
  anything else that reaches it (`safe_terminal_output` wraps stdout and stderr).
"""

from __future__ import annotations

import io
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

# Joiners that shape emoji sequences and Indic/Arabic text; harmless on a terminal.
_KEPT_FORMAT = frozenset({"\u200c", "\u200d"})
_LINE_BREAKS = frozenset({"\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"})


def _is_hidden(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category == "Cc" or (category == "Cf" and ch not in _KEPT_FORMAT)


def clean_text(value: str, *, multiline: bool = False) -> str:
    """`value` without control and format characters (see the module doc)."""
    if value.isprintable():
        return value  # the usual case: nothing to do
    value = value.replace("\r\n", "\n")
    out = []
    for ch in value:
        if ch in _LINE_BREAKS:
            out.append("\n" if multiline else " ")
        elif ch == "\t":
            out.append(ch if multiline else " ")
        elif not _is_hidden(ch):
            out.append(ch)
    return "".join(out)


def terminal_safe(text: str) -> str:
    """`text` fit for a terminal: line breaks and tabs kept, every other control or
    format character (ESC, BEL, U+202E ...) removed."""
    if text.isprintable():
        return text
    return "".join(ch for ch in text if ch in "\n\t" or not _is_hidden(ch))


class TerminalSafeWriter(io.TextIOBase):
    """A text stream that passes everything written through `terminal_safe`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(terminal_safe(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def safe_terminal_output() -> Iterator[None]:
    """Within the block, stdout and stderr never print control or format characters."""
    out, err = sys.stdout, sys.stderr
    sys.stdout = TerminalSafeWriter(out)
    sys.stderr = TerminalSafeWriter(err)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr = out, err
