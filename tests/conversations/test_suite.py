"""The conversation suite as pytest tests: one test per conversation, the servers started
once. `make eval-dialogue` plays the same conversations and prints the figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from bot.infra.db import create_engine
from tests.conversations.runner import Talk, assistant_servers, load_conversations, play
from tests.e2e.conftest import FROZEN_NOW

pytestmark = pytest.mark.e2e
CONVERSATIONS = load_conversations()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Talk, str]]:
    with assistant_servers(tmp_path_factory.mktemp("conversations")) as running:
        yield running


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c.id for c in CONVERSATIONS])
def test_the_person_reaches_their_goal(conversation, servers) -> None:
    talk, database_url = servers
    engine = create_engine(database_url)
    try:
        result = play(conversation, talk, engine, datetime.fromisoformat(FROZEN_NOW))
    finally:
        engine.dispose()
    if result.unsafe:
        pytest.fail(f"unsafe outcome: {result.why}")
    if not result.passed:
        pytest.fail(result.why)
