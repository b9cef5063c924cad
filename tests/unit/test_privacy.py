from __future__ import annotations

import io
import logging
import os
import subprocess
import sys

import pytest

from bot.infra.privacy import PersonalDataFilter, mask_personal_data
from bot.infra.settings import PROJECT_ROOT


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


# What the tests feed: a phone, an 18-digit ID, an 8-digit gas account, names.
PHONE, ID_NO, ACCOUNT = "13812345678", "110101199003071234", "31001001"
STUDENT, PATIENT, HOLDER = "张子涵", "王秀英", "李建国"
SECRETS = (PHONE, ID_NO, ACCOUNT, STUDENT, PATIENT, HOLDER)


def assert_no_leak(text: str) -> None:
    leaks = [value for value in SECRETS if value in text]
    assert not leaks, f"{leaks} in {text!r}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"姓名:{PATIENT} 电话{PHONE}", "姓名:*** 电话138****5678"),
        (f"患者{PATIENT}预约", "患者***"),
        (f"student={STUDENT}, class=3", "student=***, class=3"),
        (f"patient='{PATIENT}' name={HOLDER}", "patient='***' name=***"),
        (
            f'{{"holder_name": "{HOLDER}", "kind": "residential"}}',
            '{"holder_name": "***", "kind": "residential"}',
        ),
        (
            f"SlotSet(key: visit_patient_name, value: {PATIENT})",
            "SlotSet(key: visit_patient_name, value: ***)",
        ),
        (
            f"{{'event': 'slot', 'name': 'visit_patient_name', 'value': '{PATIENT}'}}",
            "{'event': 'slot', 'name': '***', 'value': ***}",
        ),
        (f"'text': '我是{PATIENT}'", "'text': '***'"),
        (
            "intent_name: greet action_name=action_listen",
            "intent_name: greet action_name=action_listen",
        ),
        (f"户号{ACCOUNT}", "户号31****01"),
        (f"身份证{ID_NO}", "身份证110101********1234"),
        (
            "GET https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",
            "GET https://api.telegram.org/bot***/getMe",
        ),
        (
            "POST /cgi-bin/message/custom/send?access_token=ACCESS-TOKEN-VALUE",
            "POST /cgi-bin/message/custom/send?access_token=***",
        ),
        (
            f"[SQL: INSERT INTO patient ...]\n[parameters: ('{PATIENT}', '{PHONE}')]\n(Background",
            "[SQL: INSERT INTO patient ...]\n[parameters: hidden]\n(Background",
        ),
        (
            "BotUttered('已为张子涵登记请假', {\"buttons\": null}, 1764057907.5)",
            "BotUttered('***', {\"buttons\": null}, 17******07.5)",
        ),
        # JSON logs (Rasa's structlog at DEBUG) escape newlines, quotes and Chinese.
        (
            r'"slot_values": "\tguardian_phone: 13812345678\n\tleave_dates: None"',
            r'"slot_values": "\tguardian_phone: ***\n\tleave_dates: None"',
        ),
        (
            r"[state 1] user text: 我叫\u738b\u79c0\u82f1, 电话 | previous action name: x",
            r"[state 1] user text: ***| previous action name: ***",
        ),
        (
            r"{\"utter_action\": \"utter_x\", \"student_name\": \"\\u5f20\\u5b50\"}",
            r"{\"utter_action\": \"utter_x\", \"student_name\": \"***\"}",
        ),
    ],
)
def test_labelled_values_names_and_secrets_are_masked(text, expected):
    assert mask_personal_data(text) == expected


def test_importing_the_project_masks_records_of_every_logger_and_later_handler():
    """`bot` is imported (as Rasa imports the project's components and channels): a
    handler added afterwards, on a library's logger, writes only masked text."""
    import bot  # noqa: F401  (installs the masking)

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    sanic_logger = logging.getLogger("sanic.error.test")
    sanic_logger.addHandler(handler)
    sanic_logger.setLevel(logging.INFO)
    try:
        sanic_logger.info("booking for patient=%s phone %s", PATIENT, PHONE)
        sanic_logger.warning("gas account %s of 户主%s, ID %s", ACCOUNT, HOLDER, ID_NO)
        sanic_logger.info({"student": STUDENT, "text": f"我是{STUDENT}的家长"})
        try:
            raise ValueError(f"cannot book: name={PATIENT}, phone {PHONE}, ID {ID_NO}")
        except ValueError:
            sanic_logger.exception("request failed for student=%s", STUDENT)
    finally:
        sanic_logger.removeHandler(handler)
    output = stream.getvalue()
    assert_no_leak(output)
    assert "ValueError: cannot book: name=***" in output  # the traceback is still there
    assert "138****5678" in output and "31****01" in output


