"""What the project's forms share: on activation, they take what the first message already
says (a date, a reason, the service complained about) before asking for the rest; in the
middle, they leave a question asked aside to be answered, then ask again."""

from __future__ import annotations

import inspect
import re
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.emergency import WARNINGS, leak_under_way, say_leak_again
from actions.handoff import asks_for_person
from bot.directory import emergency_number
from bot.incidents import reports_incidents
from bot.reading import says_correction, says_stop, speaks_of_gas_emergency, tells_of_leak_steps
from bot.staff import is_staff

# Questions a customer may ask in the middle of a form ("营业厅几点关门" while filing a
# complaint): the form's validation answers them as they are answered outside a form
# (actions/asides.py), forgets what the message filled, and the form asks its question
# again. Only a message that asks something, with confidence, is taken as such a question:
# "今天上午 人民路营业厅" answers "when and where", "就在这里联系我" answers "how to reach you".
ASIDE_INTENTS = frozenset(
    {
        "ask_care_times",
        "ask_leave_alone",
        "ask_business_hall",
        "ask_gas_payment",
        "ask_gas_price",
        "ask_meter_schedule",
        "ask_contact",
        "list_policies",
        "ask_policy",
        "bot_challenge",
        "gas_leak",
    }
)
ASIDE_MIN_CONFIDENCE = 0.8
# A message that says it is a question aside ("等下 先问一句 …营业厅礼拜天开门不") needs
# less: its own words say it is no answer to the form's question.
_ASIDE_CUE = re.compile(r"先问|问一?下|问个|问一句|顺便问|对了|另外问|插一?句|打听一?下")
ASIDE_CUED_MIN_CONFIDENCE = 0.5
# "礼拜天开门不", "有人管没": a question ending in its "not" asks too.
_ASKS = re.compile(
    r"[?？]|吗|么|几|多少|哪|怎|什么|啥|谁|是不是|能不能|有没有|人工|[^\s][不没][呀啊呢]?[。!！\s]*$"
)
# A message with a number in it (a phone number, a 户号, a 学号) answers the form, whatever
# its words sound like ("有事打我电话 13900001111").
_NUMBER = re.compile(r"\d{4,}")
# A reply saying the number asked for is forgotten or not at hand: the form says where to
# find it instead of taking the reply as "stop".
FORGOT = re.compile(r"忘|不记得|记不得|记不清|不知道|不清楚|找不到|查不到|没带")
# An emergency is answered whatever the form was asking.
_URGENT = frozenset({"gas_leak"})


def _warned_just_before(tracker: Tracker) -> bool:
    """Whether what to do about leaking gas was said since the message before the latest
    one (that message read as a gas leak, or the warning said in the last turn or this
    one): a complaint about it that follows is not warned again."""
    users = 0
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            users += 1
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if users == 2 and intent in _URGENT:
                return True
            if users > 2:
                return False
        elif (
            kind == "bot"
            and users <= 1
            and (event.get("metadata") or {}).get("utter_action") in WARNINGS
        ):
            return True
    return False


