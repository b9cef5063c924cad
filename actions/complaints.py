"""Complaints and praise in chat: file a complaint, check its status, praise, rate.

`complaint_form` collects the department, the category, what happened, when and where,
the staff member if known and how to reach the complainant, reading what the first
message already says; it repeats the complaint and logs it only once confirmed. The rules
are in `bot.complaints`; this module reads slots, calls the use cases of
`bot.complaints.service` and utters responses.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.forms import ASIDE_INTENTS, RETRY_SLOT, FormEngine
from actions.handoff import hand_to_person
from actions.message import input_channel, latest_text
from bot.complaints import service
from bot.complaints.catalog import get_catalog
from bot.complaints.filing import (
    MIN_DESCRIPTION,
    ComplaintDraft,
    ComplaintError,
    find_staff,
    find_ticket_no,
)
from bot.complaints.queries import OPEN, ComplaintFilter
from bot.complaints.service import ComplaintView
from bot.incidents import report_incident, reports_incidents
from bot.infra import clock
from bot.infra.clock import as_utc, local_zone
from bot.infra.db import DatabaseUnavailable
from bot.models import ComplaintState
from bot.reading import find_phone, says_stop

logger = logging.getLogger(__name__)

COMPLAINT_SLOTS = (
    "complaint_department",
    "complaint_category",
    "complaint_description",
    "complaint_occurred",
    "complaint_staff",
    "complaint_contact",
    "complaint_confirmed",
    "complaint_blocked",
)
BLOCKED = {"complaint_blocked": True}
UNKNOWN = "不详"
CHAT_CONTACT = "本聊天渠道"
SAFETY = "safety"  # a safety hazard: a person takes over at once
OTHER = "other"  # taken when the complainant cannot say which kind, twice
# Words that only say "I want to complain": what is left must say what happened.
_ASKING_ONLY = re.compile(
    r"我要|我想|想要|要|投诉|举报|反映|一下|你们|发起|问题|一个|给|差评|[\s\W\d_]", re.UNICODE
)
_GOODBYE = re.compile(
    r"再见|再会|拜拜|^拜$|bye|(?<!\d)88(?:6)?(?!\d)|先这样|先走了|回头再说|下次再说", re.I
)
# A goodbye the classifier is this sure of ends the complaint even without a farewell word.
GOODBYE_CONFIDENCE = 0.9
_NOT_KNOWN = re.compile(r"不知道|不清楚|不记得|忘了|没注意|说不清|不确定|没有|无")
_CHAT_CONTACT = re.compile(r"这里|聊天|本账号|这个账号|微信|电报|不用|不需要|就行|直接回复")
_SCORE = re.compile(r"(?<!\d)([1-5])(?!\d)|([一二三四五])\s*(?:分|颗|星)")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}


def says_what_happened(text: str) -> bool:
    """Whether a message says more than "I want to complain"."""
    if text.startswith("/"):
        return False
    return len(_ASKING_ONLY.sub("", text)) >= MIN_DESCRIPTION


def stops_complaint(text: str, intent: dict[str, Any] | None) -> bool:
    """Whether a message mid-complaint means "stop": the words, or a sure goodbye.

    A one-word answer ("差", "脏") may look like a goodbye to the classifier; it is an
    answer to the question asked, so the classifier alone does not end the complaint."""
    text = text.strip()
    if says_stop(text):
        return True
    if not intent or intent.get("name") != "goodbye":
        return False
    if _GOODBYE.search(text):
        return True
    return len(text) > 1 and float(intent.get("confidence") or 0) >= GOODBYE_CONFIDENCE


def find_contact(text: str) -> str | None:
    phone = find_phone(text)
    if phone:
        return phone
    return CHAT_CONTACT if _CHAT_CONTACT.search(text) else None


def find_score(text: str) -> int | None:
    match = _SCORE.search(text)
    if not match:
        return None
    return int(match.group(1)) if match.group(1) else _CN_DIGITS[match.group(2)]


def hazard_told_before(tracker: Tracker) -> str:
    """The message before the latest one when it described a gas emergency, else ""."""
    users = [event for event in reversed(tracker.events) if event.get("event") == "user"]
    if len(users) < 2:
        return ""
    before = users[1]
    intent = ((before.get("parse_data") or {}).get("intent") or {}).get("name")
    if intent != "gas_leak":
        return ""
    text = str(before.get("text") or "").strip()
    if text.startswith("/") and len(users) > 2:
        # The emergency was chosen with a button offered for a message not understood
        # at once: that message described it.
        text = str(users[2].get("text") or "").strip()
    return "" if text.startswith("/") else text


# A complaint that turns out to be praise ("不是投诉 是表扬", "我是想夸夸他").
_TURNS_TO_PRAISE = re.compile(
    r"不是(?:要)?投诉.{0,8}(?:表扬|夸|感谢|谢谢)|(?:表扬|夸|感谢).{0,8}不是(?:要)?投诉"
    r"|(?:其实|我是|俺是|是)(?:想|要)(?:表扬|夸|感谢)"
)
# Or the complaint is dropped and praise asked for in its place ("修得是真仔细 算了 投诉不
# 提了 我要表扬这个马师傅").
_DROPS_COMPLAINT = re.compile(
    r"不(?:想|要|用)?投诉了|投诉.{0,4}(?:不提|算了|不用|不要|不投|撤|取消)|算了|不告了"
)
_WANTS_PRAISE = re.compile(
    r"(?:要|想|得|该|必须)(?:好好)?(?:表扬|夸|感谢|谢谢)|表扬(?:一下|表扬)|点个?赞|锦旗|好评"
)


def turns_to_praise(text: str) -> bool:
    """Whether a message in a complaint makes it praise instead."""
    return bool(
        _TURNS_TO_PRAISE.search(text)
        or (_DROPS_COMPLAINT.search(text) and _WANTS_PRAISE.search(text))
    )


# A message longer than this that answered which kind of problem it is tells what
# happened too ("压根没来过 账单上的数是估的"), more than a kind's name ("抄表计费").
_TOLD_MIN_CHARS = 8


def _category_answer(tracker: Tracker) -> tuple[str | None, str | None]:
    """The complaint's kind as last set, and what the sender said in that message."""
    said: str | None = None
    told: str | None = None
    kind: str | None = None
    for event in tracker.events:
        if event.get("event") == "user":
            said = str(event.get("text") or "").strip()
        elif event.get("event") == "slot" and event.get("name") == "complaint_category":
            kind = event.get("value")
            told = said if kind else None
    return kind, told


