"""Incidents: when a service fails, the user is told the system is busy, with an id.

The id (e.g. `E20261125-7F3A9C`) is logged with the exception on the server that saw the
failure, so that staff can find the traceback from what the user tells them. The busy
message is the `utter_system_busy` response of domain.yml, with `{incident_id}` filled in.

Two places report incidents:
- the action server: `@reports_incidents` on an action's `run` turns any exception into
  the busy message (a database that is down, a bug); `report_incident` is for actions
  that catch the error themselves;
- the Rasa server: `bot.runtime.action_guard` does the same when the action server is down, slow
  or answers with an error.
"""

from __future__ import annotations

import functools
import inspect
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, TypeVar

import yaml

from bot.infra.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

BUSY_RESPONSE = "utter_system_busy"

RunMethod = TypeVar("RunMethod", bound=Callable[..., Any])


def new_incident_id(now: datetime | None = None) -> str:
    """A short id that is unique enough to find one failure in the logs."""
    day = (now or datetime.now(timezone.utc)).strftime("%Y%m%d")
    return f"E{day}-{secrets.token_hex(3).upper()}"


@lru_cache(maxsize=1)
def _project_responses() -> Mapping[str, Any]:
    with (PROJECT_ROOT / "domain.yml").open(encoding="utf-8") as file:
        domain = yaml.safe_load(file)
    responses: Mapping[str, Any] = domain.get("responses") or {}
    return responses


def busy_text(incident_id: str, responses: Mapping[str, Any] | None = None) -> str:
    """The busy message with the incident id, from `responses` (a running model's domain)
    when it has `utter_system_busy`, else from the project's domain.yml (a model trained
    before the response was added)."""
    variations = (responses or {}).get(BUSY_RESPONSE) or _project_responses()[BUSY_RESPONSE]
    template = str(variations[0]["text"])
    return template.replace("{incident_id}", incident_id)


def report_incident(
    dispatcher: Any, domain: Mapping[str, Any] | None, what: str, *args: Any
) -> str:
    """Log the exception being handled with a new incident id and tell the user the system
    is busy, quoting the id. Call it from an `except` block; returns the id."""
    incident_id = new_incident_id()
    logger.exception("incident %s: " + what, incident_id, *args)
    dispatcher.utter_message(text=busy_text(incident_id, (domain or {}).get("responses")))
    return incident_id


def reports_incidents(run: RunMethod) -> RunMethod:
    """Decorate an action's `run(dispatcher, tracker, domain)`: an exception (other than a
    form validation's rejection) becomes the busy message with an incident id, and no
    events, so nothing the action meant to set is half-set; a form validation resets the
    slots it was asked to check, so the form asks for them again."""
    from rasa_sdk.events import SlotSet
    from rasa_sdk.forms import FormValidationAction
    from rasa_sdk.interfaces import ActionExecutionRejection

    def _failed(self: Any, dispatcher: Any, tracker: Any, domain: Any) -> list[Any]:
        report_incident(
            dispatcher, domain, "action %s failed for %s", self.name(), tracker.sender_id
        )
        if isinstance(self, FormValidationAction):
            unchecked = tracker.slots_to_validate()
            return [SlotSet(name, None) for name in unchecked if name != "requested_slot"]
        return []

    if inspect.iscoroutinefunction(run):

        @functools.wraps(run)
        async def guarded_async(self: Any, dispatcher: Any, tracker: Any, domain: Any) -> Any:
            try:
                return await run(self, dispatcher, tracker, domain)
            except ActionExecutionRejection:
                raise
            except Exception:
                return _failed(self, dispatcher, tracker, domain)

        return guarded_async  # type: ignore[return-value]

    @functools.wraps(run)
    def guarded(self: Any, dispatcher: Any, tracker: Any, domain: Any) -> Any:
        try:
            return run(self, dispatcher, tracker, domain)
        except ActionExecutionRejection:
            raise
        except Exception:
            return _failed(self, dispatcher, tracker, domain)

    return guarded  # type: ignore[return-value]
