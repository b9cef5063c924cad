"""The organisation's own settings (`data/organisation.yml`): cutoffs, answer times, booking
windows, follow-up intervals, the gas tariff.

These are choices the organisation made, not rules of the regulations; the assistant words
them as the organisation's arrangement. The file is checked when it is loaded: a missing
key, a value of the wrong type or an unknown key raises `OrganisationError` naming the
file and the key, so a typo stops the program instead of changing a rule quietly. The file
is read once per process; `ORGANISATION_FILE` (bot.infra.settings) names another one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.infra.settings import get_settings

HALF_DAYS = ("am", "pm")


class OrganisationError(ValueError):
    """The organisation settings file is missing a value or has one that cannot be used."""


@dataclass(frozen=True)
class SchoolSettings:
    default_leave_cutoff_minutes: int


@dataclass(frozen=True)
class ComplaintSettings:
    # Hours from filing to the promised answer, per complaint category code.
    response_hours: Mapping[str, int]


@dataclass(frozen=True)
class HomeVisitSettings:
    advance_days: int
    # When each half-day ("am", "pm") begins.
    half_day_starts: Mapping[str, time]


@dataclass(frozen=True)
class ElderlyCareSettings:
    follow_up_days: tuple[int, ...]


@dataclass(frozen=True)
class TariffTier:
    up_to_m3: int | None  # the yearly usage this tier ends at; None: no bound
    price_fen: int


@dataclass(frozen=True)
class GasSettings:
    residential_tiers: tuple[TariffTier, ...]
    commercial_price_fen: int


@dataclass(frozen=True)
class Organisation:
    school: SchoolSettings
    complaints: ComplaintSettings
    home_visits: HomeVisitSettings
    elderly_care: ElderlyCareSettings
    gas: GasSettings


class _Reader:
    """Reads typed values out of the parsed YAML, naming the file and key in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> OrganisationError:
        return OrganisationError(f"{self.source}: {key} {problem}")

    def mapping(self, node: Any, key: str, expected: tuple[str, ...]) -> dict[str, Any]:
        """`node` as a mapping holding exactly the keys `expected`."""
        if not isinstance(node, dict):
            raise self.fail(key, f"must be a mapping, got {type(node).__name__}")
        missing = [name for name in expected if name not in node]
        if missing:
            raise self.fail(key, f"is missing {', '.join(missing)}")
        unknown = sorted(str(name) for name in node if name not in expected)
        if unknown:
            raise self.fail(key, f"has unknown key(s) {', '.join(unknown)}")
        return node

    def integer(self, value: Any, key: str, *, minimum: int) -> int:
        # bool is an int in Python; `true` for a number of days is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, got {value!r}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {value}")
        return value

    def clock_time(self, value: Any, key: str) -> time:
        text = str(value) if isinstance(value, str) else ""
        hours, _, minutes = text.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
            raise self.fail(key, f'must be a time such as "08:00", got {value!r}')
        try:
            return time(int(hours), int(minutes))
        except ValueError:
            raise self.fail(key, f"is not a time of day: {value!r}") from None


