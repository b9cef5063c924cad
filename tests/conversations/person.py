"""The person on the other side of a conversation: what they say next, given the bot's replies.

A conversation file says who the person is, what they want and what they know (their
facts). The person sends their planned messages in order; a planned message may wait
for the bot to say something first (`after`). Between planned messages they answer the
bot as such a person would: press the button that fits what they want, otherwise reply
from their facts by what the question asks (户号, 手机后四位, 学号, 哪天, 地址 ...).

Nothing here talks to a server, so the choices can be tested on canned replies.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# What a prompt asks for, by the words it uses: (pattern, fact key), most specific first.
# A question may ask for several facts at once ("户号和手机后四位"); every key whose
# pattern matches is answered, in the order the question names them.
PROMPT_FACTS: tuple[tuple[str, str], ...] = (
    (r"还有别的|还有其他|别的药|其他药|还有吗|还有什么", "more"),
    (r"联系方式|怎么联系|如何联系|怎么告诉您|联系您|回复您|通知您", "contact"),
    (r"绑定码|邀请码|员工码", "staff_code"),
    (r"户号|燃气账号|用户号|客户编号", "account_no"),
    (r"后\s*(四|4)\s*位|尾号", "phone_last4"),
    (r"学号", "student_no"),
    (r"哪个孩子|哪位孩子|哪一位孩子|哪个学生|哪位学生|孩子的名字|孩子叫|学生姓名", "child"),
    (r"预约号|预约编号|SY\d", "booking_no"),
    (r"投诉单号|工单号|受理号|TS\d", "ticket_no"),
    (r"上午还是下午|上午或下午|哪个时段|什么时段|半天", "half_day"),
    (r"哪一?天|日期|几号|几月几日|哪个日子|什么时候(?!发生)|改到|改期到", "date"),
    (r"原因|理由|为什么|事由|因为什么", "reason"),
    (r"卧床|行动不便|行动|身体情况|身体状况|病情|年老体弱|能不能走|下床|自理", "condition"),
    (r"来源|哪里开|哪儿开|哪家医院|在哪开|外院|本中心开|哪里配|哪里来|从哪|哪来", "drug_source"),
    (r"第一次|首次|第一针|首剂|打过|不良反应", "first_dose"),
    (r"病历|出院小结|门诊记录", "medical_record"),
    (r"什么药|哪些药|哪种药|药名|药品|用药|输什么|打什么", "drug"),
    (r"医嘱|处方|医生开|医生的", "doctor_order"),
    (r"过敏|禁忌|基础病|慢性病", "health"),
    (r"服务项目|哪些服务|什么服务|哪项服务|需要什么帮助|需要哪些|哪方面", "services"),
    (r"工作人员|哪位员工|哪位师傅|哪位老师|哪位护士|员工姓名|工号|当事人|涉及的人", "staff"),
    (
        r"发生在|什么时候发生|何时发生|发生的|哪天发生|在哪里发生|时间和地点|时间、|什么地点",
        "occurred",
    ),
    (r"经过|发生了什么|具体情况|详细|描述|说说|什么问题|什么事", "description"),
    (r"姓名|名字|称呼|叫什么", "name"),
    (r"手机|电话|联系方式|怎么联系", "phone"),
    (r"地址|住址|住在|哪个小区|住哪", "address"),
)

# A key not asked when a more specific one is: 手机的后四位 asks for four digits only.
EXCLUDES: dict[str, set[str]] = {"phone": {"phone_last4"}}

# A question that asks the person to confirm what the bot repeated back.
CONFIRM_PROMPT = re.compile(
    r"确认|对吗|对不对|是否正确|是否无误|有没有问题|没问题吗|核对|可以吗|好吗|是吗[?？]|无误"
)
YES_BUTTON = re.compile(r"确认|^是|对|没问题|提交|好的|可以|正确|继续|要")
NO_BUTTON = re.compile(r"取消|^不|否|修改|不用|算了|重新|有误|不对|不要")
# How a question ends or starts in the bot's replies.
# A sentence that asks the person for something (请随时找我 does not).
ASKING = re.compile(
    r"[?？]|请(再|您)?(具体)?(问|告诉|输入|发送|选择|点选|回复|提供|补充|描述|填写|留|把|写|确认|说说)|麻烦"
)
# More than one fact asked at once: 户号和手机后四位.
JOINED = re.compile(r"和|以及|及|、|与|还有|并")
# A way out the bot offers in its own words: 不知道可以回复“不知道”, 或回复“不查了”结束.
OFFERED_REPLY = re.compile(r"回复[“\"]([^”\"]{1,8})[”\"]")

DEFAULT_ANSWERS = {"confirm": "对,确认", "deny": "不对"}
# What anyone says to these, unless their facts say otherwise.
DEFAULT_FACTS = {"more": "没有了"}
# The words of the service each flow's person wants, for the bot's "which one?" buttons.
FLOW_CHOICES: dict[str, tuple[str, ...]] = {
    "gas_bill": ("账单|查询燃气|燃气费|缴费",),
    "gas_usage": ("用气|账单",),
    "gas_binding": ("绑定",),
    "gas_reminders": ("提醒",),
    "meter_fault": ("报修|故障",),
    "leave": ("请假",),
    "leave_cancel": ("取消请假|取消",),
    "leave_list": ("请假记录|查询请假|请假",),
    "student_binding": ("绑定",),
    "infusion": ("输液|上门护理",),
    "elderly_care": ("居家养老|养老",),
    "booking_check": ("查询.*预约|预约查询",),
    "booking_change": ("改期|修改|调整|取消预约",),
    "complaint": ("投诉",),
    "complaint_status": ("投诉.*(进度|查询)|查询.*投诉",),
    "praise": ("表扬",),
    "policy": ("制度",),
    "staff_binding": ("员工|绑定",),
    "directory": ("电话|联系",),
    "out_of_scope": ("都不是",),
}
UNKNOWN_ANSWER = "这个我不清楚"
NOT_KNOWING = "does not know"
NONE_OF_THESE = re.compile(r"^(都不是|以上都不是|都不对)$")
# Words that turn an answer round: 没有过敏 is not 有药物过敏.
NEGATION = re.compile(r"没|无|不|否|未")


def normalize(text: str) -> str:
    """Full-width to half-width, no spaces, lower case: how two texts are compared."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).lower()