def test_caplog_sees_only_masked_records(caplog):
    logger = logging.getLogger("rasa.core.processor")
    with caplog.at_level(logging.INFO):
        logger.info("user said: 我是%s, 电话 %s", f"患者{PATIENT}", PHONE)
        logger.info(
            "Current slot values: \n\tvisit_patient_name: %s\n\tvisit_phone: %s", PATIENT, PHONE
        )
    assert_no_leak(caplog.text)
    assert all(record.args is None for record in caplog.records)


def test_sql_errors_never_repeat_the_values(sqlite_url, caplog):
    """A failed insert's exception (as logged by logger.exception) names no values."""
    from sqlalchemy.exc import IntegrityError

    from bot.infra.db import create_engine, session_scope
    from bot.infra.migrate import upgrade
    from bot.models import Guardian

    upgrade(sqlite_url)
    engine = create_engine(sqlite_url)
    try:
        with pytest.raises(IntegrityError) as raised, session_scope(engine) as session:
            session.add(Guardian(name=HOLDER, phone=None))
        assert_no_leak(str(raised.value))
        with caplog.at_level(logging.ERROR):
            try:
                with session_scope(engine) as session:
                    session.add(Guardian(name=STUDENT, phone=None))
            except IntegrityError:
                logging.getLogger("actions.school").exception("recording failed")
        assert "IntegrityError" in caplog.text
        assert_no_leak(caplog.text)
    finally:
        engine.dispose()


@pytest.mark.parametrize("module", ["actions", "bot.channels.webchat", "bot.nlu.normalize"])
def test_a_process_that_loads_project_code_masks_its_logs(module):
    """A real process, as the action server (actions) and the Rasa server (the project's
    channels and NLU components) load the project: its own handlers, set up after the
    import as Rasa and sanic do, write no personal data."""
    script = (
        f"import logging, sys; import {module}\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr)\n"
        "log = logging.getLogger('sanic.root')\n"
        f"log.info('leave for student=%s, guardian phone %s', '{STUDENT}', '{PHONE}')\n"
        f"log.warning('姓名:{PATIENT} 身份证{ID_NO} 户号{ACCOUNT}')\n"
        "try:\n"
        f"    raise RuntimeError('patient={PATIENT} holder_name={HOLDER}')\n"
        "except RuntimeError:\n"
        "    log.exception('failed')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "RuntimeError: patient=***" in result.stderr
    assert_no_leak(result.stdout + result.stderr)


def test_the_command_line_logs_no_sql_values_even_with_echo(sqlite_url):
    """`python -m bot` with DATABASE_ECHO=1 logs every statement, never its values."""
    from bot.infra.migrate import upgrade

    upgrade(sqlite_url)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "staff", "invite", "--name", PATIENT, "--role", "nurse"],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "DATABASE_URL": sqlite_url,
            "DATABASE_ECHO": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    log_lines = [line for line in result.stdout.splitlines() if "sqlalchemy.engine" in line]
    assert any("INSERT INTO staff_invite" in line for line in log_lines)
    assert_no_leak("\n".join(log_lines) + result.stderr)
    assert "DEBUG" not in result.stdout + result.stderr


def test_debug_logging_is_off_by_default():
    from bot.infra.settings import Settings

    assert Settings.from_env({}).log_level == "INFO"


def test_reference_numbers_stay_readable_while_account_numbers_are_masked():
    line = "incident E20261125-F64B7D ticket TS20261125-00007 for 户号31001004 学号2024010101"
    masked = mask_personal_data(line)
    assert "E20261125-F64B7D" in masked and "TS20261125-00007" in masked
    assert "31001004" not in masked and "2024010101" not in masked