def parse_organisation(raw: Any, *, source: str = "organisation settings") -> Organisation:
    """The settings in `raw` (the parsed YAML), checked; raises OrganisationError."""
    read = _Reader(source)
    top = read.mapping(raw, "the file", ("organisation",))
    root = read.mapping(
        top["organisation"],
        "organisation",
        ("school", "complaints", "home_visits", "elderly_care", "gas"),
    )

    school = read.mapping(root["school"], "organisation.school", ("default_leave_cutoff_minutes",))
    complaints = read.mapping(root["complaints"], "organisation.complaints", ("response_hours",))
    hours_key = "organisation.complaints.response_hours"
    hours = complaints["response_hours"]
    if not isinstance(hours, dict) or not hours:
        raise read.fail(hours_key, "must map each complaint category to hours")
    visits = read.mapping(
        root["home_visits"], "organisation.home_visits", ("advance_days", "half_day_starts")
    )
    starts_key = "organisation.home_visits.half_day_starts"
    starts = read.mapping(visits["half_day_starts"], starts_key, HALF_DAYS)
    elderly = read.mapping(root["elderly_care"], "organisation.elderly_care", ("follow_up_days",))
    follow_key = "organisation.elderly_care.follow_up_days"
    follow = elderly["follow_up_days"]
    if not isinstance(follow, list):
        raise read.fail(follow_key, f"must be a list of days, got {follow!r}")
    gas = read.mapping(
        root["gas"], "organisation.gas", ("residential_tiers", "commercial_price_fen")
    )

    half_day_starts = {
        name: read.clock_time(starts[name], f"{starts_key}.{name}") for name in HALF_DAYS
    }
    if half_day_starts["am"] >= half_day_starts["pm"]:
        raise read.fail(starts_key, "must start the morning before the afternoon")
    follow_up_days = tuple(
        read.integer(days, f"{follow_key}[{index}]", minimum=1) for index, days in enumerate(follow)
    )
    if list(follow_up_days) != sorted(set(follow_up_days)):
        raise read.fail(follow_key, "must be increasing, without repeats")
    return Organisation(
        school=SchoolSettings(
            default_leave_cutoff_minutes=read.integer(
                school["default_leave_cutoff_minutes"],
                "organisation.school.default_leave_cutoff_minutes",
                minimum=0,
            )
        ),
        complaints=ComplaintSettings(
            response_hours={
                str(code): read.integer(value, f"{hours_key}.{code}", minimum=1)
                for code, value in hours.items()
            }
        ),
        home_visits=HomeVisitSettings(
            advance_days=read.integer(
                visits["advance_days"], "organisation.home_visits.advance_days", minimum=0
            ),
            half_day_starts=half_day_starts,
        ),
        elderly_care=ElderlyCareSettings(follow_up_days=follow_up_days),
        gas=GasSettings(
            residential_tiers=_tiers(read, gas["residential_tiers"]),
            commercial_price_fen=read.integer(
                gas["commercial_price_fen"], "organisation.gas.commercial_price_fen", minimum=0
            ),
        ),
    )


def _tiers(read: _Reader, raw: Any) -> tuple[TariffTier, ...]:
    """The residential tiers: bounds rising, the last one without a bound."""
    key = "organisation.gas.residential_tiers"
    if not isinstance(raw, list) or not raw:
        raise read.fail(key, f"must be a list of tiers, got {raw!r}")
    tiers = []
    for index, item in enumerate(raw):
        where = f"{key}[{index}]"
        entry = read.mapping(item, where, ("up_to_m3", "price_fen"))
        bound = entry["up_to_m3"]
        tiers.append(
            TariffTier(
                up_to_m3=None
                if bound is None
                else read.integer(bound, f"{where}.up_to_m3", minimum=1),
                price_fen=read.integer(entry["price_fen"], f"{where}.price_fen", minimum=0),
            )
        )
    bounded = [tier.up_to_m3 for tier in tiers[:-1] if tier.up_to_m3 is not None]
    if tiers[-1].up_to_m3 is not None or len(bounded) != len(tiers) - 1:
        raise read.fail(key, "must end with the one tier whose up_to_m3 is null")
    if bounded != sorted(set(bounded)):
        raise read.fail(key, "must have rising up_to_m3 bounds")
    return tuple(tiers)


def load_organisation(path: Path) -> Organisation:
    """Read and check the settings file at `path`; raises OrganisationError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrganisationError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OrganisationError(f"{path}: is not valid YAML ({exc})") from exc
    return parse_organisation(raw, source=str(path))


@lru_cache(maxsize=4)
def _cached(path: Path) -> Organisation:
    return load_organisation(path)


def get_organisation() -> Organisation:
    """The configured organisation settings, read once per file."""
    return _cached(get_settings().organisation_file)