@dataclass(frozen=True)
class Turn:
    """A planned message: sent at once, or once the bot says something matching `after`."""

    say: str
    after: str | None = None
    gives: tuple[str, ...] | None = None  # facts it gives; None: found from the facts' values

    @classmethod
    def parse(cls, raw: Any) -> Turn:
        if isinstance(raw, str):
            return cls(say=raw)
        gives = raw.get("gives")
        return cls(
            say=str(raw["say"]),
            after=raw.get("after"),
            gives=tuple(gives) if gives is not None else None,
        )


@dataclass(frozen=True)
class Conversation:
    """One whole conversation as written in a file under tests/conversations/."""

    id: str
    flow: str
    persona: str
    goal: str
    facts: dict[str, str]
    turns: tuple[Turn, ...]
    expect: tuple[dict[str, Any], ...]
    choose: tuple[str, ...] = ()
    # Replies to questions matching a pattern; a list is used in order, its last repeated.
    answers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    setup: tuple[dict[str, Any], ...] = ()
    closing: str | None = None
    max_turns: int = 20
    # Facts given wrong on purpose (a neighbour's digits): asking them again is right.
    allow_reask: tuple[str, ...] = ()
    source: str = ""

    @classmethod
    def parse(cls, raw: dict[str, Any], source: str = "") -> Conversation:
        missing = [
            key for key in ("id", "flow", "persona", "goal", "turns", "expect") if key not in raw
        ]
        if missing:
            raise ValueError(
                f"{source}: conversation {raw.get('id', '?')} lacks {', '.join(missing)}"
            )
        return cls(
            id=str(raw["id"]),
            flow=str(raw["flow"]),
            persona=str(raw["persona"]),
            goal=str(raw["goal"]),
            facts={str(key): str(value) for key, value in (raw.get("facts") or {}).items()},
            turns=tuple(Turn.parse(turn) for turn in raw["turns"]),
            expect=tuple(raw["expect"]),
            choose=tuple(str(word) for word in raw.get("choose") or ()),
            answers=tuple(
                (str(k), tuple(str(x) for x in v) if isinstance(v, list) else (str(v),))
                for k, v in (raw.get("answers") or {}).items()
            ),
            setup=tuple(raw.get("setup") or ()),
            closing=raw.get("closing"),
            max_turns=int(raw.get("max_turns", 20)),
            allow_reask=tuple(raw.get("allow_reask") or ()),
            source=source,
        )


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotTurn:
    """What the bot said in answer to one message: its texts and the buttons offered."""

    texts: tuple[str, ...]
    buttons: tuple[Button, ...] = ()

    @classmethod
    def from_replies(cls, replies: list[dict[str, Any]]) -> BotTurn:
        texts = tuple(str(reply["text"]) for reply in replies if reply.get("text"))
        buttons = tuple(
            Button(str(button.get("title", "")), str(button.get("payload", "")))
            for reply in replies
            for button in reply.get("buttons") or []
        )
        return cls(texts, buttons)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def question(self) -> str:
        """The sentences of the last message that ask something (a form's question comes
        after any answer to an aside); empty when it asks nothing."""
        if not self.texts:
            return ""
        last = self.texts[-1]
        sentences = [s for s in re.split(r"(?<=[。!！?？\n])", last) if s.strip()]
        return "".join(s for s in sentences if ASKING.search(s))

    def asks(self) -> bool:
        return bool(self.question)


