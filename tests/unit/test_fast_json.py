"""`bot.runtime.fast_json`: the action server reads what `json.dumps` would have sent."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from rasa.utils.endpoints import EndpointConfig

from bot.runtime import fast_json

VALUES = [
    {"text": '燃气营业厅在哪😀 𠮷 \u2028 \\ / "', "confidence": 0.9870551824569702},
    {"events": [{"event": "user", "parse_data": {"intent_ranking": [{"confidence": 1e-45}]}}]},
    {"slots": {"n": None, "ok": True, "f": 0.1 + 0.2, "big": 2**70, "neg": -0.0, "e": 1e300}},
    {1: "int key", None: "none key", 2.5: "float key"},
    [float("inf"), float("-inf")],
    "",
    [],
]


@pytest.mark.parametrize("value", VALUES)
def test_the_same_values_as_json_dumps(value):
    assert json.loads(fast_json.dumps(value)) == json.loads(json.dumps(value))


def test_what_ujson_refuses_is_written_by_json():
    written = fast_json.dumps({"nan": float("nan"), "huge": 2**80})
    read = json.loads(written)
    assert math.isnan(read["nan"]) and read["huge"] == 2**80


def test_rasas_endpoint_sessions_use_it():
    fast_json.install()
    fast_json.install()  # twice is once
    try:

        async def serialiser():
            async with EndpointConfig("http://localhost:1/webhook").session() as session:
                return session._json_serialize

        assert asyncio.run(serialiser()) is fast_json.dumps
    finally:
        fast_json.uninstall()

    async def stock():
        async with EndpointConfig("http://localhost:1/webhook").session() as session:
            return session._json_serialize

    assert asyncio.run(stock()) is json.dumps