def _told_with_category(kind: str | None, told: str | None) -> str | None:
    """What the sender said when the complaint's kind was taken from their words
    (`_category_answer`), when it says more than a kind's name; None for a button or a
    bare name, and for the words of someone who could not say which kind ("说不上来
    你们看着办吧")."""
    if (
        not told
        or told.startswith("/")
        or len(told) <= _TOLD_MIN_CHARS
        or _left_to_staff(kind, told)
    ):
        return None
    return told


def _left_to_staff(kind: str | None, told: str | None) -> bool:
    """Whether the kind is 其他 because the sender could not say which (not chosen)."""
    return kind == OTHER and get_catalog().find_category(told or "") != OTHER


class ValidateComplaintForm(FormEngine):
    """Collects a complaint; what the first message says is taken, the rest is asked."""

    # "营业员上班玩手机 这合规定吗" is what happened, told against the rules: the complaint
    # keeps it rather than a policy answer taking it.
    aside_intents = ASIDE_INTENTS - {"ask_policy"}
    stop_slot = "complaint_blocked"
    stopped_response = "utter_complaint_abandoned"
    reads_every_message = True
    emergency_is_aside = False
    correctable_slots = frozenset(
        {"complaint_department", "complaint_category", "complaint_staff", "complaint_contact"}
    )
    yes_no_slots = frozenset({"complaint_confirmed"})
    # A staff member asking whether something is allowed at work ("敲了半天门家里没人 我照上
    # 个月的数估一个填上行不行啊", from a verified meter reader) files no complaint: the
    # regulations answer. A customer's "这合规定吗" stays a complaint (`asks_as_staff`).
    staff_questions_end_form = True

    def name(self) -> str:
        return "validate_complaint_form"

    @reports_incidents
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("requested_slot") is None or not turns_to_praise(latest_text(tracker)):
            return await super().run(dispatcher, tracker, domain)
        # "说岔了 不是投诉 是表扬 他帮俺把钱包送回来了": no complaint is filed; the praise
        # is logged, for the department the complaint was about when it names none.
        catalog = get_catalog()
        text = latest_text(tracker)
        department = tracker.get_slot("complaint_department")
        if department and catalog.guess_department(text) is None:
            text = f"{catalog.department_name(department)}:{text}"
        try:
            praise_id, _ = service.praise_from_chat(
                sender_id=tracker.sender_id,
                channel=input_channel(tracker),
                text=text,
                now=clock.now(),
                catalog=catalog,
            )
            logger.info("praise %s logged instead of a complaint", praise_id)
        except DatabaseUnavailable:
            logger.exception("logging praise failed")
        dispatcher.utter_message(response="utter_praise_thanks")
        return self._stop_events(tracker, domain)

    def _prefill(self, tracker: Tracker) -> dict[str, Any]:
        text = latest_text(tracker).strip()
        starting = tracker.get_slot("requested_slot") is None
        if starting:
            # "管道接口漏气 师傅看了一眼就走了" was answered as an emergency first; the
            # complaint that follows keeps what it described.
            text = f"{hazard_told_before(tracker)} {text}".strip()
        catalog = get_catalog()
        slots: dict[str, Any] = dict.fromkeys(COMPLAINT_SLOTS)
        # Later, what happened is its own question: an answer to another one ("服务质量",
        # a time and place) is not taken for it.
        if starting and says_what_happened(text):
            slots["complaint_description"] = text
            slots["complaint_department"] = catalog.guess_department(text)
            slots["complaint_category"] = catalog.guess_category(text)
            slots["complaint_staff"] = find_staff(text) or None
        slots["complaint_contact"] = find_phone(text)
        return slots

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("complaint_blocked"):
            return []
        return [slot for slot in domain_slots if slot != "complaint_blocked"]

    def _stopped(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        stop = stops_complaint(latest_text(tracker), tracker.latest_message.get("intent"))
        if stop:
            dispatcher.utter_message(response="utter_complaint_abandoned")
        return stop

    def _asked(self, tracker: Tracker, slot: str) -> bool:
        return bool(tracker.get_slot("requested_slot") == slot)

    def validate_complaint_department(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {}
        code = get_catalog().find_department(str(value))
        if code:
            return {"complaint_department": code}
        if self._asked(tracker, "complaint_department"):
            if self._stopped(dispatcher, tracker):
                return {"complaint_department": None, **BLOCKED}
            if tracker.get_intent_of_latest_message() == "deny":
                dispatcher.utter_message(response="utter_complaint_abandoned")
                return {"complaint_department": None, **BLOCKED}
            dispatcher.utter_message(response="utter_complaint_department_unknown")
        return {"complaint_department": None}

    def validate_complaint_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {}
        catalog = get_catalog()
        code = catalog.find_category(str(value))
        if code:
            return {"complaint_category": code}
        if self._asked(tracker, "complaint_category"):
            if self._stopped(dispatcher, tracker):
                return {"complaint_category": None, **BLOCKED}
            if tracker.get_slot(RETRY_SLOT) == "complaint_category" and OTHER in catalog.categories:
                # A complainant who cannot say which kind it is twice still gets the
                # complaint filed: staff sort it from what happened.
                dispatcher.utter_message(response="utter_complaint_category_other")
                return {"complaint_category": OTHER}
            dispatcher.utter_message(response="utter_complaint_category_unknown")
        return {"complaint_category": None}

    def validate_complaint_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if self._asked(tracker, "complaint_description") and self._stopped(dispatcher, tracker):
            return {"complaint_description": None, **BLOCKED}
        if len(text) < MIN_DESCRIPTION or text.startswith("/"):
            dispatcher.utter_message(response="utter_complaint_description_too_short")
            return {"complaint_description": None}
        kind, answer = _category_answer(tracker)
        told = _told_with_category(kind, answer)
        if told and told not in text and text not in told:
            # "压根没来过 账单上的数是估的" answered which kind of problem: it is what
            # happened too, and stays in the description.
            text = f"{told}；{text}"
        slots: dict[str, Any] = {"complaint_description": text[:2000]}
        if _left_to_staff(kind, answer):
            # The kind they could not name, read from what happened ("照上个月的数估了一个").
            slots["complaint_category"] = get_catalog().guess_category(text) or OTHER
        return slots

    def validate_complaint_occurred(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if self._stopped(dispatcher, tracker):
            return {"complaint_occurred": None, **BLOCKED}
        if not text or (_NOT_KNOWN.search(text) and len(text) <= 6):
            return {"complaint_occurred": UNKNOWN}
        return {"complaint_occurred": text[:200]}

    def validate_complaint_staff(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if self._asked(tracker, "complaint_staff") and self._stopped(dispatcher, tracker):
            return {"complaint_staff": None, **BLOCKED}
        if not text or (_NOT_KNOWN.search(text) and len(text) <= 6):
            return {"complaint_staff": UNKNOWN}
        return {"complaint_staff": text[:100]}

    def validate_complaint_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        contact = find_contact(text)
        if contact:
            return {"complaint_contact": contact}
        if self._asked(tracker, "complaint_contact"):
            if self._stopped(dispatcher, tracker):
                return {"complaint_contact": None, **BLOCKED}
            dispatcher.utter_message(response="utter_complaint_contact_invalid")
        return {"complaint_contact": None}


class ActionAskComplaintDepartment(Action):
    """Ask which service the complaint is about, with a button for each."""

    def name(self) -> str:
        return "action_ask_complaint_department"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        buttons = [{"title": d.name, "payload": d.name} for d in get_catalog().departments.values()]
        dispatcher.utter_message(response="utter_ask_complaint_department", buttons=buttons)
        return []


class ActionAskComplaintCategory(Action):
    """Ask what kind of complaint it is, with a button for each category."""

    def name(self) -> str:
        return "action_ask_complaint_category"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        buttons = [{"title": c.name, "payload": c.name} for c in get_catalog().categories.values()]
        dispatcher.utter_message(response="utter_ask_complaint_category", buttons=buttons)
        return []


class ActionAskComplaintConfirmed(Action):
    """Repeat the complaint for confirmation before anything is logged."""

    def name(self) -> str:
        return "action_ask_complaint_confirmed"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        catalog = get_catalog()
        dispatcher.utter_message(
            response="utter_ask_complaint_confirmed",
            department=catalog.department_name(tracker.get_slot("complaint_department") or ""),
            category=catalog.category_name(tracker.get_slot("complaint_category") or ""),
            description=tracker.get_slot("complaint_description") or "",
            occurred=tracker.get_slot("complaint_occurred") or UNKNOWN,
            staff=tracker.get_slot("complaint_staff") or UNKNOWN,
            contact=tracker.get_slot("complaint_contact") or CHAT_CONTACT,
        )
        return []


class ActionSubmitComplaint(Action):
    """Log the confirmed complaint and give its ticket number and time frame."""

    def name(self) -> str:
        return "action_submit_complaint"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in COMPLAINT_SLOTS]
        if tracker.get_slot("complaint_blocked"):
            return reset
        if not tracker.get_slot("complaint_confirmed"):
            dispatcher.utter_message(response="utter_complaint_not_filed")
            return reset
        catalog = get_catalog()
        draft = ComplaintDraft(
            department=tracker.get_slot("complaint_department") or "",
            category=tracker.get_slot("complaint_category") or "",
            description=tracker.get_slot("complaint_description") or "",
            occurred=tracker.get_slot("complaint_occurred") or "",
            staff_involved=tracker.get_slot("complaint_staff") or "",
            contact=tracker.get_slot("complaint_contact") or "",
        )
        try:
            filed = service.file_from_chat(
                draft=draft,
                sender_id=tracker.sender_id,
                channel=input_channel(tracker),
                now=clock.now(),
                catalog=catalog,
            )
        except ComplaintError:
            logger.warning("an incomplete complaint reached submission")
            dispatcher.utter_message(response="utter_complaint_description_too_short")
            return reset
        except DatabaseUnavailable:
            report_incident(dispatcher, domain, "filing a complaint failed")
            return reset
        ticket_no, due_at = filed.ticket_no, filed.due_at
        logger.info("complaint %s filed (%s/%s)", ticket_no, draft.department, draft.category)
        category = catalog.categories[draft.category]
        dispatcher.utter_message(
            response="utter_complaint_filed",
            ticket_no=ticket_no,
            response_hours=category.response_hours,
            due=f"{as_utc(due_at).astimezone(local_zone()):%m-%d %H:%M}",
        )
        if draft.category == SAFETY:
            # A safety hazard goes to a person at once (actions/handoff.py).
            dispatcher.utter_message(response="utter_handoff_after_safety")
            return reset + hand_to_person(
                dispatcher, tracker, reason="safety", question=draft.description
            )
        return reset


def _status_line(complaint: ComplaintView) -> dict[str, str]:
    catalog = get_catalog()
    return {
        "ticket_no": complaint.ticket_no,
        "category": catalog.category_name(complaint.category),
        "state": catalog.states.get(complaint.state.value, complaint.state.value),
        "filed": f"{as_utc(complaint.created_at).astimezone(local_zone()):%m-%d %H:%M}",
        "due": f"{as_utc(complaint.due_at).astimezone(local_zone()):%m-%d %H:%M}",
    }


class ActionComplaintStatus(Action):
    """The status of a complaint, only to the sender who filed it or to a bound supervisor."""

    def name(self) -> str:
        return "action_complaint_status"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        ticket = find_ticket_no(latest_text(tracker))
        try:
            if ticket is None:
                self._list_own(dispatcher, tracker)
            else:
                self._show(ticket, dispatcher, tracker)
        except DatabaseUnavailable:
            report_incident(dispatcher, domain, "complaint status lookup failed")
        return []

    @staticmethod
    def _list_own(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        own = service.sender_complaints(sender_id=tracker.sender_id)
        if not own:
            dispatcher.utter_message(response="utter_complaint_status_none")
            return
        dispatcher.utter_message(
            response="utter_complaint_status_list",
            complaints="\n".join(
                "· {ticket_no} {category}:{state}".format(**_status_line(c)) for c in own
            ),
        )

    @staticmethod
    def _show(ticket: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        status = service.complaint_status(sender_id=tracker.sender_id, ticket_no=ticket)
        if status is None:  # not there, or someone else's: the same answer
            dispatcher.utter_message(response="utter_complaint_status_unknown", ticket_no=ticket)
            return
        complaint = status.complaint
        if status.for_supervisor:
            dispatcher.utter_message(
                response="utter_complaint_detail_for_supervisor",
                department=get_catalog().department_name(complaint.department),
                description=complaint.description,
                assignee=complaint.assignee or "—",
                **_status_line(complaint),
            )
        elif complaint.state is ComplaintState.CLOSED:
            dispatcher.utter_message(
                response="utter_complaint_status_closed",
                resolution=complaint.resolution,
                **_status_line(complaint),
            )
        else:
            dispatcher.utter_message(response="utter_complaint_status", **_status_line(complaint))


class ActionListOpenComplaints(Action):
    """For a bound supervisor: open complaints (or only the overdue ones), most urgent first."""

    def name(self) -> str:
        return "action_list_open_complaints"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        overdue_only = "超期" in latest_text(tracker) or "逾期" in latest_text(tracker)
        now = clock.now()
        if not service.is_supervisor(sender_id=tracker.sender_id):
            dispatcher.utter_message(response="utter_supervisor_only")
            return []
        # The desk's list with its "open" and "overdue" filters.
        rows = service.find_complaints(
            filters=ComplaintFilter(state=OPEN, overdue=overdue_only), now=now
        )
        overdue = sum(row.overdue for row in rows)
        lines = [
            "· {ticket_no} {category} {state}，期限 {due}".format(**_status_line(row.complaint))
            + (" ⚠" if row.overdue else "")
            for row in rows[:10]
        ]
        if not lines:
            dispatcher.utter_message(response="utter_open_complaints_none")
            return []
        dispatcher.utter_message(
            response="utter_open_complaints",
            count=len(rows),
            overdue=overdue,
            complaints="\n".join(lines),
        )
        return []


class ActionRecordPraise(Action):
    """Log praise for the incentive scheme and thank the customer humbly."""

    def name(self) -> str:
        return "action_record_praise"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            praise_id, department = service.praise_from_chat(
                sender_id=tracker.sender_id,
                channel=input_channel(tracker),
                text=latest_text(tracker),
                now=clock.now(),
                catalog=get_catalog(),
            )
            logger.info("praise %s logged (%s)", praise_id, department or "-")
        except DatabaseUnavailable:
            logger.exception("logging praise failed")
        dispatcher.utter_message(response="utter_praise_thanks")
        return []


class ActionRecordSurvey(Action):
    """Store the 1-5 satisfaction answer for the sender's closed complaint."""

    def name(self) -> str:
        return "action_record_survey"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        score = find_score(latest_text(tracker))
        if score is None:
            dispatcher.utter_message(response="utter_survey_ask_score")
            return []
        try:
            ticket = service.survey_answer(
                sender_id=tracker.sender_id, score=score, now=clock.now()
            )
        except DatabaseUnavailable:
            report_incident(dispatcher, domain, "storing a survey answer failed")
            return []
        if not ticket:
            dispatcher.utter_message(response="utter_survey_nothing_pending")
        elif score <= 2:
            dispatcher.utter_message(response="utter_survey_thanks_low", ticket_no=ticket)
        else:
            dispatcher.utter_message(response="utter_survey_thanks", ticket_no=ticket, score=score)
        return []
