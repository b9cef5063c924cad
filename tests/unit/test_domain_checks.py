"""`bot.runtime.domain_checks`: the same answers as Rasa's `Domain.is_empty`, once."""

from __future__ import annotations

from unittest import mock

import pytest
from rasa.shared.core.domain import Domain

from bot.infra.settings import PROJECT_ROOT
from bot.runtime import domain_checks


@pytest.fixture
def installed():
    domain_checks.install()
    yield
    domain_checks.uninstall()


def test_the_answers_are_rasas(installed):
    project = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    assert project.is_empty() is False
    assert Domain.empty().is_empty() is True


def test_each_domain_is_asked_once(installed):
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    domain.__dict__.pop(domain_checks._ANSWER, None)  # loading may have asked already
    with mock.patch.object(Domain, "as_dict", autospec=True, side_effect=Domain.as_dict) as built:
        assert not domain.is_empty()
        asked = built.call_count
        assert not domain.is_empty()
        assert not domain.is_empty()
    # Rasa's answer builds this domain's dict and an empty one's: only the first time.
    assert asked >= 1 and built.call_count == asked


def test_uninstall_puts_rasas_back():
    stock = Domain.is_empty
    domain_checks.install()
    domain_checks.install()  # twice is once
    assert Domain.is_empty is not stock
    domain_checks.uninstall()
    assert Domain.is_empty is stock
