"""How to reach a person: the departments' phone numbers, hours and addresses."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.db import session_scope
from bot.directory import asks_emergency_line, departments_for, emergency_line
from bot.incidents import reports_incidents


class ActionContact(Action):
    """The department the message names, in full, or every department's phone and hours."""

    def name(self) -> str:
        return "action_contact"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        with session_scope() as session:
            emergency = emergency_line(session=session) if asks_emergency_line(text) else ""
            if emergency:
                dispatcher.utter_message(response="utter_contact_emergency", phone=emergency)
                return []
            departments = departments_for(text, session=session)
            if len(departments) == 1:
                (department,) = departments
                dispatcher.utter_message(
                    response="utter_contact_department",
                    name=department.name,
                    phone=department.phone,
                    hours=department.opening_hours,
                    address=department.address,
                    services=department.services,
                )
            elif departments:
                lines = [
                    f"· {department.name}:{department.phone},{department.opening_hours}"
                    for department in departments
                ]
                dispatcher.utter_message(
                    response="utter_contact_departments", departments="\n".join(lines)
                )
            else:
                dispatcher.utter_message(response="utter_contact_unknown")
        return []
