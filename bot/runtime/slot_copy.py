"""A faster shallow copy of Rasa's slots.

Every conversation tracker Rasa makes copies each of the domain's slots (49 here) with
`copy.copy`: one when the tracker store reads a conversation, one per action run
(`tracker.copy()`), and one for each replay of past states. `copy.copy` of a plain object
goes through `__reduce_ex__` and `copyreg`; the slot copies were 8.6% of the Rasa server's
event loop at concurrency 8 (py-spy, README Speed).

`Slot.__copy__` does what that generic path does for a class without `__slots__`,
`__getstate__` or `__setstate__` (Rasa's slots have none; ABC's `__slots__` is empty):
a new instance of the same class, without calling `__init__`, with the same attributes
(a shallow copy of `__dict__`). `tests/unit/test_slot_copy.py` checks it against
`copy.copy`'s own result for every slot of the domain.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def copy_slot(slot: T) -> T:
    """`copy.copy(slot)` as copyreg makes it, without copyreg."""
    new = object.__new__(type(slot))
    new.__dict__.update(slot.__dict__)
    return new


def install() -> None:
    """Give Rasa's `Slot` (and so every slot type) `copy_slot` as its `__copy__`."""
    from rasa.shared.core.slots import Slot

    for cls in (Slot, *_subclasses(Slot)):
        for base in cls.__mro__[:-1]:  # all but object
            state_methods = "__getstate__" in vars(base) or "__setstate__" in vars(base)
            if state_methods or vars(base).get("__slots__"):  # ABC's empty __slots__ is fine
                return  # a slot class copyreg would treat otherwise: keep copy.copy's way
    Slot.__copy__ = copy_slot


def uninstall() -> None:
    from rasa.shared.core.slots import Slot

    if "__copy__" in vars(Slot):
        del Slot.__copy__


def _subclasses(cls: Any) -> list[Any]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
