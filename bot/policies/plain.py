"""The plain sentence a policy answer starts with, and questions that follow one up.

The sentence comes from the clause, never from the question: a short answer written
from the regulation text (data/policies/short_answers.yml) or, for a clause without one,
the clause's own sentence that states what the question asks for (a duration, an
amount: `asked_kinds`), else its first sentence. When the question asks yes or no, the
answer's yes or no (不可以, 要) is said first.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.policies.search import POLICY_DIR, PolicyHit, asked_kinds

SHORT_ANSWERS_PATH = POLICY_DIR / "short_answers.yml"

# "能…吗", "要不要", and the dialect's tag question "能抽根烟不".
_YES_NO = re.compile(
    r"吗|嘛|能不能|可不可以|可以不|行不行|成不成|要不要|用不用|是不是|会不会|有没有|准不准"
    r"|得不得|[能可要会行成准]\w*不\W*$|不\W*$"
)
# How a clause says no, must, or may: the yes or no said before a clause without a
# written short answer.
_POLARITY = (
    ("不可以", re.compile(r"严禁|禁止|不得|不准|不能|不可|杜绝|一律不|不予")),
    ("要", re.compile(r"必须|须|应|要|需")),
    ("可以", re.compile(r"可以|可|接受")),
)
_SENTENCE_END = re.compile(r"(?<=[。;；!！?？])")
# A caption before the rule: "客户接待与咨询:规定如何…".
_CAPTION = re.compile(r"^[^,，。;；:：]{1,12}[:：]")
# A follow-up names what changed and leans on the last question for the rest.
_FOLLOW_UP = re.compile(r"^(?:那|那么|那要是|要是|如果是|还有|另外)|呢\W*$")
# A question this short that finds nothing alone is taken as a follow-up ("多久一次?").
SHORT_FOLLOW_UP = 8
_LETTERS = re.compile(r"\w")


@dataclass(frozen=True)
class ShortAnswer:
    answer: str
    yes_no: str = ""


@lru_cache(maxsize=1)
def short_answers(path: Path = SHORT_ANSWERS_PATH) -> dict[str, ShortAnswer]:
    """The written short answers by "CODE:LABEL"."""
    with path.open(encoding="utf-8") as handle:
        clauses = yaml.safe_load(handle)["clauses"]
    return {key: ShortAnswer(**entry) for key, entry in clauses.items()}


def asks_yes_or_no(question: str) -> bool:
    """Whether `question` asks yes or no ("机房能抽烟吗", "能抽根烟不")."""
    return bool(_YES_NO.search(unicodedata.normalize("NFKC", question).strip()))


def clause_sentences(text: str) -> list[str]:
    """The clause's sentences, each without a leading caption."""
    sentences = []
    for part in _SENTENCE_END.split(text):
        part = _CAPTION.sub("", part.strip()).strip()
        if _LETTERS.search(part):
            sentences.append(part)
    return sentences


def _sentence_stating(question: str, text: str) -> str:
    sentences = clause_sentences(text) or [text.strip()]
    for kind in asked_kinds(question):
        for sentence in sentences:
            if kind.stated.search(unicodedata.normalize("NFKC", sentence)):
                return sentence
    return sentences[0]


def _polarity(sentence: str) -> str:
    for word, pattern in _POLARITY:
        if pattern.search(sentence):
            return word
    return ""


def _full_stop(sentence: str) -> str:
    sentence = sentence.rstrip(";；,，、 ")
    return sentence if sentence.endswith(("。", "!", "！", "?", "？")) else sentence + "。"


def plain_answer(question: str, hit: PolicyHit, *, searched: str = "") -> str:
    """One plain sentence answering `question` from `hit`'s clause; `searched` is what
    was searched for a follow-up (the previous question says what is asked for)."""
    written = short_answers().get(f"{hit.code}:{hit.clause}")
    if written:
        answer, yes_no = written.answer, written.yes_no
    else:
        answer = _sentence_stating(searched or question, hit.text)
        yes_no = _polarity(answer)
    answer = _full_stop(answer)
    if yes_no and asks_yes_or_no(question):
        return f"{yes_no}。{answer}"
    return answer


def is_follow_up(question: str) -> bool:
    """Whether `question` is worded as a follow-up ("那商业用户呢", "要是周末呢")."""
    return bool(_FOLLOW_UP.search(unicodedata.normalize("NFKC", question).strip()))


def is_short(question: str) -> bool:
    """Whether `question` is short enough to lean on the last one when it finds nothing
    alone ("多久一次?")."""
    return len(_LETTERS.findall(question)) <= SHORT_FOLLOW_UP


def with_context(question: str, previous: str) -> str:
    """The search text for a follow-up: its own words twice, so they outweigh those of
    the previous question, which supply what the follow-up leaves out."""
    return f"{question} {question} {previous}"
