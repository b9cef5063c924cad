"""Answer questions from the regulations, quoting the clause and its source."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.db import session_scope
from bot.directory import find_department
from bot.models import Audience
from bot.policies.search import search_policies
from bot.policies.store import list_documents
from bot.settings import get_settings

logger = logging.getLogger(__name__)

# Until staff can bind in chat, everyone is answered from public documents only.
PUBLIC_ONLY = (Audience.PUBLIC,)


class ActionAnswerPolicy(Action):
    """Quote the clause that answers the question, with up to two related clauses."""

    def name(self) -> str:
        return "action_answer_policy"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        question = tracker.latest_message.get("text") or ""
        try:
            with session_scope() as session:
                hits = search_policies(
                    session=session,
                    query=question,
                    audiences=PUBLIC_ONLY,
                    limit=3,
                    min_score=get_settings().policy_min_score,
                )
                contact = find_department(session=session, code="service")
                contact_args = (
                    {"department_name": contact.name, "department_phone": contact.phone}
                    if contact
                    else None
                )
        except SQLAlchemyError:
            logger.exception("policy search failed")
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        if not hits:
            if contact_args:
                dispatcher.utter_message(response="utter_policy_no_answer", **contact_args)
            else:
                dispatcher.utter_message(response="utter_policy_no_answer_no_contact")
            return []
        best, related = hits[0], hits[1:]
        dispatcher.utter_message(
            response="utter_policy_answer", citation=best.citation, clause_text=best.text
        )
        if related:
            lines = "\n".join(f"· {hit.citation}:{hit.text}" for hit in related)
            dispatcher.utter_message(response="utter_policy_related", related=lines)
        return []


class ActionListPolicies(Action):
    """List the regulations the user may ask about."""

    def name(self) -> str:
        return "action_list_policies"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            with session_scope() as session:
                titles = [
                    f"《{d.title}》" for d in list_documents(session=session, audiences=PUBLIC_ONLY)
                ]
        except SQLAlchemyError:
            logger.exception("policy listing failed")
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        if not titles:
            dispatcher.utter_message(response="utter_policy_list_empty")
        else:
            dispatcher.utter_message(response="utter_policy_list", documents="、".join(titles))
        return []