# A clause saying what the bot received (已收到户号 3100****, 验证成功).
RECEIVED = re.compile(r"\d{4,}|\*|已(收到|记录|登记|绑定)|收到|验证成功|好的")


def asking_part(question: str) -> str:
    """The clauses of a question that ask (请输入手机后四位 in 已收到户号 3100****,请输入
    手机后四位), so that a fact the bot repeats back does not count as asked."""
    clauses = [c for c in re.split(r"[,\uff0c;\uff1b:\uff1a]", question) if c.strip()]
    asking = [c for c in clauses if not RECEIVED.search(c)]
    return "".join(asking) if asking else question


def asked_facts(question: str) -> list[str]:
    """The fact keys a question asks for, in the order it names them."""
    question = asking_part(question)
    found: list[tuple[int, str]] = []
    for pattern, key in PROMPT_FACTS:
        match = re.search(pattern, question)
        if match and key not in {k for _, k in found}:
            found.append((match.start(), key))
            # The words are used up: 孩子的名字 does not also ask for the person's name.
            question = (
                question[: match.start()] + "□" * len(match.group()) + question[match.end() :]
            )
    keys = [key for _, key in sorted(found)]
    keys = [key for key in keys if not EXCLUDES.get(key, set()) & set(keys)]
    if len(keys) > 1 and not JOINED.search(question):
        # One fact asked, others named in passing (请把医嘱上的药名写上): the first in
        # PROMPT_FACTS, the most specific.
        order = [key for _, key in PROMPT_FACTS]
        keys = [min(keys, key=order.index)]
    return keys


def is_confirmation(turn: BotTurn) -> bool:
    """The bot repeats what it understood and asks whether it is right."""
    if CONFIRM_PROMPT.search(turn.question):
        return True
    titles = [button.title for button in turn.buttons]
    return any(YES_BUTTON.search(t) for t in titles) and any(NO_BUTTON.search(t) for t in titles)


