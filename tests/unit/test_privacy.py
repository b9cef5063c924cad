from __future__ import annotations

import logging

import pytest

from bot.privacy import PersonalDataFilter, mask_personal_data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的手机13812345678", "我的手机138****5678"),
        ("电话 +86 138-1234-5678 找我", "电话 138****5678 找我"),
        ("身份证330106199001011234", "身份证330106********1234"),
        ("身份证33010619900101123X", "身份证330106********123X"),
        ("户号8800012345查下", "户号88******45查下"),
        ("学号2024031", "学号20***31"),
        ("12月3日 3号 下午4点 共36.5元", "12月3日 3号 下午4点 共36.5元"),
    ],
)
def test_masks_numbers_that_identify_people(text, expected):
    assert mask_personal_data(text) == expected


def test_log_records_are_masked(caplog):
    logger = logging.getLogger("test.privacy")
    handler_filter = PersonalDataFilter()
    logger.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="test.privacy"):
            logger.info("bind %s with %s", "8800012345", "13812345678")
    finally:
        logger.removeFilter(handler_filter)
    assert "8800012345" not in caplog.text
    assert "13812345678" not in caplog.text
    assert "138****5678" in caplog.text
