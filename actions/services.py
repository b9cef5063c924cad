"""Refer a customer to the department that handles a service not yet open online."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.db import session_scope
from bot.directory import department_for_intent

logger = logging.getLogger(__name__)


class ActionReferToDepartment(Action):
    """Give the contact of the department that handles the user's request."""

    def name(self) -> str:
        return "action_refer_to_department"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = tracker.get_intent_of_latest_message()
        try:
            with session_scope() as session:
                department = department_for_intent(session=session, intent=intent)
                contact = (
                    {
                        "department_name": department.name,
                        "department_phone": department.phone,
                        "department_address": department.address,
                        "department_hours": department.opening_hours,
                    }
                    if department
                    else None
                )
        except SQLAlchemyError:
            logger.exception("department lookup failed for intent %s", intent)
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        if contact is None:
            dispatcher.utter_message(response="utter_department_unknown")
        else:
            dispatcher.utter_message(response="utter_refer_department", **contact)
        return []
