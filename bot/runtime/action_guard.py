"""In the Rasa server: a custom action that fails never leaves the user in silence.

Rasa 3.6 runs custom actions through `RemoteAction.run`; when the action server is down,
slow or answers with an error, the processor logs the exception and carries on without a
word to the user (rasa/core/processor.py `_run_action`). `install()` wraps
`RemoteAction.run` so that such a failure, or an action that takes longer than
`ACTION_TIMEOUT` seconds, is logged with an incident id and answered with the busy
message (`bot.incidents`). The conversation goes on: the next message is handled as usual
once the action server is back. Every call carries the action server's token
(`ACTION_SERVER_TOKEN`, see `bot.runtime.action_server`), so endpoints files need no secret. It
also validates the action server's answers with a
validator built once (see `_response_validator`).

Rasa imports the project's channels (credentials.yml) and NLU components (config.yml)
before it serves; both call `install()`, which is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from bot.incidents import busy_text, new_incident_id
from bot.infra.settings import action_server_token, get_settings

logger = logging.getLogger(__name__)

# The turn that had an incident: after one failed action, the turn's other custom actions
# are not attempted (each would wait for the same dead server). A turn is the sender and
# their latest message; the variable belongs to the task handling the message.
_failed_turn: ContextVar[tuple[str, str | None, float] | None] = ContextVar(
    "failed_turn", default=None
)


def _turn(tracker: Any) -> tuple[str, str | None, float]:
    latest = tracker.latest_message
    return (
        tracker.sender_id,
        getattr(latest, "message_id", None),
        float(getattr(latest, "timestamp", 0.0) or 0.0),
    )


def _unvalidated_slots(tracker: Any) -> list[Any]:
    """Reset the slots extracted from the latest message: a form validation that could not
    run must not let unchecked values fill the form."""
    from rasa.shared.core.events import SlotSet, UserUttered

    names: dict[str, None] = {}
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, SlotSet) and event.key != "requested_slot" and event.value is not None:
            names[event.key] = None
    return [SlotSet(name, None) for name in names]


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    """A validator of the action server's answers, with its schema checked once.

    Rasa 3.6 calls `jsonschema.validate` on every answer, which checks the schema itself
    against the JSON Schema meta-schema each time: that took most of the Rasa server's CPU
    in a turn with a custom action (`make bench`, profiled with py-spy)."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


TOKEN_HEADER = "Authorization"


def _authorise(endpoint: Any) -> None:
    """Add the action server's token to the endpoint's headers (once per endpoint)."""
    if endpoint is not None and TOKEN_HEADER not in endpoint.headers:
        endpoint.headers[TOKEN_HEADER] = f"Bearer {action_server_token(get_settings())}"


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result` with the validator built once; an invalid
    answer still raises `jsonschema.ValidationError`."""
    _response_validator().validate(result)
    return True


def install() -> None:
    """Wrap Rasa's `RemoteAction.run` (once per process)."""
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.shared.core.events import BotUttered

    if getattr(RemoteAction.run, "_service_assistant_guard", False):
        return
    original_run = RemoteAction.run
    RemoteAction._validate_action_result = _validate_action_result

    async def run(
        self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
    ) -> list[Any]:
        reset = _unvalidated_slots(tracker) if self.name().startswith("validate_") else []
        if _failed_turn.get() == _turn(tracker):
            return reset
        timeout = get_settings().action_timeout
        _authorise(self.action_endpoint)
        try:
            return await asyncio.wait_for(
                original_run(self, output_channel, nlg, tracker, domain), timeout
            )
        except ActionExecutionRejection:
            raise
        except Exception as error:
            incident_id = new_incident_id()
            _failed_turn.set(_turn(tracker))
            if isinstance(error, asyncio.TimeoutError):
                logger.error(
                    "incident %s: custom action %s for %s: no answer within %g s",
                    incident_id,
                    self.name(),
                    tracker.sender_id,
                    timeout,
                )
            else:
                logger.exception(
                    "incident %s: custom action %s failed for %s",
                    incident_id,
                    self.name(),
                    tracker.sender_id,
                )
            text = busy_text(incident_id, domain.responses)
            return [BotUttered(text, metadata={"incident_id": incident_id}), *reset]

    run._service_assistant_guard = True  # type: ignore[attr-defined]
    RemoteAction.run = run
