"""Failures the user is told about (incident ids, the busy message) on both servers, and
idempotent complaint filing (also under concurrency, on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import ActionExecutionRejection
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.complaints.catalog import get_catalog
from bot.complaints.filing import ComplaintDraft, file_complaint
from bot.incidents import busy_text, new_incident_id, reports_incidents
from bot.infra.db import session_scope
from bot.infra.idempotency import request_key
from bot.infra.settings import Settings
from bot.models import Complaint, ComplaintEvent
from bot.runtime import action_guard

INCIDENT = re.compile(r"E\d{8}-[0-9A-F]{6}")
NOW = datetime(2026, 11, 25, 7, 45, tzinfo=timezone.utc)
DRAFT = ComplaintDraft("gas", "attitude", "抄表员态度很差,还对我大声嚷嚷", "昨天下午", "", "")


def test_incident_ids_are_dated_and_distinct():
    ids = {new_incident_id(NOW) for _ in range(200)}
    assert len(ids) == 200
    assert all(INCIDENT.fullmatch(incident) and incident[1:9] == "20261125" for incident in ids)


def test_the_busy_message_comes_from_the_domain_with_the_incident_id():
    text = busy_text("E20261125-ABC123")
    assert "系统繁忙" in text and "稍后再试" in text and "E20261125-ABC123" in text
    responses = {"utter_system_busy": [{"text": "忙 {incident_id}"}]}
    assert busy_text("E1", responses) == "忙 E1"


class _DatabaseDown(Action):
    def name(self) -> str:
        return "action_database_down"

    @reports_incidents
    def run(self, dispatcher, tracker, domain):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))


class _AsyncBug(Action):
    def name(self) -> str:
        return "action_async_bug"

    @reports_incidents
    async def run(self, dispatcher, tracker, domain):
        raise RuntimeError("a bug")


class _ValidateDown(FormValidationAction):
    def name(self) -> str:
        return "validate_down_form"

    @reports_incidents
    async def run(self, dispatcher, tracker, domain):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))


class _Rejecting(Action):
    def name(self) -> str:
        return "action_rejecting"

    @reports_incidents
    def run(self, dispatcher, tracker, domain):
        raise ActionExecutionRejection(self.name())


def _sdk_tracker(events: list[dict[str, Any]] | None = None) -> Tracker:
    return Tracker("web:alice", {}, {}, events or [], False, None, {}, "action_listen")


def test_an_action_whose_database_is_down_answers_busy_and_logs_the_incident(caplog):
    dispatcher = CollectingDispatcher()
    with caplog.at_level(logging.ERROR, logger="bot.incidents"):
        events = _DatabaseDown().run(dispatcher, _sdk_tracker(), {})
    assert events == []
    [message] = dispatcher.messages
    [incident] = INCIDENT.findall(message["text"])
    [record] = caplog.records
    assert incident in record.getMessage() and "action_database_down" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[0] is OperationalError


def test_an_async_action_that_fails_answers_busy():
    dispatcher = CollectingDispatcher()
    events = asyncio.run(_AsyncBug().run(dispatcher, _sdk_tracker(), {}))
    assert events == [] and INCIDENT.search(dispatcher.messages[0]["text"])


def test_a_form_validation_that_fails_resets_the_slots_it_was_to_check():
    tracker = _sdk_tracker(
        [
            {"event": "user", "text": "确认", "parse_data": {}},
            {"event": "slot", "name": "complaint_confirmed", "value": True},
        ]
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(_ValidateDown().run(dispatcher, tracker, {}))
    assert events == [
        {"event": "slot", "timestamp": None, "name": "complaint_confirmed", "value": None}
    ]
    assert INCIDENT.search(dispatcher.messages[0]["text"])


def test_a_rejection_is_not_an_incident():
    with pytest.raises(ActionExecutionRejection):
        _Rejecting().run(CollectingDispatcher(), _sdk_tracker(), {})


# --- the Rasa server's side ----------------------------------------------------------------


@pytest.fixture()
def guarded(monkeypatch):
    """RemoteAction.run wrapped, with a 0.5 s action timeout."""
    original = RemoteAction.run
    monkeypatch.setattr(
        action_guard, "get_settings", lambda: replace(Settings(), action_timeout=0.5)
    )
    action_guard.install()
    yield
    RemoteAction.run = original


def _run_remote(url: str, name: str, events: list[Any] | None = None) -> list[Any]:
    async def run() -> list[Any]:
        domain = Domain.from_yaml(
            "version: '3.1'\nresponses:\n  utter_system_busy:\n    - text: '忙 {incident_id}'\n"
        )
        tracker = DialogueStateTracker.from_events("web:alice", events or [])
        action = RemoteAction(name, EndpointConfig(url))
        return await action.run(
            CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}), tracker, domain
        )

    return asyncio.run(run())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_action_server_gets_the_busy_message(guarded, caplog):
    url = f"http://127.0.0.1:{_closed_port()}/webhook"
    with caplog.at_level(logging.ERROR, logger="bot.runtime.action_guard"):
        events = _run_remote(url, "action_gas_business_halls")
    [uttered] = events
    assert isinstance(uttered, BotUttered) and uttered.text.startswith("忙 E")
    incident = uttered.metadata["incident_id"]
    assert uttered.text == f"忙 {incident}"
    assert any(incident in record.getMessage() for record in caplog.records)


def test_a_slow_action_server_gets_the_busy_message_after_the_timeout(guarded):
    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/webhook"
        started = asyncio.run(_timed(lambda: _run_remote(url, "action_care_times")))
    elapsed, events = started
    assert 0.4 < elapsed < 5
    assert isinstance(events[0], BotUttered) and "忙 E" in events[0].text


async def _timed(call: Any) -> tuple[float, Any]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await loop.run_in_executor(None, call)
    return loop.time() - started, result


def test_a_failed_form_validation_does_not_let_unchecked_slots_fill_the_form(guarded):
    url = f"http://127.0.0.1:{_closed_port()}/webhook"
    events = _run_remote(
        url,
        "validate_complaint_form",
        [UserUttered("确认"), SlotSet("complaint_confirmed", True), SlotSet("requested_slot", "x")],
    )
    assert events[1:] == [SlotSet("complaint_confirmed", None)]


def test_after_one_failure_the_turns_other_actions_are_not_attempted(guarded):
    url = f"http://127.0.0.1:{_closed_port()}/webhook"
    domain = Domain.from_yaml(
        "version: '3.1'\nresponses:\n  utter_system_busy:\n    - text: '忙 {incident_id}'\n"
    )

    async def turns() -> list[list[Any]]:
        results = []
        first = DialogueStateTracker.from_events("web:alice", [UserUttered("一", message_id="1")])
        second = DialogueStateTracker.from_events("web:alice", [UserUttered("二", message_id="2")])
        for tracker in (first, first, second):
            action = RemoteAction("action_care_times", EndpointConfig(url))
            results.append(
                await action.run(
                    CollectingOutputChannel(),
                    TemplatedNaturalLanguageGenerator({}),
                    tracker,
                    domain,
                )
            )
        return results

    failed, skipped, next_turn = asyncio.run(turns())
    assert isinstance(failed[0], BotUttered) and skipped == []
    assert isinstance(next_turn[0], BotUttered)
    assert next_turn[0].metadata["incident_id"] != failed[0].metadata["incident_id"]


def test_installing_twice_wraps_once(guarded):
    wrapped = RemoteAction.run
    action_guard.install()
    assert RemoteAction.run is wrapped


# --- idempotent complaints --------------------------------------------------------------


def _file(engine, sender: str = "web:alice", draft: ComplaintDraft = DRAFT, now=NOW) -> str:
    with session_scope(engine) as session:
        complaint = file_complaint(
            session=session,
            draft=draft,
            sender_id=sender,
            channel="rest",
            now=now,
            catalog=get_catalog(),
        )
        return complaint.ticket_no


def _count(engine, model) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count(model.id))))


def test_a_repeated_confirmation_files_the_complaint_once(engine):
    ticket = _file(engine)
    assert _file(engine) == ticket
    assert _count(engine, Complaint) == 1 and _count(engine, ComplaintEvent) == 1


def test_another_sender_day_or_wording_is_another_complaint(engine):
    tickets = {
        _file(engine),
        _file(engine, sender="web:bob"),
        _file(engine, now=datetime(2026, 11, 26, 7, 45, tzinfo=timezone.utc)),
        _file(engine, draft=replace(DRAFT, description="抄表员态度很差,摔门就走")),
    }
    assert len(tickets) == 4 == _count(engine, Complaint)


def test_the_request_key_follows_the_local_day():
    day = NOW.date()
    assert request_key("complaint", "web:a", day, "x") == request_key(
        "complaint", "web:a", day, "x"
    )
    assert request_key("complaint", "web:a", day, "x") != request_key(
        "complaint", "web:b", day, "x"
    )
    assert request_key("complaint", "web:a", day, "x") != request_key("infusion", "web:a", day, "x")


def test_confirmations_racing_file_one_complaint(engine):
    barrier = threading.Barrier(6)
    tickets: list[str] = []
    errors: list[BaseException] = []

    def confirm() -> None:
        try:
            barrier.wait(timeout=10)
            tickets.append(_file(engine))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=confirm) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(tickets) == 6 and len(set(tickets)) == 1
    assert _count(engine, Complaint) == 1 and _count(engine, ComplaintEvent) == 1


def test_action_server_answers_are_still_validated(guarded):
    from jsonschema import ValidationError

    action = RemoteAction("action_care_times", None)
    assert action._validate_action_result({"events": [], "responses": [{"text": "好"}]})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": [{"event": "slot"}], "responses": [1]})


def test_the_action_timeout_comes_from_the_environment():
    assert Settings.from_env({}).action_timeout == 10.0
    assert Settings.from_env({"ACTION_TIMEOUT": "2.5"}).action_timeout == 2.5