# The forms the other services start. A request for one of them in the middle of another
# form ("顺便帮我查一下燃气费" while asked for a leave's reason) pauses that form, keeping what
# it holds, and starts the other: the message is never stored as the answer asked for.
SERVICE_FORMS = {
    "request_leave": "leave_form",
    "bind_student": "bind_student_form",
    "check_gas_bill": "gas_account_form",
    "check_gas_usage": "gas_account_form",
    "report_meter_fault": "gas_account_form",
    "check_fault_status": "gas_account_form",
    "set_arrears_reminder": "gas_account_form",
    "bind_gas_account": "gas_account_form",
    "file_complaint": "complaint_form",
    "book_home_visit": "infusion_form",
    "elderly_care": "care_form",
    "reschedule_booking": "reschedule_form",
}
# What a paused form is called, and what to say to take it up again (an intent that
# starts it; nothing already given is asked again).
FORM_TITLES = {
    "leave_form": ("请假", "接着请假"),
    "bind_student_form": ("绑定孩子", "接着绑定孩子"),
    "gas_account_form": ("燃气业务", "接着办燃气业务"),
    "complaint_form": ("投诉", "接着投诉"),
    "infusion_form": ("上门输液预约", "接着预约上门输液"),
    "care_form": ("居家养老服务登记", "接着申请居家养老服务"),
    "reschedule_form": ("改约", "接着改约"),
}
SWITCH_MIN_CONFIDENCE = 0.9
# Requests another service answers at once, without a form, and the words that make the
# message such a request: in the middle of a form ("单号是TS20261125-16136" while asked
# which service a new complaint is about) the form ends, nothing of it stored, and the
# request is answered. Only lookups everywhere; a form may add more (`handovers`: the
# visit forms hand over cancelling the booking the conversation names).
HANDOVERS = {
    "check_complaint_status": re.compile(
        r"TS\d{8}-?\d+|咋样了|怎么样了|进度|进展|结果|处理了?(没|吗|没有)|回复了?(没|吗)|有回音"
    ),
}
HANDOVER_MIN_CONFIDENCE = 0.5
# Only a message worded as a request starts another service: an answer that merely
# sounds like one ("去医院输液" as a leave's reason, "复查" in it) never does.
_REQUESTS = re.compile(
    r"帮我|帮忙|麻烦|我要|我想|还要|还想|顺便|另外|再帮|(?<!复)查一?下|(?<!复)查查|预约|申请|办一?下"
)
# The form paused by another service's request (its name): started again, it keeps what
# it holds instead of starting afresh.
PAUSED_SLOT = "paused_form"

# The question whose answer the form could not use, once: a second such answer in a row
# ends the form with an explanation instead of a third identical question.
RETRY_SLOT = "form_retry"


