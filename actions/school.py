"""After-school care leave in chat: bind to a child, request, cancel and list leaves.

The rules (cutoff, care days, binding) are in `bot.school`; this module reads slots,
calls the use cases of `bot.school.service` and utters responses from the domain.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict
from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.followups import replay_as
from actions.forms import FORGOT, SWITCH_MIN_CONFIDENCE, FormEngine, latest_intent
from actions.message import STOP_INTENTS, input_channel, latest_text
from bot.dialogue.cues import asks_for_leave_not_called_off, asks_whether_care_is_compulsory
from bot.dialogue.followups import carried_slots
from bot.incidents import report_incident, reports_incidents
from bot.infra import clock
from bot.infra.db import DatabaseUnavailable
from bot.notify import alert
from bot.reading import COMMON_SURNAMES, find_last_four, find_mobile, to_digits
from bot.reading.dates import DateParseError, dates_not_kept, days_off, parse_dates
from bot.school import service
from bot.school.binding import StudentBindOutcome
from bot.school.leave import LeaveAssessment, LeaveDecision
from bot.school.service import TeacherContact
from bot.school.wording import (
    binding_locked_alert,
    format_day,
    format_days,
    guess_reason,
    is_unwell,
)

logger = logging.getLogger(__name__)

LEAVE_SLOTS = (
    "leave_dates_hint",
    "student_no",
    "guardian_phone",
    "leave_student",
    "leave_dates",
    "leave_reason",
    "leave_confirmed",
    "leave_blocked",
)
# "不请了" in the middle of a leave is read as cancel_leave: it stops this one too.
_STOP_INTENTS = STOP_INTENTS | {"cancel_leave"}
# Slots the leave form sets besides those it asks for.
_SIDE_SLOTS = {"leave_dates_hint", "leave_blocked"}
_STUDENT_NO = re.compile(r"(?<!\d)\d{6,12}(?!\d)")
# A reply that is two to four Chinese characters, maybe after "孩子叫", is most likely the
# child's name ("好的", "不请了" are not: names rarely have these characters).
_LOOKS_LIKE_NAME = re.compile(
    r"^(?!.*[了的吗吧呢啊不没好嗯哦要请])(?:我家)?(?:孩子|小孩|他|她)?(?:叫|是)?[\u4e00-\u9fff]{2,4}$"
)
# Every child at once: "两个孩子明天都请假", "俩孩子都不去了"; in answer to "which child?"
# also "都请", "都" (in a first message "都" may be about the days: "明天后天都请").
# "两个星期" is about the days, not the children.
_ALL_CHILDREN = re.compile(
    r"[两二2]个(?:孩子|小孩|娃|宝|都)|俩|两孩子|两娃|全部|所有孩子|孩子们|兄妹|姐弟|兄弟|姐妹"
    r"|(?:孩子|小孩|娃)都"
)
_ALL_CHILDREN_ANSWER = re.compile(r"都|全")
# One of siblings by age: the earlier 学号 (year of entry) is the elder.
_ELDER = re.compile(r"大的|老大|大儿子|大女儿|哥哥|姐姐|大宝|大孩子|年级高")
_YOUNGER = re.compile(r"小的|老二|老小|小儿子|小女儿|弟弟|妹妹|二宝|小宝|小孩子|年级低")
# The form's stored choice of several children: their ids joined by ",".
_IDS = re.compile(r"^\d+(?:,\d+)*$")
DATE_ERRORS = {
    "no_date": "utter_leave_date_unclear",
    "invalid_date": "utter_leave_date_invalid",
    "too_long": "utter_leave_date_too_long",
    "reversed": "utter_leave_date_reversed",
}
NO_CARE_RESPONSES = {
    LeaveDecision.WEEKEND: "utter_leave_no_care_weekend",
    LeaveDecision.HOLIDAY: "utter_leave_no_care_holiday",
    LeaveDecision.NOT_ENROLLED: "utter_leave_not_enrolled",
    LeaveDecision.PAST: "utter_leave_past",
}


def _without_mobile(text: str, mobile: str | None) -> str:
    """`text` in digits with its mobile number blanked: the numbers left may be a 学号."""
    digits = to_digits(text)
    return digits.replace(mobile, " ") if mobile else digits


def _identity_given(text: str) -> dict[str, Any]:
    """The 学号 and the guardian's phone (whole, or its last 4 digits) a message gives; a
    lone number counts as the 学号 only when the message says so (it may be a date)."""
    mobile = find_mobile(text)
    rest = _without_mobile(text, mobile)
    student_nos = _STUDENT_NO.findall(rest)
    if len(student_nos) != 1:
        return {}
    phone = mobile or find_last_four(rest.replace(student_nos[0], " "))
    if phone:
        return {"student_no": student_nos[0], "guardian_phone": phone}
    return {"student_no": student_nos[0]} if "学号" in text else {}


def children_named(
    text: str, children: list[service.Child], *, answering: bool = False
) -> list[service.Child]:
    """The children a message names among the sender's: every one ("两个都请"), one by
    name (or given name: "子涵"), or the elder or younger ("大的那个"); none when it names
    none. `answering`: the message answers "which child?", where "都" is enough."""
    if len(children) < 2:
        return []
    every = _ALL_CHILDREN_ANSWER if answering else _ALL_CHILDREN
    named = [c for c in children if c.name in text or (len(c.name) > 2 and c.name[1:] in text)]
    if named:
        return named
    if every.search(text):
        return list(children)
    by_age = sorted(children, key=lambda child: (child.student_no, child.id))
    if _ELDER.search(text):
        return by_age[:1]
    if _YOUNGER.search(text):
        return by_age[-1:]
    return []


def _ids(children: list[service.Child]) -> str:
    return ",".join(str(child.id) for child in children)


def _asks_about_care_itself(tracker: Tracker) -> bool:
    """Whether the message that started the leave form asks if care must be attended,
    naming no day (with a day it asks for a leave, whatever else it asks)."""
    text = latest_text(tracker)
    if not asks_whether_care_is_compulsory(text):
        return False
    try:
        return not parse_dates(text, clock.today())
    except DateParseError:
        return True


class ValidateLeaveForm(FormEngine):
    """Collects child, dates, reason and a confirmation; binds the parent first if needed."""

    stop_slot = "leave_blocked"
    stopped_response = "utter_leave_abandoned"
    yes_no_slots = frozenset({"leave_confirmed"})
    # A change of days said without correction words: "哎等等 … 那就只请后天一天 明天照常去",
    # "明天不请了" (the days the message then names are the leave's, `days_off`).
    correction_cues = re.compile(
        r"^\W*(?:哎|诶|唉|啊|哦)?\W*等(?:等|一下|下)|(?:只|光|单)(?:请|要请)|照常|照样"
        r"|不(?:用|要|必)?请了"
    )
    # The 学号 and the phone given together while one of them is asked (`_also_given`).
    reads_every_message = True

    def name(self) -> str:
        return "validate_leave_form"

    def _says_stop(self, tracker: Tracker) -> bool:
        """A stop, unless it changes the days and still asks for one ("明天不请了 只请后天");
        "不用了谢谢 明天再说" stops."""
        if not super()._says_stop(tracker):
            return False
        text = latest_text(tracker)
        if not self.correction_cues or not self.correction_cues.search(text):
            return True
        try:
            days_off(text, clock.today())
        except DateParseError:
            return True
        return False

    def _asks_student_no(self, tracker: Tracker) -> bool:
        """Whether this form will ask for a 学号: a parent not verified yet."""
        return not service.children(sender_id=tracker.sender_id)

    def _also_given(self, tracker: Tracker) -> list[EventType]:
        """Both the 学号 and the guardian's phone, when the answer to either gives both
        ("翻到了 学号2025020106 我是他爸 手机19900001037"); nothing else is read here from a
        message answering another question (the dates are read by `extract_leave_dates`)."""
        if tracker.get_slot("requested_slot") not in {"student_no", "guardian_phone"}:
            return []
        given = _identity_given(latest_text(tracker))
        if set(given) != {"student_no", "guardian_phone"}:
            return []
        return [SlotSet(name, value) for name, value in given.items()]

    @reports_incidents
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("requested_slot") is None and _asks_about_care_itself(tracker):
            # "晚托是不是必须得去啊 我家娃不想留": whether care must be attended, no leave
            # asked for; the care times say it is voluntary and how to stay away a day.
            ActionCareTimes().run(dispatcher, tracker, domain)
            return self._stop_events(tracker, domain)
        other = _asked_for_another_child(tracker)
        if other:
            # "他们班胡梦琪明天也请个假 她爸托我说一声 学号2023010302": not a child of this
            # sender's, and no leave goes onto their own child instead.
            dispatcher.utter_message(response="utter_leave_not_yours", who=other)
            return self._stop_events(tracker, domain)
        if (
            tracker.get_slot("requested_slot") is None
            and FORGOT.search(latest_text(tracker))
            and "学号" in latest_text(tracker)
            and "student_no" not in _identity_given(latest_text(tracker))
            and self._asks_student_no(tracker)
        ):
            # "学号我不记得了": where to find it, before it is asked.
            dispatcher.utter_message(response="utter_student_no_where")
        intent, confidence = latest_intent(tracker)
        cancels = (
            tracker.get_slot("requested_slot") is not None
            and intent == "cancel_leave"
            and confidence >= SWITCH_MIN_CONFIDENCE
            and _names_a_leave_on_record(tracker)
        )
        if not cancels:
            return await super().run(dispatcher, tracker, domain)
        # "后天的假已经请过了 是想把后天那个取消掉": not this leave but the one on record is
        # to go; this one is dropped, nothing of it stored.
        ActionCancelLeave().run(dispatcher, tracker, domain)
        return self._stop_events(tracker, domain)

    def _prefill(self, tracker: Tracker) -> dict[str, Any]:
        """The 学号, the guardian's phone and the dates a message gives ("学号2024010101
        手机19900001001 明天请假"; for a correction: "不对,是后天")."""
        text = latest_text(tracker)
        slots = _identity_given(text)
        if tracker.get_slot("requested_slot") is None:
            # "后天也请一天" right after a leave was recorded: the same child and reason,
            # shown again at the confirmation.
            slots.update(carried_slots(tracker.events, text, clock.today()))
        named = children_named(text, service.children(sender_id=tracker.sender_id))
        if named:
            slots["leave_student"] = _ids(named)
        reason = guess_reason(text) if tracker.get_slot("requested_slot") is None else None
        if reason and not slots.get("leave_reason"):
            slots["leave_reason"] = reason
        try:
            days = days_off(text, clock.today())
        except DateParseError:
            return slots
        return {**slots, "leave_dates": [day.isoformat() for day in days]}

    async def _validate(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # rasa_sdk keeps only the form's own slots from extraction; the date hint and the
        # stop flag are set by extract_* methods and must survive too.
        extraction = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extraction)
        validation = await self._extract_validation_events(dispatcher, tracker, domain)
        validated = {event.get("name") for event in validation}
        kept = [e for e in extraction if e["name"] in _SIDE_SLOTS and e["name"] not in validated]
        return [*validation, *kept]

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("leave_blocked"):
            return []
        children = service.children(sender_id=tracker.sender_id)
        slots = [] if children else ["student_no", "guardian_phone"]
        if len(children) > 1:
            slots.append("leave_student")
        return [*slots, "leave_dates", "leave_reason", "leave_confirmed"]

    def _stopped(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        intent = tracker.get_intent_of_latest_message()
        if intent in _STOP_INTENTS and tracker.get_slot("requested_slot") != "leave_confirmed":
            dispatcher.utter_message(response="utter_leave_abandoned")
            return True
        return False

    async def extract_leave_dates(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Dates from any message in the form, the request that started it included."""
        if tracker.get_slot("leave_dates") or tracker.get_slot("leave_blocked"):
            return {}
        requested = tracker.get_slot("requested_slot")
        if requested == "leave_dates" and self._stopped(dispatcher, tracker):
            return {"leave_blocked": True}
        text = tracker.latest_message.get("text") or ""
        if requested in {"student_no", "guardian_phone"}:
            return {}
        try:
            days = [day.isoformat() for day in days_off(text, clock.today())]
        except DateParseError as error:
            if requested == "leave_dates":
                dispatcher.utter_message(response=DATE_ERRORS[error.reason])
            return {}
        bound = bool(service.children(sender_id=tracker.sender_id))
        # Before the parent is verified the dates cannot be checked: keep them for later.
        return {"leave_dates": days} if bound else {"leave_dates_hint": days}

    async def extract_leave_reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("leave_reason") or tracker.get_slot("leave_blocked"):
            return {}
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("requested_slot") == "leave_reason":
            if self._stopped(dispatcher, tracker):
                return {"leave_blocked": True}
            return {"leave_reason": text.strip()[:100]} if text.strip() else {}
        reason = guess_reason(text)
        return {"leave_reason": reason} if reason else {}

    def validate_student_no(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = to_digits(str(value or "")).strip()
        match = _STUDENT_NO.search(text)
        if not match and FORGOT.search(text):
            dispatcher.utter_message(response="utter_student_no_where")
            return {"student_no": None}
        if not match and self._stopped(dispatcher, tracker):
            return {"student_no": None, "leave_blocked": True}
        if not match:
            name = _LOOKS_LIKE_NAME.match(re.sub(r"[\s\W]+", "", text))
            dispatcher.utter_message(
                response="utter_student_no_not_name" if name else "utter_student_no_invalid"
            )
            return {"student_no": None}
        return {"student_no": match.group(0)}

    def validate_guardian_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        phone = find_mobile(str(value or "")) or find_last_four(str(value or ""))
        if not phone and self._stopped(dispatcher, tracker):
            return {"guardian_phone": None, "leave_blocked": True}
        if not phone:
            dispatcher.utter_message(response="utter_guardian_phone_invalid")
            return {"guardian_phone": None}
        result = service.bind_guardian_by_phone(
            sender_id=tracker.sender_id,
            student_no=tracker.get_slot("student_no") or "",
            phone=phone,
            now=clock.now(),
        )
        logger.info("guardian binding: %s", result.outcome.value)
        if result.alert_senders:
            alert(result.alert_senders, binding_locked_alert())
        if result.outcome is StudentBindOutcome.LOCKED:
            dispatcher.utter_message(response="utter_binding_locked")
            return {"guardian_phone": None, "student_no": None, "leave_blocked": True}
        if result.outcome is StudentBindOutcome.TARGET_LOCKED:
            dispatcher.utter_message(response="utter_student_binding_target_locked")
            return {"guardian_phone": None, "student_no": None, "leave_blocked": True}
        if result.outcome is StudentBindOutcome.NO_MATCH:
            dispatcher.utter_message(response="utter_student_bind_no_match")
            return {"guardian_phone": None, "student_no": None}
        dispatcher.utter_message(response="utter_student_bound", student_name=result.student_name)
        return {
            "guardian_phone": "verified",
            **self._child_chosen(str(result.student_id), dispatcher, tracker, domain),
        }

    def _child_chosen(
        self,
        student_id: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Set the child, and check the dates given before it was known."""
        slots: dict[str, Any] = {"leave_student": student_id, "leave_dates_hint": None}
        hint = tracker.get_slot("leave_dates_hint")
        if hint:
            chosen = tracker.copy()
            chosen.slots["leave_student"] = student_id
            slots.update(self.validate_leave_dates(hint, dispatcher, chosen, domain))
        return slots

    def validate_leave_student(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        children = service.children(sender_id=tracker.sender_id)
        if _IDS.match(text):  # read from the message already (`_prefill`)
            wanted = set(text.split(","))
            chosen = [child for child in children if str(child.id) in wanted]
        else:
            chosen = children_named(text, children, answering=True)
        if not chosen and self._stopped(dispatcher, tracker):
            return {"leave_student": None, "leave_blocked": True}
        if not chosen:
            names = "、".join(child.name for child in children)
            dispatcher.utter_message(response="utter_leave_which_child", names=names)
            return {"leave_student": None}
        return self._child_chosen(_ids(chosen), dispatcher, tracker, domain)

    def validate_leave_dates(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep the days a leave can be recorded for, each child checked by its own school's
        rules; explain the others, child by child. A child none of whose days can be
        recorded is left out of a leave for several."""
        if not value:
            return {"leave_dates": None}
        days = [date.fromisoformat(day) for day in value]
        checks = service.check_leave_days(
            sender_id=tracker.sender_id,
            chosen=tracker.get_slot("leave_student"),
            days=days,
            now=clock.now(),
        )
        if checks is None:
            # Which child is not known yet: check the dates once it is.
            return {"leave_dates": None, "leave_dates_hint": value}
        said: set[tuple[str, str]] = set()  # a weekend is said once, not once per child
        open_days: set[date] = set()
        kept = []
        for check in checks:
            accepted = _explain_refusals(dispatcher, check, said)
            open_days.update(accepted)
            if accepted:
                kept.append(str(check.student_id))
        if not open_days:
            return {"leave_dates": None, "leave_blocked": True}
        slots: dict[str, Any] = {"leave_dates": [day.isoformat() for day in sorted(open_days)]}
        if len(checks) > 1:
            slots["leave_student"] = ",".join(kept)
        return slots

    def validate_leave_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._stopped(dispatcher, tracker):
            return {"leave_reason": None, "leave_blocked": True}
        return {"leave_reason": str(value).strip()[:100] or None}


def _explain_refusals(
    dispatcher: CollectingDispatcher, check: service.LeaveCheck, said: set[tuple[str, str]]
) -> list[date]:
    """Explain the days one child's leave cannot be recorded for (`said`: the answers
    already given that name no child); the days it can."""
    assessments, contact, name = check.assessments, check.contact, check.student_name
    late = [a for a in assessments if a.decision is LeaveDecision.TOO_LATE]
    if late:
        _utter_too_late(dispatcher, late, contact, name)
    for decision, response in NO_CARE_RESPONSES.items():
        skipped = [a for a in assessments if a.decision is decision]
        days = format_days([a.day for a in skipped])
        if not skipped or (response, days) in said:
            continue
        if decision is LeaveDecision.WEEKEND:
            said.add((response, days))
        dispatcher.utter_message(
            response=response,
            days=days,
            holiday=skipped[0].holiday,
            student_name=name,
            **asdict(contact),
        )
    return [a.day for a in assessments if a.decision is LeaveDecision.ACCEPTED]


def _utter_too_late(
    dispatcher: CollectingDispatcher,
    late: list[LeaveAssessment],
    contact: TeacherContact,
    student_name: str,
) -> None:
    """Refuse a leave asked after its cutoff, with the head teacher's number."""
    cutoff = late[0].cutoff
    dispatcher.utter_message(
        response="utter_leave_too_late",
        days=format_days([assessment.day for assessment in late]),
        cutoff=cutoff.strftime("%H:%M") if cutoff else "",
        student_name=student_name,
        **asdict(contact),
    )


class ActionAskLeaveStudent(Action):
    """Ask which child, with a button for each."""

    def name(self) -> str:
        return "action_ask_leave_student"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        children = service.children(sender_id=tracker.sender_id)
        buttons = [{"title": child.name, "payload": child.name} for child in children]
        if len(children) > 1:
            buttons.append({"title": "都请", "payload": "都请"})
        dispatcher.utter_message(response="utter_ask_leave_student", buttons=buttons)
        return []


class ActionAskLeaveConfirmed(Action):
    """Repeat the leave for confirmation."""

    def name(self) -> str:
        return "action_ask_leave_confirmed"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        days = [date.fromisoformat(day) for day in tracker.get_slot("leave_dates") or []]
        name = service.chosen_child_name(
            sender_id=tracker.sender_id, chosen=tracker.get_slot("leave_student")
        )
        dispatcher.utter_message(
            response="utter_ask_leave_confirmed",
            student_name=name,
            days=format_days(days),
            reason=tracker.get_slot("leave_reason") or "",
        )
        return []


class ActionSubmitLeave(Action):
    """Record the confirmed leave and say who has been told."""

    def name(self) -> str:
        return "action_submit_leave"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in LEAVE_SLOTS]
        if tracker.get_slot("leave_blocked"):
            return reset
        if not tracker.get_slot("leave_confirmed"):
            dispatcher.utter_message(response="utter_leave_not_recorded")
            return reset
        days = [date.fromisoformat(day) for day in tracker.get_slot("leave_dates") or []]
        try:
            submitted = service.submit_leave(
                sender_id=tracker.sender_id,
                chosen=tracker.get_slot("leave_student"),
                days=days,
                reason=tracker.get_slot("leave_reason") or "",
                channel=input_channel(tracker),
                now=clock.now(),
            )
        except DatabaseUnavailable:
            report_incident(dispatcher, domain, "recording a leave failed")
            return reset
        if submitted is None:
            dispatcher.utter_message(response="utter_service_unavailable")
            return reset
        unwell = is_unwell(tracker.get_slot("leave_reason") or "")
        for child in submitted:
            _say_recorded(dispatcher, child, unwell=unwell)
        return reset


def _say_recorded(
    dispatcher: CollectingDispatcher, child: service.LeaveCheck, *, unwell: bool
) -> None:
    """What was recorded for one child, what was on record already, and what came too
    late (the cutoff may pass while the parent was confirming)."""
    results, contact, name = child.assessments, child.contact, child.student_name
    recorded = [r.day for r in results if r.decision is LeaveDecision.ACCEPTED]
    already = [r.day for r in results if r.decision is LeaveDecision.ALREADY]
    late = [r for r in results if r.decision is LeaveDecision.TOO_LATE]
    if recorded:
        dispatcher.utter_message(
            # A wish that fits the reason: 早日康复 only for a child who is unwell.
            response="utter_leave_recorded_unwell" if unwell else "utter_leave_recorded",
            student_name=name,
            days=format_days(recorded),
            **asdict(contact),
        )
    if already:
        dispatcher.utter_message(
            response="utter_leave_already", student_name=name, days=format_days(already)
        )
    if late:
        _utter_too_late(dispatcher, late, contact, name)


def _names_a_leave_on_record(tracker: Tracker) -> bool:
    """Whether the latest message names a day this sender's child has leave on already
    (not the leave being asked for: "明天的不请了" stops that one)."""
    try:
        days = set(dates_not_kept(latest_text(tracker), clock.today()))
    except DateParseError:
        return False
    leaves = service.upcoming_leaves(sender_id=tracker.sender_id, from_day=clock.today())
    return any(leave.day in days for leave in leaves or [])


class ActionCancelLeave(Action):
    """Cancel the leaves on the dates named, for the sender's children, except those the
    message says to keep ("后天那个取消 下礼拜三的还要")."""

    def name(self) -> str:
        return "action_cancel_leave"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = latest_text(tracker)
        if asks_for_leave_not_called_off(text):
            # "那明天的能请不 明天也去不了": a leave asked for, nothing to cancel.
            return replay_as(tracker, "request_leave")
        try:
            days = dates_not_kept(text, clock.today())
        except DateParseError:
            dispatcher.utter_message(response="utter_cancel_leave_which_day")
            return []
        cancellations = service.cancel_leaves(
            sender_id=tracker.sender_id, days=days, now=clock.now()
        )
        if cancellations is None:
            dispatcher.utter_message(response="utter_leave_need_binding")
            return []
        for cancellation in cancellations:
            dispatcher.utter_message(
                response=f"utter_cancel_leave_{cancellation.outcome.value}",
                student_name=cancellation.student_name,
                days=format_day(cancellation.day),
                **asdict(cancellation.contact),
            )
        return []


# A child named by name before what is asked of their leaves ("周梓萱这两礼拜有没有请假").
_NAMED_CHILD = re.compile(
    # Not a weekday or a grandchild, whose first characters are surnames too (周三, 孙子).
    r"(?!周[一二三四五六日天末]|孙[子女儿])"
    rf"(?P<name>[{''.join(COMMON_SURNAMES)}][\u4e00-\u9fff]{{1,2}}?)"
    r"(?=的?(?:请假|看护假|假条)|这(?:两|几)?(?:礼拜|星期|周|天)|有没有请|请没请|请了)"
)


def _asked_for_another_child(tracker: Tracker) -> str:
    """The 学号 the message that starts a leave gives that is none of the sender's
    verified children's, as said ("学号2023010302"), or "". Only for a sender with
    verified children who gives no phone number with it: with one, the 学号 and phone are
    verified as any binding is (a parent's second child). Not by name: "周一到周三请假" and
    "给孙子请假" read as names (周三, 孙子), and a refused leave must never be a parent's own."""
    if tracker.get_slot("requested_slot") is not None:
        return ""
    text = latest_text(tracker)
    if find_mobile(text):
        return ""
    children = service.children(sender_id=tracker.sender_id)
    return _other_student_no(text, None, children) if children else ""


def _other_student_no(text: str, mobile: str | None, children: list[service.Child]) -> str:
    """A 学号 in `text` (its `mobile` number left out) that is none of `children`'s, as
    said ("学号2024010201"), or ""."""
    own_numbers = {child.student_no for child in children}
    for number in _STUDENT_NO.findall(_without_mobile(text, mobile)):
        if number not in own_numbers:
            return f"学号{number}"
    return ""


def _other_child_named(text: str, children: list[service.Child]) -> str:
    """A child `text` names, by 学号 or by name, who is none of the sender's `children`
    ("学号2024010201" / "周梓萱"), as said ("学号2024010201", "周梓萱"); "" when it names
    none or only the sender's own."""
    named = _NAMED_CHILD.search(text)
    if named is not None:
        name = named.group("name")
        if not any(child.name in text or name in child.name for child in children):
            return name
    return _other_student_no(text, find_mobile(text), children)


class ActionListLeaves(Action):
    """The leaves on record for the sender's children, from today on."""

    def name(self) -> str:
        return "action_list_leaves"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        other = _other_child_named(
            latest_text(tracker), service.children(sender_id=tracker.sender_id)
        )
        if other:
            # "周梓萱这两礼拜请假了没 学号2024010201 我是她舅舅": not a child of this sender's;
            # saying "none on record" of their own would mislead.
            dispatcher.utter_message(response="utter_leave_list_not_yours", who=other)
            return []
        leaves = service.upcoming_leaves(sender_id=tracker.sender_id, from_day=clock.today())
        if leaves is None:
            dispatcher.utter_message(response="utter_leave_need_binding")
            return []
        lines = [
            f"· {leave.student_name} {format_day(leave.day)} {leave.reason}".rstrip()
            for leave in leaves
        ]
        if lines:
            dispatcher.utter_message(response="utter_leave_list", leaves="\n".join(lines))
        else:
            dispatcher.utter_message(response="utter_leave_list_empty")
        return []


class ValidateBindStudentForm(ValidateLeaveForm):
    """Bind one more child (学号 + guardian phone), without requesting a leave."""

    def name(self) -> str:
        return "validate_bind_student_form"

    def _prefill(self, tracker: Tracker) -> dict[str, Any]:
        return _identity_given(latest_text(tracker))  # binding a child reads no dates

    def _asks_student_no(self, tracker: Tracker) -> bool:
        return True

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return [] if tracker.get_slot("leave_blocked") else ["student_no", "guardian_phone"]


class ActionSubmitBindStudent(Action):
    """Finish binding: clear the form's slots."""

    def name(self) -> str:
        return "action_submit_bind_student"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("guardian_phone") == "verified":
            dispatcher.utter_message(response="utter_student_bind_done")
        return [SlotSet(slot, None) for slot in LEAVE_SLOTS]


class ActionTeacherLeaves(Action):
    """For a bound teacher: today's leaves in the classes they head or mind."""

    def name(self) -> str:
        return "action_teacher_leaves"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = latest_text(tracker)
        try:
            days = parse_dates(text, clock.today())
        except DateParseError:
            days = [clock.today()]
        leaves = service.teacher_leaves(sender_id=tracker.sender_id, days=days)
        if leaves is None:
            dispatcher.utter_message(response="utter_teacher_only")
            return []
        lines = [
            f"· {format_day(leave.day)} {leave.class_name} {leave.student_name}"
            f" {leave.reason}".rstrip()
            for leave in leaves
        ]
        if lines:
            dispatcher.utter_message(response="utter_teacher_leaves", leaves="\n".join(lines))
        else:
            dispatcher.utter_message(response="utter_teacher_leaves_none", days=format_days(days))
        return []


class ActionCareTimes(Action):
    """When care starts and ends, and the leave cutoff: for the sender's children's schools,
    or for every school when the sender has not bound a child."""

    def name(self) -> str:
        return "action_care_times"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # "12月18号礼拜五也照常吗": whether care is held that day, not only its hours.
        try:
            day: date | None = parse_dates(latest_text(tracker), clock.today())[0]
        except DateParseError:
            day = None
        schools = service.care_times(
            sender_id=tracker.sender_id, day=day, text=latest_text(tracker)
        )
        lines = [_care_line(times) for times in schools]
        if not lines:
            dispatcher.utter_message(response="utter_service_unavailable")
        elif day is not None:
            dispatcher.utter_message(response="utter_care_times_on_day", schools="\n".join(lines))
        else:
            dispatcher.utter_message(response="utter_care_times", schools="\n".join(lines))
        return []


def _care_line(times: service.CareTimes) -> str:
    hours = (
        f"{times.care_start:%H:%M}-{times.care_end:%H:%M}，"
        f"当天请假请在 {times.leave_cutoff:%H:%M} 前提出"
    )
    if times.day is None:
        return f"· {times.school_name}：{hours}"
    day = format_day(times.day)
    if not times.has_care:
        why = times.occasion or "不是看护日"
        return f"· {times.school_name}：{day}{why}，没有课后看护"
    occasion = f"（{times.occasion}）" if times.occasion else ""
    return f"· {times.school_name}：{day}{occasion}照常看护，{hours}"
