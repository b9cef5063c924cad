"""Service manners (服务管理制度7: 三声服务, 来有迎声、问有答声、走有送声): thanks that also
say goodbye ("谢谢 再见") are seen off with a farewell, not asked what else is needed."""

from __future__ import annotations

import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.incidents import reports_incidents
from bot.reading import normalize_chinese

_GOODBYE = re.compile(
    r"再见|拜拜|拜了|bye|回见|下次见|先这样|没事了|没别的|就这些|就这样|先走了", re.IGNORECASE
)


def says_goodbye(text: str) -> bool:
    """Whether a message takes leave ("谢谢 再见", "好的谢谢 没别的了")."""
    return bool(_GOODBYE.search(normalize_chinese(text)))


class ActionAnswerThanks(Action):
    """Thanks are answered; thanks with a goodbye are seen off (走有送声)."""

    def name(self) -> str:
        return "action_answer_thanks"

    @reports_incidents
    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = str((tracker.latest_message or {}).get("text") or "")
        dispatcher.utter_message(
            response="utter_goodbye" if says_goodbye(text) else "utter_you_are_welcome"
        )
        return []
