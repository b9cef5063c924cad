"""Bind a staff member's chat identity with the one-time code from an administrator."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.db import session_scope
from bot.incidents import report_incident, reports_incidents
from bot.staff import ROLE_NAMES, BindOutcome, find_code, redeem_invite

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
        code = find_code(tracker.latest_message.get("text") or "")
        if code is None:
            dispatcher.utter_message(response="utter_ask_staff_code")
            return []
        try:
            with session_scope() as session:
                result = redeem_invite(session=session, sender_id=tracker.sender_id, code=code)
                member = result.member
                bound = (member.name, ROLE_NAMES[member.role]) if member else None
        except SQLAlchemyError:
            report_incident(dispatcher, domain, "staff binding failed")
            return []
        logger.info("staff binding for a sender: %s", result.outcome.value)
        if bound:
            dispatcher.utter_message(response="utter_staff_bound", name=bound[0], role=bound[1])
        else:
            dispatcher.utter_message(response=OUTCOME_RESPONSES[result.outcome])
        return []
