"""Which user messages the assistant could not place, and which of them read alike.

Pure functions over the rows of Rasa's `events` table (bot.analytics.figures.EventRow).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.analytics.figures import POLICY_ACTION, POLICY_NO_ANSWER_PREFIX, EventRow

NLU_FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
DENIED_AFFIRMATION = "denied_affirmation"  # the two-stage fallback's "都不是"
POLICY_NO_ANSWER = "policy_no_answer"
FORM_ABANDONED = "form_abandoned"
LOW_SATISFACTION = "low_satisfaction"  # the survey score that got utter_survey_thanks_low
REASONS = (
    NLU_FALLBACK,
    OUT_OF_SCOPE,
    DENIED_AFFIRMATION,
    POLICY_NO_ANSWER,
    FORM_ABANDONED,
    LOW_SATISFACTION,
)

_ASK_AFFIRMATION = "action_default_ask_affirmation"
_DEACTIVATE = "action_deactivate_loop"
_LOW_SCORE_THANKS = "utter_survey_thanks_low"
SIMILAR = 0.5  # the character n-gram similarity at which two texts are one group


@dataclass(frozen=True)
class Flag:
    """A user message (the event `event_id`) worth a supervisor's look, and why."""

    event_id: int
    sender_id: str
    channel: str
    text: str
    at: float
    reason: str


@dataclass
class _Last:
    user: EventRow | None = None
    action: str = ""
    policy_pending: bool = False


def _flag(row: EventRow, reason: str) -> Flag:
    return Flag(
        event_id=row.id,
        sender_id=row.sender_id,
        channel=str(row.data.get("input_channel") or ""),
        text=str(row.data.get("text") or ""),
        at=row.timestamp,
        reason=reason,
    )


def flags(rows: Iterable[EventRow]) -> Iterator[Flag]:
    """The flagged messages among `rows` (in the order written), once each."""
    last: dict[str, _Last] = {}
    for row in rows:
        state = last.setdefault(row.sender_id, _Last())
        if row.type_name == "user":
            intent = row.intent_name or ""
            text = str(row.data.get("text") or "")
            pending = state.user if state.user and state.user.intent_name == NLU_FALLBACK else None
            if pending is not None:
                # The fallback asked "did you mean ...?": "都不是" (/out_of_scope) denies it.
                denied = intent == OUT_OF_SCOPE and state.action == _ASK_AFFIRMATION
                yield _flag(pending, DENIED_AFFIRMATION if denied else NLU_FALLBACK)
            if intent == OUT_OF_SCOPE and not text.startswith("/"):
                yield _flag(row, OUT_OF_SCOPE)
            state.user = row if not text.startswith("/") else None
            state.policy_pending = False
        elif row.type_name == "action":
            name = row.action_name or ""
            if name == "action_listen":
                continue
            state.action = name
            if name == POLICY_ACTION:
                state.policy_pending = True
            elif name == _DEACTIVATE and state.user is not None:
                yield _flag(state.user, FORM_ABANDONED)
        elif row.type_name == "bot":
            utter = str((row.data.get("metadata") or {}).get("utter_action") or "")
            if state.policy_pending:
                state.policy_pending = False
                if utter.startswith(POLICY_NO_ANSWER_PREFIX) and state.user is not None:
                    yield _flag(state.user, POLICY_NO_ANSWER)
            elif utter == _LOW_SCORE_THANKS and state.user is not None:
                yield _flag(state.user, LOW_SATISFACTION)
    for state in last.values():  # a fallback not answered yet
        if state.user is not None and state.user.intent_name == NLU_FALLBACK:
            yield _flag(state.user, NLU_FALLBACK)


_PUNCTUATION = re.compile(r"[\W_]+", re.UNICODE)


def normalised(text: str) -> str:
    """`text` compared by what it says: full-width folded, lower case, no punctuation or
    spaces, every digit run one `0` (so "户号12***34" and "户号56***78" read alike)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"\d+", "0", _PUNCTUATION.sub("", folded))


def _ngrams(text: str) -> frozenset[str]:
    """The characters and character pairs of `text` (short Chinese messages: one changed
    character changes two pairs but only one character)."""
    return frozenset(text) | frozenset(text[i : i + 2] for i in range(len(text) - 1))


def similarity(a: str, b: str) -> float:
    """The Dice similarity of the normalised texts' characters and pairs (0..1)."""
    first, second = _ngrams(normalised(a)), _ngrams(normalised(b))
    if not first and not second:
        return 1.0
    return 2 * len(first & second) / (len(first) + len(second))


def groups(texts: list[str], threshold: float = SIMILAR) -> list[list[int]]:
    """The indexes of `texts` grouped by similar text: each text joins the first group
    whose first text it is at least `threshold` similar to; biggest groups first."""
    found: list[list[int]] = []
    for index, text in enumerate(texts):
        for group in found:
            if similarity(texts[group[0]], text) >= threshold:
                group.append(index)
                break
        else:
            found.append([index])
    return sorted(found, key=lambda group: (-len(group), group[0]))
