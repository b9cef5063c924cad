"""The review inbox: flagged messages from a generated tracker store, masked; labels from
the domain only, one of two supervisors wins; the export is valid Rasa NLU data, skips
existing examples and is the same when run twice."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from bot.analytics.figures import EventRow
from bot.analytics.service import EVENTS
from bot.infra.db import session_scope
from bot.infra.settings import PROJECT_ROOT
from bot.models import ReviewItem
from bot.review import inbox
from bot.review.export import GAPS_FILE, NLU_FILE, export
from bot.review.service import BadLabel, ReviewChanged, collect, label
from bot.review.service import inbox as list_inbox
from tests.unit.test_analytics import NOW, TODAY, Conversation

PHONE = "13912345678"


def conversations() -> list[Conversation]:
    return [
        Conversation("web:a", "web", TODAY + timedelta(hours=8))
        .user("nlu_fallback", "燃气表转得飞快咋回事")
        .action("action_default_ask_affirmation")
        .bot(0.5)
        .user("out_of_scope", "/out_of_scope")
        .action("utter_out_of_scope")
        .bot(0.5)
        .user("nlu_fallback", f"我电话{PROJECT_PHONE}能改吗")
        .action("action_default_ask_affirmation")
        .bot(0.5)
        .user("check_gas_bill", "/check_gas_bill"),
        Conversation("web:b", "web", TODAY + timedelta(hours=9))
        .user("ask_policy", "员工能带宠物上班吗")
        .action("action_answer_policy")
        .bot(1.0, "utter_policy_no_answer")
        .user("complain", "我要投诉")
        .action("complaint_form")
        .loop("complaint_form")
        .bot(1.0)
        .user("deny", "先不办了")
        .action("action_deactivate_loop")
        .loop(None)
        .bot(1.0),
        Conversation("web:c", "telegram", TODAY + timedelta(hours=10))
        .user("out_of_scope", "燃气表转的飞快怎么回事")
        .action("utter_out_of_scope")
        .bot(0.5)
        .user("rate_service", "2分,处理太慢")
        .action("action_record_survey")
        .bot(0.5, "utter_survey_thanks_low"),
    ]


PROJECT_PHONE = PHONE


def rows(conversation_list: list[Conversation]) -> list[EventRow]:
    import json

    found = []
    for number, row in enumerate(r for c in conversation_list for r in c.rows):
        found.append(
            EventRow(
                id=number + 1,
                sender_id=row["sender_id"],
                type_name=row["type_name"],
                timestamp=row["timestamp"],
                intent_name=row["intent_name"],
                action_name=row["action_name"],
                data=json.loads(row["data"]),
            )
        )
    return found


def test_each_unplaced_message_is_flagged_once_with_its_reason() -> None:
    found = {(flag.text, flag.reason) for flag in inbox.flags(rows(conversations()))}
    assert found == {
        ("燃气表转得飞快咋回事", inbox.DENIED_AFFIRMATION),
        (f"我电话{PHONE}能改吗", inbox.NLU_FALLBACK),
        ("员工能带宠物上班吗", inbox.POLICY_NO_ANSWER),
        ("先不办了", inbox.FORM_ABANDONED),
        ("燃气表转的飞快怎么回事", inbox.OUT_OF_SCOPE),
        ("2分,处理太慢", inbox.LOW_SATISFACTION),
    }


def test_similar_texts_are_one_group_and_different_ones_are_not() -> None:
    texts = [
        "燃气表转得飞快咋回事",
        "员工能带宠物上班吗",
        "燃气表转的飞快怎么回事！",
        "户号12***34",
    ]
    assert inbox.groups(texts) == [[0, 2], [1], [3]]
    assert inbox.normalised("户号12***34") == inbox.normalised("户号 56***78")


@pytest.fixture()
def tracker(engine: Engine) -> Engine:
    EVENTS.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), [r for c in conversations() for r in c.rows])
    return engine


def test_collected_messages_are_masked_and_collected_once(tracker: Engine) -> None:
    assert collect(tracker=tracker, engine=tracker) == 6
    assert collect(tracker=tracker, engine=tracker) == 0
    with session_scope(tracker) as session:
        texts = session.scalars(select(ReviewItem.text)).all()
    assert not any(PHONE in text for text in texts)
    groups = list_inbox(engine=tracker)
    assert sum(len(group) for group in groups) == 6
    assert len(groups[0]) == 2  # the two fast-meter messages


def test_labels_come_from_the_domain_and_the_second_of_two_supervisors_is_told(
    tracker: Engine,
) -> None:
    collect(tracker=tracker, engine=tracker)
    entry = list_inbox(engine=tracker)[0][0]
    with pytest.raises(BadLabel):
        label(
            item_id=entry.id, expected_version=entry.version, kind="intent",
            intent="no_such_intent", actor="a", now=NOW, engine=tracker,
        )  # fmt: skip
    label(
        item_id=entry.id, expected_version=entry.version, kind="intent",
        intent="report_meter_fault", actor="a", now=NOW, engine=tracker,
    )  # fmt: skip
    with pytest.raises(ReviewChanged):
        label(
            item_id=entry.id, expected_version=entry.version, kind="out_of_scope",
            actor="b", now=NOW, engine=tracker,
        )  # fmt: skip
    [labelled] = [e for group in list_inbox(labelled=True, engine=tracker) for e in group]
    assert (labelled.label, labelled.intent, labelled.labelled_by) == (
        "intent",
        "report_meter_fault",
        "a",
    )


def test_the_export_is_valid_nlu_data_without_personal_data_or_known_examples(
    tracker: Engine, tmp_path: Path
) -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    shutil.copytree(PROJECT_ROOT / "data" / "nlu", tmp_path / "data" / "nlu")
    (tmp_path / "tests" / "data").mkdir(parents=True)
    collect(tracker=tracker, engine=tracker)
    by_text = {e.text: e for group in list_inbox(engine=tracker) for e in group}
    labels = {
        "燃气表转得飞快咋回事": ("intent", "report_meter_fault", ""),
        "燃气表转的飞快怎么回事": ("intent", "report_meter_fault", ""),
        "先不办了": ("intent", "deny", ""),  # already a deny example
        "员工能带宠物上班吗": ("policy_gap", "", ""),
    }
    phone_entry = next(e for text, e in by_text.items() if text.startswith("我电话"))
    label(
        item_id=phone_entry.id, expected_version=phone_entry.version, kind="intent",
        intent="ask_contact", actor="a", now=NOW, engine=tracker,
    )  # fmt: skip
    for text, (kind, intent, clause) in labels.items():
        entry = by_text[text]
        label(
            item_id=entry.id, expected_version=entry.version, kind=kind, intent=intent,
            clause=clause, actor="a", now=NOW, engine=tracker,
        )  # fmt: skip
    first = export(root=tmp_path, engine=tracker)
    written = (tmp_path / NLU_FILE).read_text(encoding="utf-8")
    assert export(root=tmp_path, engine=tracker) == first
    assert (tmp_path / NLU_FILE).read_text(encoding="utf-8") == written  # idempotent
    assert PHONE not in written and "***" not in written
    data = load_data(str(tmp_path / NLU_FILE))
    examples = {(m.get("intent"), m.get("text")) for m in data.intent_examples}
    assert ("report_meter_fault", "燃气表转得飞快咋回事") in examples
    assert ("ask_contact", "我电话1234567能改吗") in examples
    assert (first.examples, first.skipped_duplicates, first.policy_gaps) == (3, 1, 1)
    assert "先不办了" not in written
    gaps = (tmp_path / GAPS_FILE).read_text(encoding="utf-8").splitlines()
    assert gaps == ["question\tclause", "员工能带宠物上班吗\tnot covered"]
