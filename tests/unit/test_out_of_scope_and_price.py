"""Two answers outside any form: what is out of scope (never the same text three times in a
row, however often the person insists) and the gas price list (the organisation's data)."""

from __future__ import annotations

import itertools

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionOutOfScope, out_of_scope_in_a_row
from bot.gas.wording import tariff_text
from bot.organisation import GasSettings, TariffTier


def _user(intent: str, text: str = "…") -> dict:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def _tracker(events: list[dict]) -> Tracker:
    latest = events[-1]["parse_data"] if events else {}
    return Tracker("web:oos", {}, latest, events, False, None, {}, "action_listen")


def _said(events: list[dict]) -> str:
    dispatcher = CollectingDispatcher()
    ActionOutOfScope().run(dispatcher, _tracker(events), {})
    return dispatcher.messages[0]["response"]


def test_out_of_scope_messages_are_counted_back_from_the_newest():
    bot = {"event": "bot", "text": "…"}
    events = [_user("greet"), _user("out_of_scope"), bot, _user("oos_services"), bot]
    assert out_of_scope_in_a_row(_tracker([*events, _user("out_of_scope")])) == 3
    assert out_of_scope_in_a_row(_tracker([_user("out_of_scope"), _user("check_gas_bill")])) == 0


def test_insisting_out_of_scope_never_gets_the_same_text_twice_in_a_row():
    events: list[dict] = []
    said = []
    for _ in range(6):
        events.append(_user("out_of_scope", "驾校练车明天想请个假"))
        said.append(_said(events))
        events.append({"event": "bot", "text": said[-1]})
    assert said[0] == "utter_out_of_scope"
    assert "utter_out_of_scope_again" in said  # the second time: a person, the services
    assert all(a != b for a, b in itertools.pairwise(said))


def test_a_service_between_two_out_of_scope_messages_starts_the_count_again():
    events = [_user("out_of_scope"), _user("check_gas_bill"), _user("out_of_scope")]
    assert _said(events) == "utter_out_of_scope"


def test_the_price_list_reads_the_organisations_tiers():
    gas = GasSettings(
        residential_tiers=(TariffTier(300, 250), TariffTier(None, 300)),
        commercial_price_fen=320,
    )
    assert tariff_text(gas).splitlines() == [
        "· 居民第一档（全年用气 300 方以内）：2.50 元/方",
        "· 居民第二档（全年用气 300 方以上）：3.00 元/方",
        "· 商业用户：3.20 元/方",
    ]
