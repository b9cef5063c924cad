"""Answer questions from the regulations, quoting the clause and its source."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.emergency import leak_under_way, say_leak_again
from actions.followups import replay_as
from actions.gas import ActionGasLeak
from actions.handoff import flow_department
from actions.message import latest_text
from bot.dialogue.cues import service_cue
from bot.incidents import report_incident, reports_incidents
from bot.infra.db import DatabaseUnavailable
from bot.policies.service import answer_policy, policy_titles
from bot.reading import speaks_of_gas_emergency

logger = logging.getLogger(__name__)


class ActionAnswerPolicy(Action):
    """Answer in one plain sentence, then quote the clause and its source, with up to two
    related clauses; a follow-up ("那商业用户呢") is searched with what the last policy
    question was about (slot `policy_context`). Nothing found: whom to ask, with phone."""

    def name(self) -> str:
        return "action_answer_policy"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if speaks_of_gas_emergency(latest_text(tracker)):
            # What to do now comes before any rule: a leak told as a question is a leak.
            return ActionGasLeak().run(dispatcher, tracker, domain)
        if leak_under_way(tracker):
            # Asked during a leak ("客人要让他们先出去吗"): what to do comes first.
            say_leak_again(dispatcher)
        try:
            answer = answer_policy(
                question=latest_text(tracker),
                sender_id=tracker.sender_id,
                previous=tracker.get_slot("policy_context") or None,
                department=flow_department(tracker),
            )
        except DatabaseUnavailable:
            report_incident(dispatcher, domain, "policy search failed")
            return []
        remember = [SlotSet("policy_context", answer.context or None)]
        if (
            answer.best is None
            and not answer.staff_only
            and not answer.by_staff
            and not tracker.active_loop.get("name")
        ):
            # No rule answers, and the words plainly ask for a service ("投诉物业 俺们小区
            # 晚上保安老不在岗 谁都能进来"): that service, as if the NLU had read it so.
            asked = service_cue(latest_text(tracker))
            if asked is not None:
                logger.info("no clause answers; read as %s by its own words", asked)
                return replay_as(tracker, asked)
        if answer.best is None and answer.staff_only:
            dispatcher.utter_message(response="utter_policy_staff_only")
            return remember
        if answer.best is None:
            if answer.by_staff:
                dispatcher.utter_message(response="utter_policy_no_answer_staff")
            elif answer.referral:
                dispatcher.utter_message(
                    response="utter_policy_no_answer",
                    department_name=answer.referral.name,
                    department_phone=answer.referral.phone,
                )
            else:
                dispatcher.utter_message(response="utter_policy_no_answer_no_contact")
            return remember
        dispatcher.utter_message(
            response="utter_policy_answer",
            plain_answer=answer.plain,
            citation=answer.best.citation,
            clause_text=answer.best.text,
        )
        if answer.related:
            lines = "\n".join(f"· {hit.citation}:{hit.text}" for hit in answer.related)
            dispatcher.utter_message(response="utter_policy_related", related=lines)
        return remember


class ActionListPolicies(Action):
    """List the regulations this sender may ask about."""

    def name(self) -> str:
        return "action_list_policies"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            titles = [f"《{title}》" for title in policy_titles(sender_id=tracker.sender_id)]
        except DatabaseUnavailable:
            report_incident(dispatcher, domain, "policy listing failed")
            return []
        if not titles:
            dispatcher.utter_message(response="utter_policy_list_empty")
        else:
            dispatcher.utter_message(response="utter_policy_list", documents="、".join(titles))
        return []
