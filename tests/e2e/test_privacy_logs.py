"""Personal data in conversations never reaches the logs of the real Rasa server and
action server: at the default level nothing of it; even at DEBUG, where Rasa logs every
message, slot and event, only masked (which shows the masking runs in the Rasa server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import new_sender, running_assistant

pytestmark = pytest.mark.e2e

PHONE, ID_NO, ACCOUNT, STUDENT_NO = "13812345678", "110101199003071234", "31001001", "2024010101"
PATIENT, STUDENT = "王秀英", "张子涵"
NUMBERS = (PHONE, ID_NO, ACCOUNT, STUDENT_NO)
CONVERSATIONS = [
    ["我想查燃气费", ACCOUNT, "2001"],
    ["孩子明天不参加课后看护,发烧了", STUDENT_NO, "19900001001", "是的"],
    [f"我妈{PATIENT}卧床好几年了 能不能上门打点滴", f"电话{PHONE}", f"身份证{ID_NO}"],
    [f"我要投诉,抄表员态度很差,我叫{PATIENT},电话{PHONE}"],
    [f"我家孩子叫{STUDENT},学号{STUDENT_NO}"],
]


def talk(assistant) -> None:
    for conversation in CONVERSATIONS:
        sender = new_sender()
        for message in conversation:
            assistant.say(message, sender=sender)


def read_logs(folder: Path) -> str:
    logs = {log.name: log.read_text(errors="replace") for log in folder.glob("*.log")}
    assert {"rasa.log", "actions.log"} <= set(logs)
    return "\n".join(logs.values())


def forms(value: str) -> list[str]:
    """The value as written, and as JSON logs escape it."""
    return [value, json.dumps(value)[1:-1]]


def test_the_default_logs_hold_no_personal_data(tmp_path):
    with running_assistant(tmp_path, extra_env={"LOG_LEVEL": "INFO"}) as assistant:
        talk(assistant)
    logs = read_logs(tmp_path / "logs")
    assert "Action endpoint is up" in logs  # these are the servers' logs
    assert "DEBUG" not in logs
    leaks = [v for value in (*NUMBERS, PATIENT, STUDENT) for v in forms(value) if v in logs]
    assert not leaks


def test_even_debug_logs_mask_the_numbers_in_both_servers(tmp_path):
    with running_assistant(tmp_path, extra_env={"LOG_LEVEL": "DEBUG"}) as assistant:
        talk(assistant)
    rasa_log = (tmp_path / "logs" / "rasa.log").read_text(errors="replace")
    actions_log = (tmp_path / "logs" / "actions.log").read_text(errors="replace")
    assert "DEBUG" in rasa_log
    # Rasa logs what each user said, every slot and every event at DEBUG: masked.
    assert "user text: ***" in rasa_log
    assert "SlotSet(key: guardian_phone, value: ***)" in rasa_log
    for log in (rasa_log, actions_log):
        # Names too: 王秀英 is also in a response's example (例如“王秀英”), not checked.
        assert not [v for value in (*NUMBERS, STUDENT) for v in forms(value) if v in log]
