"""Bind a staff member's chat identity with the one-time code from an administrator."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.message import latest_text
from bot.incidents import report_incident, reports_incidents
from bot.infra.db import DatabaseUnavailable
from bot.staff import BindOutcome, find_code, redeem_invite_code

logger = logging.getLogger(__name__)

OUTCOME_RESPONSES = {
    BindOutcome.INVALID: "utter_staff_code_invalid",
    BindOutcome.EXPIRED: "utter_staff_code_expired",
    BindOutcome.USED: "utter_staff_code_used",
    BindOutcome.LOCKED: "utter_binding_locked",
}


class ActionBindStaff(Action):
    """Redeem the invite code in the latest message for this sender."""

    def name(self) -> str:
        return "action_bind_staff"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        code = find_code(latest_text(tracker))
        if code is None:
            dispatcher.utter_message(response="utter_ask_staff_code")
            return []
        try:
            result = redeem_invite_code(sender_id=tracker.sender_id, code=code)
        except DatabaseUnavailable:
            report_incident(dispatcher, domain, "staff binding failed")
            return []
        logger.info("staff binding for a sender: %s", result.outcome.value)
        if result.outcome is BindOutcome.BOUND:
            dispatcher.utter_message(
                response="utter_staff_bound", name=result.name, role=result.role_name
            )
        else:
            dispatcher.utter_message(response=OUTCOME_RESPONSES[result.outcome])
        return []