def message_text(tracker: Tracker) -> str:
    """The latest message's text, as typed."""
    return str((tracker.latest_message or {}).get("text") or "")


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
    """The latest message's intent and confidence as Rasa's slot mappings read them
    (`nlu_fallback` included, unlike `Tracker.get_intent_of_latest_message`)."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = intent.get("name")
    return (str(name) if name else None), float(intent.get("confidence") or 0.0)


# Questions whose own words say what they ask, whatever the NLU made of them ("等下 先问一句
# 人民路那个营业厅礼拜天开门不" read as a complaint): the halls' and the care's hours.
_WORDED_ASIDES = (
    (
        "ask_business_hall",
        re.compile(r"营业厅.{0,12}(?:开门|关门|营业|几点|上班|下班|开不开|休息)|营业时间"),
    ),
    (
        "ask_care_times",
        re.compile(r"(?:看护|晚托|托管|课后服务).{0,8}(?:几点|什么时候|啥时候)"),
    ),
)


# A staff member saying so ("我是抄表员 问能不能估着填表数"), and the words of a question
# asking whether something is allowed ("照上个月的数估一个填上行不行啊").
_SPEAKS_AS_STAFF = re.compile(
    r"(?:我|俺)(?:就)?是(?:这儿的|这里的|你们的|咱们的|咱的|单位的)?"
    r"(?:抄表员|抄表的|营业员|收费员|柜员|坐柜台的|护士|保安|保洁|员工|职工|工作人员|维修工|维修师傅)"
)
_ASKS_IF_ALLOWED = re.compile(
    r"行不行|行吗|可以吗|可不可以|能不能|能行吗|允许|让不让|合规|违规|算不算|要不要紧|有没有规定"
    r"|中不中|成不成|妥不妥|得了呗|就得了吧"
)


# A staff member asking about their own home's gas is a customer ("我是员工 能不能查下我家
# 的燃气费").
_OWN_HOME = re.compile(r"(?:我|俺|自己)(?:家|的户号|的账户|的燃气)")
# ...and so is one asking for a customer's service ("能不能查燃气费").
_CUSTOMER_REQUEST = re.compile(r"查|交费|缴费|交钱|充值|绑定|解绑|报修|欠费|账单|余额|用气量|发票")


def asks_as_staff(text: str, *, staff: bool) -> bool:
    """Whether `text` is a staff member's question whether something is allowed in the
    work: said to be asked as staff ("我是抄表员 问能不能估着填表数"), or from a verified
    staff member (`staff`: "我照上个月的数估一个填上行不行啊"). Never a message with a
    number in it (an account number answers the form) or about their own home."""
    if _NUMBER.search(text) or _OWN_HOME.search(text) or _CUSTOMER_REQUEST.search(text):
        return False
    if not _ASKS_IF_ALLOWED.search(text):
        return False
    return staff or bool(_SPEAKS_AS_STAFF.search(text))


def worded_aside(text: str) -> str | None:
    """The question a message asks in so many words (`_WORDED_ASIDES`), or None."""
    if not _ASKS.search(text) or _NUMBER.search(text):
        return None
    return next((intent for intent, words in _WORDED_ASIDES if words.search(text)), None)


def aside_intent(tracker: Tracker, intents: frozenset[str] = ASIDE_INTENTS) -> str | None:
    """What the latest message, in the middle of a form, asks as a question aside, or None:
    the NLU's intent when it is sure enough (less so when the message says it is an aside),
    else the question its own words ask."""
    if tracker.get_slot("requested_slot") is None:
        return None
    intent, confidence = latest_intent(tracker)
    text = (tracker.latest_message or {}).get("text") or ""
    bar = ASIDE_CUED_MIN_CONFIDENCE if _ASIDE_CUE.search(text) else ASIDE_MIN_CONFIDENCE
    if (
        intent in intents
        and confidence >= bar
        and not _NUMBER.search(text)
        and (intent in _URGENT or bool(_ASKS.search(text)))
    ):
        return intent
    worded = worded_aside(text)
    return worded if worded in intents else None


def asks_aside(tracker: Tracker, intents: frozenset[str] = ASIDE_INTENTS) -> bool:
    """Whether the latest message, in the middle of a form, is a question asked aside."""
    return aside_intent(tracker, intents) is not None


# How a question asked aside is answered: `actions.asides.answer`, installed by
# actions/__init__.py. The answers are actions of the flows' modules, which import this
# one, so importing them here would be an import cycle (pyproject.toml's contracts).
# (No type alias: a module-level alias would look like a class to tests/unit/test_deploy.)
_aside_answers: dict[str, Callable[..., Awaitable[list[EventType]]]] = {}


def answer_asides_with(answer: Callable[..., Awaitable[list[EventType]]]) -> None:
    """Install how the forms answer questions asked aside (actions/__init__.py does)."""
    _aside_answers["answer"] = answer


async def answer_aside(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> list[EventType]:
    """Answer a question asked aside, then undo what the message filled so that the form
    asks its question again (a slot set, even to None, keeps Rasa from rejecting the form
    and handing the turn to the rules)."""
    answered = await _aside_answers["answer"](dispatcher, tracker, domain)
    return [*answered, *_forget_message(tracker)]


def _forget_message(tracker: Tracker) -> list[EventType]:
    """Undo what the latest message filled, so that the form asks its question again."""
    requested = tracker.get_slot("requested_slot")
    filled = [name for name in tracker.slots_to_validate() if name != "requested_slot"]
    return [SlotSet(name, None) for name in dict.fromkeys([requested, *filled])]


def _as_requested(tracker: Tracker) -> Tracker:
    """The tracker whose latest message is the request a form starts from: the message
    itself, or, when a button started the form ("/request_leave" offered after a message
    that was not understood), the message before it."""
    if not message_text(tracker).startswith("/"):
        return tracker
    users = [event for event in reversed(tracker.events) if event.get("event") == "user"]
    before = next((e for e in users[1:] if not str(e.get("text") or "").startswith("/")), None)
    if before is None:
        return tracker
    request = tracker.copy()
    request.latest_message = {**tracker.latest_message, "text": before.get("text") or ""}
    return request


class FormEngine(FormValidationAction):
    """What every form shares, written once: it takes what the first message already says;
    any message stops it in plain words ("算了", "不预约了", "我没要投诉") without storing
    anything; a correction ("不对,是后天", "改成周四") changes the slot it names and keeps the
    rest; a question asked aside is answered and the question asked again; and the same
    question is not asked a third time after two answers it could not use.

    A form names its stop slot (`<flow>_blocked`: set, the form asks nothing more and its
    submit action stores nothing) and the reply to a stop; `_prefill` reads every slot the
    form can take from one message, and serves for the first message and for corrections.
    """

    # The questions this form answers aside (`asks_aside`).
    aside_intents = ASIDE_INTENTS
    # Set by a stop: the form asks nothing more and its submit action stores nothing.
    stop_slot = ""
    stopped_response = ""
    # Questions answered by yes or no: "不用了" answers them and does not stop the form.
    yes_no_slots: frozenset[str] = frozenset()
    # Whether every message, not only the first, fills the slots still empty that it gives
    # ("31001006 尾号2006" answers the 户号 and the phone digits at once). Off for forms
    # whose order matters more (the infusion form asks the regulation's facts first).
    reads_every_message = False
    # The slots a correction may change (None: every slot `_prefill` reads); a complaint's
    # description is never replaced by the words of a correction.
    correctable_slots: frozenset[str] | None = None
    # Words that, besides `says_correction`'s, take back what was given ("只请后天一天" in a
    # leave form): the slots the message gives then change, whatever was asked.
    correction_cues: re.Pattern[str] | None = None
    # Requests that end this form and are answered at once (`HANDOVERS`).
    handovers: ClassVar[Mapping[str, re.Pattern[str]]] = HANDOVERS
    # Whether a staff member's question on how to do the work ("我是抄表员 问能不能估着填
    # 表数") ends this form and is answered from the regulations (`asks_as_staff`): on for
    # the forms about a customer's own records, which a staff member never wants, and for
    # the complaint form (a customer's "这合规定吗" is no staff question and stays).
    staff_questions_end_form = False
    # Whether a message speaking of a gas emergency, once warned of, is no answer to the
    # question asked (it is asked again). Off where such words are the answer itself: a
    # complaint's description, a meter fault ("表那有股燃气味").
    emergency_is_aside = True

    @abstractmethod
    def name(self) -> str:
        """The form's validation action."""

    def _prefill(self, tracker: Tracker) -> dict[str, Any]:
        """The slot values the latest message gives (None: not given, which clears a value
        left from an earlier form when the form starts)."""
        return {}

    @reports_incidents
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        requested = tracker.get_slot("requested_slot")
        aside = asks_aside(tracker, self.aside_intents)
        # Before anything else, even a stop: what to do about leaking gas.
        warned = self._warn_of_emergency(dispatcher, tracker, aside=aside)
        if self._follows_a_leak(tracker):
            say_leak_again(dispatcher)
            return self._stop_events(tracker, domain)
        if self._says_stop(tracker):
            dispatcher.utter_message(response=self.stopped_response)
            return self._stop_events(tracker, domain)
        if self._switches(tracker):
            return self._pause(dispatcher, tracker)
        if self._hands_over(tracker):
            answered = await _aside_answers["answer"](dispatcher, tracker, domain)
            return [*answered, *self._stop_events(tracker, domain)]
        if self._staff_question(tracker):
            answered = await _aside_answers["answer"](
                dispatcher, tracker, domain, intent="ask_policy"
            )
            return [*answered, *self._stop_events(tracker, domain)]
        if aside:
            return await answer_aside(dispatcher, tracker, domain)
        if warned and self.emergency_is_aside and requested is not None:
            return _forget_message(tracker)
        if requested is not None:
            text = message_text(tracker)
            explicit = says_correction(text) or bool(
                self.correction_cues and self.correction_cues.search(text)
            )
            corrected = await self._correct(dispatcher, tracker, domain, explicit=explicit)
            if corrected is not None:
                return corrected
        if requested is None and tracker.get_slot(PAUSED_SLOT) == self.form_name():
            # Taken up again after another service: what it held stays, the message adds.
            given = self._prefill(_as_requested(tracker)).items()
            prefill = [SlotSet(name, value) for name, value in given if value is not None]
            prefill += [SlotSet(PAUSED_SLOT, None), SlotSet(RETRY_SLOT, None)]
        elif requested is None:
            request = _as_requested(tracker)
            prefill = [*self._changes(self._prefill(request), tracker), SlotSet(RETRY_SLOT, None)]
        elif self.reads_every_message:
            prefill = self._also_given(tracker)
        else:
            prefill = []
        tracker.add_slots(prefill)
        events = [*prefill, *await self._validate(dispatcher, tracker, domain)]
        return self._limit_retries(dispatcher, tracker, domain, events)

    def _follows_a_leak(self, tracker: Tracker) -> bool:
        """Whether the message that would start this form tells, during a gas leak, of a
        step taken or asks what to do next ("火我关了 窗也开了 还要干啥", read as a
        complaint): it is the leak that goes on, answered with the steps again, and the form
        does not start."""
        return (
            bool(self.stop_slot)
            and tracker.get_slot("requested_slot") is None
            and tracker.get_slot(PAUSED_SLOT) != self.form_name()
            and tells_of_leak_steps(message_text(tracker))
            and leak_under_way(tracker)
        )

    def _switches(self, tracker: Tracker) -> bool:
        """Whether the latest message, in the middle of this form, asks for a service that
        another form gives, or for a person (转人工: action_contact hands over)."""
        if tracker.get_slot("requested_slot") is None:
            return False
        intent, confidence = latest_intent(tracker)
        if intent == "ask_contact" and asks_for_person(message_text(tracker)):
            return True
        target = SERVICE_FORMS.get(intent or "")
        return (
            target is not None
            and target != self.form_name()
            and confidence >= SWITCH_MIN_CONFIDENCE
            and bool(_REQUESTS.search(message_text(tracker)))
        )

    def _hands_over(self, tracker: Tracker) -> bool:
        """Whether the latest message, in the middle of this form, asks what another
        service answers at once (`HANDOVERS`)."""
        if tracker.get_slot("requested_slot") is None:
            return False
        intent, confidence = latest_intent(tracker)
        words = self.handovers.get(intent or "")
        return (
            words is not None
            and confidence >= HANDOVER_MIN_CONFIDENCE
            and bool(words.search(message_text(tracker)))
        )

    def _staff_question(self, tracker: Tracker) -> bool:
        """Whether the latest message is a staff member's question on the work that ends
        this form (`staff_questions_end_form`, `asks_as_staff`)."""
        text = message_text(tracker)
        if not self.staff_questions_end_form or speaks_of_gas_emergency(text):
            return False
        # Said as staff, or else (one query) from a verified staff member.
        if not asks_as_staff(text, staff=True):
            return False
        return asks_as_staff(text, staff=False) or is_staff(tracker.sender_id)

    def _warn_of_emergency(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, *, aside: bool
    ) -> bool:
        """Say what to do now when the latest message speaks of leaking gas, smoke or fire
        ("邻居家好像有股味 燃气抢修电话多少"), unless it is read as a gas leak that is answered
        as a question aside (`aside`) or, in the gas form, by the rules. The message that
        starts a form is warned of too ("投诉 楼道管道接口漏气 师傅看了一眼就走了 现在还有
        味道" starts the complaint, and no rule answered the leak)."""
        if not speaks_of_gas_emergency(message_text(tracker)):
            return False
        if tracker.get_slot("requested_slot") is None and _warned_just_before(tracker):
            return False
        intent, _ = latest_intent(tracker)
        if intent in _URGENT and (aside or intent not in self.aside_intents):
            return False
        phone = emergency_number()
        dispatcher.utter_message(
            response="utter_gas_leak" if phone else "utter_gas_leak_no_line", emergency_phone=phone
        )
        return True

    def _pause(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """Keep what the form holds, say how to take it up again, and reject this turn so
        that Rasa's rules start the service asked for (the message fills nothing here)."""
        title, resume = FORM_TITLES.get(self.form_name(), ("刚才的事", "继续"))
        dispatcher.utter_message(response="utter_form_paused", paused=title, resume=resume)
        requested = tracker.get_slot("requested_slot")
        filled = [name for name in tracker.slots_to_validate() if name != "requested_slot"]
        return [
            *(SlotSet(name, None) for name in dict.fromkeys([requested, *filled])),
            SlotSet(PAUSED_SLOT, self.form_name()),
            SlotSet(RETRY_SLOT, None),
            ActionExecutionRejected(self.form_name()),
        ]

    def _also_given(self, tracker: Tracker) -> list[EventType]:
        """Slots still empty that a message answering another question also gives."""
        requested = tracker.get_slot("requested_slot")
        return [
            SlotSet(name, value)
            for name, value in self._prefill(tracker).items()
            if value is not None
            and name not in {requested, self.stop_slot}
            and tracker.get_slot(name) is None
        ]

    async def _validate(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """The form's own extraction and validation (rasa_sdk's, unless overridden)."""
        return await super().run(dispatcher, tracker, domain)

    def _says_stop(self, tracker: Tracker) -> bool:
        requested = tracker.get_slot("requested_slot")
        # The message that started the form asked for it ("不投诉 就是想反映一下").
        if not self.stop_slot or requested is None:
            return False
        return says_stop(message_text(tracker), yes_no_question=requested in self.yes_no_slots)

    def _stop_events(self, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Forget what this form collected, block its submit action and end it."""
        slots = [*self.domain_slots(domain), *tracker.slots_to_validate()]
        forgotten = [SlotSet(name, None) for name in dict.fromkeys(slots) if name != self.stop_slot]
        return [
            *forgotten,
            SlotSet(self.stop_slot, True),
            SlotSet(RETRY_SLOT, None),
            SlotSet("requested_slot", None),
        ]

    async def _correct(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        *,
        explicit: bool,
    ) -> list[EventType] | None:
        """Change the slots a correction names, validated as their first answers were;
        None when it names none of them (then the message answers the question asked).

        A correction in words ("不对,改成下周一上午") may also give a slot not asked yet; a
        different value given in answer to a yes/no question ("不是 周五呢" when asked to
        confirm Thursday) corrects only what was given before."""
        requested = tracker.get_slot("requested_slot")
        if not explicit and requested not in self.yes_no_slots:
            return None
        given = self._prefill(tracker)
        if given.get(requested) is not None:
            return None  # it answers the question asked ("不对 改成下周一上午" asked the day)
        read = {
            name: value
            for name, value in given.items()
            if value is not None
            and name != requested
            and name != self.stop_slot
            and (self.correctable_slots is None or name in self.correctable_slots)
            and (explicit or tracker.get_slot(name) is not None)
            and tracker.get_slot(name) != value
        }
        if not read:
            return None
        # The words of the correction are not an answer to the question asked.
        undo = {requested: None} if requested else {}
        events: list[EventType] = [SlotSet(name, value) for name, value in undo.items()]
        tracker.add_slots(events)
        for name, value in read.items():
            checked = await self._validate_one(name, value, dispatcher, tracker, domain)
            events += [SlotSet(key, val) for key, val in checked.items()]
            tracker.add_slots([SlotSet(key, val) for key, val in checked.items()])
        dispatcher.utter_message(response="utter_form_corrected")
        next_slot = await self.next_requested_slot(dispatcher, tracker, domain)
        return [*events, *([next_slot] if next_slot else [])]

    async def _validate_one(
        self,
        name: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        validate = getattr(self, f"validate_{name}", None)
        if validate is None:
            return {name: value}
        result = validate(value, dispatcher, tracker, domain)
        if inspect.isawaitable(result):
            result = await result
        return dict(result or {})

    def _limit_retries(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> list[EventType]:
        """Count answers the form could not use for the question asked; after the second
        in a row, explain and stop rather than ask the same question a third time."""
        requested = tracker.get_slot("requested_slot")
        if requested is None or not self.stop_slot or tracker.get_slot(self.stop_slot):
            return events
        set_now = {e.get("name"): e.get("value") for e in events if e.get("event") == "slot"}
        if not set(set_now) - {"requested_slot"}:
            # Nothing was taken from the message (its intent is not one the form's slots
            # accept, such as a gas leak in the gas form): Rasa then hands the turn to
            # the rules, which an event set here would prevent.
            return events
        next_asked = set_now.get("requested_slot", requested)
        failed = (
            next_asked == requested
            and set_now.get(requested) is None
            and tracker.get_slot(requested) is None
            and not set_now.get(self.stop_slot)
        )
        if not failed:
            return [*events, SlotSet(RETRY_SLOT, None)]
        if tracker.get_slot(RETRY_SLOT) != requested:
            return [*events, SlotSet(RETRY_SLOT, requested)]
        dispatcher.utter_message(response=self.stuck_response(tracker))
        return [*events, *self._stop_events(tracker, domain)]

    def stuck_response(self, tracker: Tracker) -> str:
        """What the form says when it stops after the same question failed twice."""
        return "utter_form_stuck"

    @staticmethod
    def _changes(slots: dict[str, Any], tracker: Tracker) -> list[EventType]:
        """Only changes: a slot reset to None that was None already would be validated anew."""
        return [
            SlotSet(name, value)
            for name, value in slots.items()
            if value is not None or tracker.get_slot(name) is not None
        ]
