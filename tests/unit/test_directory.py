"""Which department's contact details a message asks for."""

from __future__ import annotations

import pytest

from bot.directory import asks_emergency_line, departments_for, emergency_line
from bot.infra.db import session_scope
from bot.ops.seed import seed_demo


@pytest.fixture()
def seeded(engine):
    with session_scope(engine) as session:
        seed_demo(session=session)
    return engine


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("燃气公司客服电话多少", "gas"),
        ("煤气表坏了找谁", "gas"),
        ("学校课后服务办公室电话", "school"),
        ("护士上门的话打哪个电话", "health"),
        ("物业电话", "property"),
        ("投诉电话是多少", "service"),
        ("我想投诉燃气营业员 电话多少", "service"),  # complaints go to the desk
    ],
)
def test_the_department_a_message_names(seeded, message, code):
    with session_scope(seeded) as session:
        assert [d.code for d in departments_for(message, session=session)] == [code]


@pytest.mark.parametrize("message", ["转人工", "客服电话多少", "燃气费和孩子请假找谁"])
def test_no_single_department_gives_all_of_them(seeded, message):
    with session_scope(seeded) as session:
        codes = [d.code for d in departments_for(message, session=session)]
    assert codes == ["gas", "school", "health", "property", "service"]


def test_an_empty_directory_gives_nothing(engine):
    with session_scope(engine) as session:
        assert departments_for("燃气客服电话", session=session) == []


@pytest.mark.parametrize("message", ["抢修电话多少", "24小时抢修电话", "家里漏气打哪个电话"])
def test_a_request_for_the_emergency_line_gets_the_gas_24_hour_number(seeded, message):
    assert asks_emergency_line(message)
    with session_scope(seeded) as session:
        assert emergency_line(session=session) == "0571-5555-0119"


@pytest.mark.parametrize("message", ["燃气公司客服电话多少", "物业电话"])
def test_an_ordinary_request_for_contact_details_is_not_an_emergency(message):
    assert not asks_emergency_line(message)