@dataclass
class Reply:
    """What the person sends next and why (for the transcript)."""

    text: str
    why: str
    keys: tuple[str, ...] = ()  # the facts it answers, when it answers a question


@dataclass
class Person:
    """Plays one conversation's person; `next_message` decides each reply."""

    conversation: Conversation
    facts: dict[str, str] = field(default_factory=dict)
    planned: list[Turn] = field(default_factory=list)
    given: set[str] = field(default_factory=set)
    answered: dict[str, int] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)  # what they said, in order

    @classmethod
    def of(cls, conversation: Conversation, extra_facts: dict[str, str] | None = None) -> Person:
        facts = {**DEFAULT_FACTS, **conversation.facts, **(extra_facts or {})}
        planned = [
            Turn(say=fill(t.say, facts), after=t.after, gives=t.gives) for t in conversation.turns
        ]
        return cls(conversation, facts, planned)

    def opening(self) -> Reply:
        turn = self.planned.pop(0)
        self.note_given(turn.say, turn.gives)
        return Reply(turn.say, "planned")

    def has_planned(self) -> bool:
        return bool(self.planned)

    def note_given(self, message: str, gives: tuple[str, ...] | None = None) -> set[str]:
        """Remember which facts `message` gives; returns them."""
        if gives is not None:
            keys = set(gives)
        else:
            said = normalize(message)
            keys = {
                key
                for key, value in self.facts.items()
                if len(normalize(value)) >= 2 and normalize(value) in said
            }
        self.given |= keys
        return keys

    def next_message(self, turn: BotTurn) -> Reply | None:
        """The person's next message after `turn`, or None when they have nothing to say."""
        if self.planned:
            head = self.planned[0]
            if head.after is None or re.search(head.after, turn.text):
                return self._send_planned()
        reply = self.answer(turn)
        if self.planned and (reply is None or reply.why == NOT_KNOWING):
            # Nothing they can answer: they say what they meant to say anyway.
            return self._send_planned()
        if reply is not None and self.sent[-2:] == [reply.text, reply.text]:
            return None  # nobody types the same thing a third time: they give up
        return reply

    def _send_planned(self) -> Reply:
        turn = self.planned.pop(0)
        self.note_given(turn.say, turn.gives)
        return Reply(turn.say, f"planned (after {turn.after})" if turn.after else "planned")

    def answer(self, turn: BotTurn) -> Reply | None:
        """A reply to what the bot asks: a button that fits, or the facts it asks for."""
        button = self.choose_button(turn)
        if button is not None:
            return Reply(button.payload or button.title, f"button {button.title}")
        question = turn.question
        for pattern, answers in self.conversation.answers:
            if re.search(pattern, question):
                used = self.answered.get(pattern, 0)
                self.answered[pattern] = used + 1
                answer = fill(answers[min(used, len(answers) - 1)], self.facts)
                self.note_given(answer)
                return Reply(answer, f"answer for /{pattern}/")
        if is_confirmation(turn):
            return Reply(self.facts.get("confirm", DEFAULT_ANSWERS["confirm"]), "confirms")
        if not turn.asks():
            return None
        keys = [key for key in asked_facts(question) if key in self.facts]
        if keys == ["more"] and "more" in self.given:
            return None  # "没有了" said once; asked again, they leave
        if keys:
            self.given |= set(keys)
            return Reply(" ".join(self.facts[key] for key in keys), "facts", tuple(keys))
        # Not something they know: the way out the bot offers (回复“不知道”), if any.
        offered = OFFERED_REPLY.search(turn.text)
        if offered:
            return Reply(offered.group(1), "takes the reply offered")
        return Reply(self.facts.get("fallback", UNKNOWN_ANSWER), NOT_KNOWING)

    def choose_button(self, turn: BotTurn) -> Button | None:
        """The button whose title fits the person: a yes or no to a confirmation, one
        naming the fact asked for, one with their own words; unless the question asks a
        fact they can type, the service they came for, one naming any fact, 都不是."""
        if not turn.buttons:
            return None
        if is_confirmation(turn):
            wants_yes = not NO_BUTTON.search(self.facts.get("confirm", "对"))
            pattern = YES_BUTTON if wants_yes else NO_BUTTON
            other = NO_BUTTON if wants_yes else YES_BUTTON
            for button in turn.buttons:
                if pattern.search(button.title) and not other.search(button.title):
                    return button
        asked = [key for key in asked_facts(turn.question) if key in self.facts]
        named = self.button_naming(turn.buttons, [self.facts[key] for key in asked])
        if named is not None:
            return named
        for word in self.conversation.choose:  # the words they recognise on a button
            for button in turn.buttons:
                if re.search(word, button.title):
                    return button
        if asked:  # the question is about a fact they know: they type it
            return None
        for word in FLOW_CHOICES.get(self.conversation.flow, ()):
            for button in turn.buttons:
                if re.search(word, button.title):
                    return button
        # Any fact: only a title of two characters or more (是 is in too many answers).
        chosen = self.button_naming(turn.buttons, list(self.facts.values()), min_length=2)
        if chosen is None and "fallback" not in self.facts:
            # None of the services offered is what they want: they say so.
            chosen = next((b for b in turn.buttons if NONE_OF_THESE.search(b.title)), None)
        return chosen

    @staticmethod
    def button_naming(
        buttons: tuple[Button, ...], values: list[str], min_length: int = 1
    ) -> Button | None:
        """The button whose title the person's words say best: the longest title found in
        one of `values` (没有过敏 over 有过敏 for "没有过敏"), or a title holding a value."""
        best: tuple[float, Button] | None = None
        for value in values:
            wanted = normalize(value)
            if len(wanted) < 1:
                continue
            for button in buttons:
                title = normalize(button.title)
                if len(title) < max(1, min_length):
                    continue
                if bool(NEGATION.search(title)) != bool(NEGATION.search(wanted)):
                    continue
                if title in wanted:
                    score = 10.0 + len(title)
                elif len(wanted) >= 2 and wanted in title:
                    score = 10.0 + len(wanted)
                else:
                    # Most of the title's characters in the person's words: 本中心开的
                    # for "中心医生开的".
                    shared = sum(1 for char in set(title) if char in wanted) / len(set(title))
                    if shared < 0.6 or len(title) < 2:
                        continue
                    score = shared * len(title)
                if best is None or score > best[0]:
                    best = (score, button)
        return best[1] if best else None


