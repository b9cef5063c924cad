"""The handoff desks' settings (data/handoff/desks.yml): staffed hours per department, the
expected wait, the idle time, what the desk tells the customer and the canned replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.infra.clock import as_utc, local_zone
from bot.infra.settings import get_settings


@dataclass(frozen=True)
class StaffedHours:
    days: frozenset[int]  # ISO weekdays, 1 = Monday
    opens: time
    closes: time
    label: str

    def staffed_at(self, moment: datetime) -> bool:
        local = as_utc(moment).astimezone(local_zone())
        return local.isoweekday() in self.days and self.opens <= local.time() < self.closes

    def next_opening(self, moment: datetime) -> datetime:
        """The first opening after `moment` (local time, as an aware datetime)."""
        local = as_utc(moment).astimezone(local_zone())
        for offset in range(0, 15):
            day = (local + timedelta(days=offset)).date()
            opening = datetime.combine(day, self.opens, tzinfo=local_zone())
            if day.isoweekday() in self.days and opening > local:
                return opening
        raise ValueError("no staffed day within two weeks")


@dataclass(frozen=True)
class CannedReply:
    title: str
    text: str


@dataclass(frozen=True)
class Desks:
    average_minutes: int
    idle_minutes: int
    reply_within_hours: int
    default_department: str
    hours: dict[str, StaffedHours]
    messages: dict[str, str]
    canned: tuple[CannedReply, ...]

    def hours_of(self, department: str) -> StaffedHours:
        return self.hours.get(department) or self.hours[self.default_department]

    def message(self, key: str, **values: str) -> str:
        return self.messages[key].format(**values)


MESSAGE_KEYS = ("joined", "transferred", "handed_back", "idle", "agent_prefix")


def _clock(text: str, where: str) -> time:
    try:
        hours, minutes = str(text).split(":")
        return time(int(hours), int(minutes))
    except ValueError as error:
        raise ValueError(f"{where}: {text!r} is not HH:MM") from error


def parse_desks(data: dict[str, Any], source: str = "desks.yml") -> Desks:
    """The settings of a loaded desks file; ValueError naming the file and key when wrong."""
    hours = {}
    for code, desk in (data.get("desks") or {}).items():
        spec = desk["hours"]
        days = frozenset(int(day) for day in spec["days"])
        if not days <= set(range(1, 8)):
            raise ValueError(f"{source}: desks.{code}.hours.days must be 1-7")
        hours[code] = StaffedHours(
            days=days,
            opens=_clock(spec["from"], f"{source}: desks.{code}.hours.from"),
            closes=_clock(spec["to"], f"{source}: desks.{code}.hours.to"),
            label=str(desk.get("label") or ""),
        )
    messages = {key: str(value) for key, value in (data.get("messages") or {}).items()}
    missing = [key for key in MESSAGE_KEYS if key not in messages]
    if missing:
        raise ValueError(f"{source}: messages.{missing[0]} is missing")
    default = str(data.get("default_department") or "service")
    if default not in hours:
        raise ValueError(f"{source}: default_department {default!r} has no desk")
    return Desks(
        average_minutes=int(data.get("average_minutes", 4)),
        idle_minutes=int(data.get("idle_minutes", 10)),
        reply_within_hours=int(data.get("reply_within_hours", 2)),
        default_department=default,
        hours=hours,
        messages=messages,
        canned=tuple(
            CannedReply(str(item["title"]), str(item["text"])) for item in data.get("canned") or ()
        ),
    )


@lru_cache(maxsize=4)
def _load(path: Path) -> Desks:
    with path.open(encoding="utf-8") as handle:
        return parse_desks(yaml.safe_load(handle) or {}, str(path))


def get_desks() -> Desks:
    return _load(get_settings().handoff_file)
