"""The organisation settings file: the project's own loads, and a bad one is refused with
the file and the key named."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
import yaml

from bot.complaints.catalog import CatalogError, parse_catalog
from bot.infra.settings import PROJECT_ROOT, Settings
from bot.organisation import (
    Organisation,
    OrganisationError,
    get_organisation,
    load_organisation,
    parse_organisation,
)

SETTINGS_FILE = PROJECT_ROOT / "data" / "organisation.yml"


def raw_settings() -> dict:
    return yaml.safe_load(SETTINGS_FILE.read_text(encoding="utf-8"))


def write(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "organisation.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_the_projects_file_loads_with_its_values():
    settings = load_organisation(SETTINGS_FILE)
    assert isinstance(settings, Organisation)
    assert settings.school.default_leave_cutoff_minutes == 60
    assert settings.complaints.response_hours["safety"] == 4
    assert settings.home_visits.advance_days == 14
    assert settings.home_visits.half_day_starts == {"am": time(8, 0), "pm": time(13, 30)}
    assert settings.elderly_care.follow_up_days == (7, 30)
    assert [t.up_to_m3 for t in settings.gas.residential_tiers] == [360, 600, None]
    assert get_organisation() == settings


def test_a_temporary_file_is_read_like_the_projects(tmp_path):
    raw = raw_settings()
    raw["organisation"]["home_visits"]["advance_days"] = 7
    assert load_organisation(write(tmp_path, raw)).home_visits.advance_days == 7


def test_the_file_is_named_by_organisation_file(tmp_path):
    path = write(tmp_path, raw_settings())
    assert Settings.from_env({"ORGANISATION_FILE": str(path)}).organisation_file == path


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(OrganisationError, match=r"nowhere\.yml: cannot be read"):
        load_organisation(tmp_path / "nowhere.yml")


def test_a_file_that_is_not_yaml_is_refused(tmp_path):
    path = tmp_path / "organisation.yml"
    path.write_text("organisation: [unclosed", encoding="utf-8")
    with pytest.raises(OrganisationError, match="is not valid YAML"):
        load_organisation(path)


@pytest.mark.parametrize(
    ("section", "key", "message"),
    [
        ("school", "default_leave_cutoff_minutes", "organisation.school is missing"),
        ("home_visits", "half_day_starts", "organisation.home_visits is missing"),
        ("gas", "commercial_price_fen", "organisation.gas is missing"),
    ],
)
def test_a_missing_key_is_named(tmp_path, section, key, message):
    raw = raw_settings()
    del raw["organisation"][section][key]
    with pytest.raises(OrganisationError, match=f"{message} {key}"):
        load_organisation(write(tmp_path, raw))


def test_a_missing_section_is_named():
    raw = raw_settings()
    del raw["organisation"]["elderly_care"]
    with pytest.raises(OrganisationError, match="organisation is missing elderly_care"):
        parse_organisation(raw)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("home_visits", "advance_days"), "14 days", "advance_days must be a whole number"),
        (("home_visits", "advance_days"), True, "advance_days must be a whole number"),
        (("home_visits", "advance_days"), -1, "advance_days must be at least 0"),
        (("school", "default_leave_cutoff_minutes"), 1.5, "must be a whole number"),
        (("complaints", "response_hours"), {"safety": 0}, "response_hours.safety must be at"),
        (("complaints", "response_hours"), [4, 24], "must map each complaint category"),
        (("home_visits", "half_day_starts"), {"am": "8点", "pm": "13:30"}, "such as"),
        (("home_visits", "half_day_starts"), {"am": "25:00", "pm": "13:30"}, "not a time"),
        (("home_visits", "half_day_starts"), {"am": "14:00", "pm": "13:30"}, "morning before"),
        (("elderly_care", "follow_up_days"), "7, 30", "must be a list of days"),
        (("elderly_care", "follow_up_days"), [30, 7], "must be increasing"),
        (("gas", "residential_tiers"), [{"up_to_m3": 360, "price_fen": 261}], "null"),
        (
            ("gas", "residential_tiers"),
            [{"up_to_m3": 600, "price_fen": 1}, {"up_to_m3": 360, "price_fen": 2}, {}],
            "residential_tiers\\[2\\] is missing",
        ),
        (("gas", "school"), 1, "organisation.gas has unknown key"),
    ],
)
def test_a_wrong_value_is_refused_with_its_key(path, value, message):
    raw = raw_settings()
    section, key = path
    raw["organisation"][section][key] = value
    with pytest.raises(OrganisationError, match=message):
        parse_organisation(raw, source="test.yml")


def test_the_error_names_the_file(tmp_path):
    raw = raw_settings()
    raw["organisation"]["school"]["default_leave_cutoff_minutes"] = "sixty"
    path = write(tmp_path, raw)
    with pytest.raises(OrganisationError) as error:
        load_organisation(path)
    assert str(error.value).startswith(f"{path}: organisation.school.default_leave_cutoff")


def test_every_complaint_category_needs_its_answer_hours():
    catalog = yaml.safe_load(
        (PROJECT_ROOT / "data" / "complaints" / "catalog.yml").read_text(encoding="utf-8")
    )
    assert parse_catalog(catalog).categories["safety"].response_hours == 4
    hours = dict(get_organisation().complaints.response_hours)
    del hours["billing"]
    with pytest.raises(CatalogError, match=r"no response hours .* for billing"):
        parse_catalog(catalog, hours)
