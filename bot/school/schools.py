"""Adding a school: the organisation's default leave cutoff where the school sets none."""

from __future__ import annotations

from datetime import time

from bot.models import School
from bot.organisation import get_organisation


def new_school(
    *,
    code: str,
    name: str,
    care_start: time,
    care_end: time,
    leave_cutoff_minutes: int | None = None,
    care_weekdays: str = "12345",
    office_phone: str = "",
    is_demo: bool = False,
) -> School:
    """A new (unsaved) school; without its own cutoff it takes data/organisation.yml's.

    The default is read here, when the school is made, and stored in its row, so a later
    change of the organisation's default does not move existing schools' cutoffs.
    """
    if leave_cutoff_minutes is None:
        leave_cutoff_minutes = get_organisation().school.default_leave_cutoff_minutes
    return School(
        code=code,
        name=name,
        care_start=care_start,
        care_end=care_end,
        leave_cutoff_minutes=leave_cutoff_minutes,
        care_weekdays=care_weekdays,
        office_phone=office_phone,
        is_demo=is_demo,
    )
