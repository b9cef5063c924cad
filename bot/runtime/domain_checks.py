"""Rasa's "is the domain empty?" answered once per domain.

Rasa's processor asks `Domain.is_empty()` for every message it parses
(`_check_for_unseen_features`), and `is_empty` builds the whole domain as a dict (58 KB of
JSON here) and an empty `Domain` to compare it with: 2.3% of the Rasa server's event loop
at concurrency 8 (py-spy, README Speed), for an answer that cannot change while the
domain is served (Rasa never changes a loaded domain; a new model brings a new `Domain`).

`install()` keeps each domain's first answer on the domain object.
`tests/unit/test_domain_checks.py` checks the answers against Rasa's own.
"""

from __future__ import annotations

from typing import Any

_ANSWER = "_service_assistant_is_empty"


def install() -> None:
    """Answer `Domain.is_empty` once per domain object in this process."""
    from rasa.shared.core.domain import Domain

    stock = Domain.is_empty
    if getattr(stock, "_stock", None) is not None:
        return

    def is_empty(self: Any) -> bool:
        answer = self.__dict__.get(_ANSWER)
        if answer is None:
            answer = self.__dict__[_ANSWER] = bool(stock(self))
        return bool(answer)

    is_empty._stock = stock  # type: ignore[attr-defined]
    Domain.is_empty = is_empty


def uninstall() -> None:
    from rasa.shared.core.domain import Domain

    stock = getattr(Domain.is_empty, "_stock", None)
    if stock is not None:
        Domain.is_empty = stock
