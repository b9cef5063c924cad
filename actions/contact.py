"""How to reach a person: the departments' phone numbers, hours and addresses."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.emergency import leak_under_way
from actions.forms import PAUSED_SLOT
from actions.handoff import asks_for_person, hand_to_person, previous_question
from actions.message import latest_text
from bot.directory import contacts_for, emergency_contact, emergency_number
from bot.incidents import reports_incidents


class ActionContact(Action):
    """The department the message names, in full, or every department's phone and hours."""

    def name(self) -> str:
        return "action_contact"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = latest_text(tracker)
        # 转人工: a person takes over. A form under way has paused itself for it (its
        # answers are kept, FormEngine._pause) and ends here, so the person has the chat.
        form = tracker.active_loop_name
        paused = form is not None and tracker.get_slot(PAUSED_SLOT) == form
        if asks_for_person(text) and (form is None or paused):
            events = hand_to_person(
                dispatcher, tracker, reason="asked", question=previous_question(tracker)
            )
            return [*([ActiveLoop(None)] if paused else []), *events]
        # "你们电话多少 我出去打" during a leak asks for the emergency line.
        emergency = emergency_contact(text) or (
            emergency_number() if leak_under_way(tracker) else ""
        )
        if emergency:
            dispatcher.utter_message(response="utter_contact_emergency", phone=emergency)
            return []
        departments = contacts_for(text)
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
                f"· {department.name}：{department.phone}，{department.opening_hours}"
                for department in departments
            ]
            dispatcher.utter_message(
                response="utter_contact_departments", departments="\n".join(lines)
            )
        else:
            dispatcher.utter_message(response="utter_contact_unknown")
        return []