def fill(text: str, facts: dict[str, str]) -> str:
    """`{key}` in a planned message replaced by the fact (set up before the conversation,
    e.g. a staff code or a booking number)."""
    return re.sub(r"\{(\w+)\}", lambda m: facts.get(m.group(1), m.group(0)), text)


@dataclass
class Watch:
    """What the bot did wrong along the way: questions asked again for facts already
    given, and the same prompt again and again."""

    loop_after: int = 3
    allow_reask: tuple[str, ...] = ()
    reasks: list[dict[str, Any]] = field(default_factory=list)
    last_prompts: list[str] = field(default_factory=list)
    loop: bool = False

    def see(self, turn: BotTurn, given_before: set[str], turn_no: int) -> None:
        """Record `turn`, answered to a person who had given `given_before`."""
        if not is_confirmation(turn):
            for key in asked_facts(turn.question):
                if key in given_before and key not in self.allow_reask:
                    self.reasks.append({"turn": turn_no, "fact": key, "prompt": turn.question[:80]})
        prompt = normalize(turn.texts[-1]) if turn.texts else ""
        if self.last_prompts and self.last_prompts[-1] == prompt:
            self.last_prompts.append(prompt)
        else:
            self.last_prompts = [prompt]
        if prompt and len(self.last_prompts) >= self.loop_after:
            self.loop = True
