"""The Rasa server's requests to the action server serialised with ujson.

Every custom action is a POST of the whole conversation (every event with its parse data,
every slot) to the action server, serialised by aiohttp with `json.dumps`: 0.4 to 0.5 ms
for a conversation of ten turns here, 6% of the Rasa server's event loop at concurrency 8
in long conversations (py-spy, README Speed), and growing with each turn. ujson (which
sanic, and so Rasa, already installs) writes the same JSON in under half the time.

`dumps` is `ujson.dumps` with `json.dumps`'s defaults (ASCII only, `NaN` allowed: ujson
refuses what json writes, and then json writes it); the action server reads the same
values either way (`tests/unit/test_fast_json.py`). `install()` gives the aiohttp sessions
Rasa opens for its endpoints (`EndpointConfig.session`) this serialiser, in the serving
Rasa process only (`bot.runtime.rasa_server`).
"""

from __future__ import annotations

import json
from typing import Any

import ujson

_INSTALLED = "_service_assistant_fast_json"


def dumps(value: Any) -> str:
    """`json.dumps(value)`'s JSON, by ujson when it can write it."""
    try:
        return str(ujson.dumps(value))
    except (TypeError, OverflowError, ValueError):
        return json.dumps(value)


def install() -> None:
    """Serialise the JSON bodies of Rasa's endpoint requests with `dumps`."""
    from rasa.utils.endpoints import EndpointConfig

    stock = EndpointConfig.session
    if getattr(stock, _INSTALLED, False):
        return

    def session(self: Any) -> Any:
        opened = stock(self)
        opened._json_serialize = dumps
        return opened

    session._stock = stock  # type: ignore[attr-defined]
    setattr(session, _INSTALLED, True)
    EndpointConfig.session = session


def uninstall() -> None:
    from rasa.utils.endpoints import EndpointConfig

    current = EndpointConfig.session
    if getattr(current, _INSTALLED, False):
        EndpointConfig.session = current._stock
