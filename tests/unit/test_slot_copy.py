"""Slot.__copy__ (bot.runtime.slot_copy): what copy.copy made of every slot of the domain."""

from __future__ import annotations

import copy

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.infra.settings import PROJECT_ROOT
from bot.runtime import slot_copy


@pytest.fixture()
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def test_every_slot_is_copied_as_copy_copy_copies_it(domain):
    slot_copy.uninstall()
    expected = [copy.copy(slot) for slot in domain.slots]
    for slot in domain.slots:
        slot.value = ["a", {"b": 1}]  # set after the copies: they must not follow
    slot_copy.install()
    try:
        for slot, original_copy in zip(domain.slots, expected, strict=True):
            assert type(slot).__copy__ is slot_copy.copy_slot
            ours = copy.copy(slot)
            assert ours is not slot and type(ours) is type(slot)
            assert vars(ours) == vars(slot)
            assert ours.value is slot.value  # shallow, as copy.copy is
            assert set(vars(ours)) == set(vars(original_copy))
    finally:
        slot_copy.uninstall()
    assert "__copy__" not in vars(type(domain.slots[0]).__mro__[-2])


def test_trackers_made_with_it_are_the_same(domain):
    events = [SlotSet(slot.name, None) for slot in domain.slots[:5]]
    slot_copy.uninstall()
    plain = DialogueStateTracker.from_events("a", events, domain.slots)
    slot_copy.install()
    try:
        fast = DialogueStateTracker.from_events("a", events, domain.slots)
        assert fast.current_state() == plain.current_state()
        assert fast.copy().current_state() == plain.copy().current_state()
        fast.slots[domain.slots[0].name].value = "changed"
        assert domain.slots[0].value != "changed"  # the tracker's slots are its own
    finally:
        slot_copy.uninstall()
