"""What the assistant says about the regulations is what they say: every regulation a
response names exists, every item it cites exists in that regulation, nothing is said to
be "按制度", and no organisation setting (a cutoff, an answer time, a booking window,
follow-up days, a tariff, opening hours) is attributed to the regulations."""

from __future__ import annotations

import re

import pytest
import yaml

from bot.infra.settings import PROJECT_ROOT
from bot.policies.corpus import load_corpus

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
RESPONSES: dict[str, list[str]] = {
    name: [variant["text"] for variant in variants if "text" in variant]
    for name, variants in DOMAIN["responses"].items()
}
DOCUMENTS = {document.title: document for document in load_corpus()}
# Forms and other documents a response may name that are not regulations of the corpus.
FORMS = {"家庭输液治疗知情同意书"}
# A regulation named, optionally with the items cited right after it: 《X》第12条 / 第4条、第5条.
_CITATION = re.compile(
    r"《([^》]+)》(?:[((]服务管理制度\d+[))])?((?:第[0-9一二三四五六七八九十]+条[、和]?)*)"
)
_ITEM = re.compile(r"第([0-9一二三四五六七八九十]+)条")
# The placeholders that carry organisation settings, and the responses that carry them.
SETTING_SLOTS = ("{cutoff}", "{response_hours}", "{follow_ups}", "{halls}", "{schools}")
SETTING_RESPONSES = {
    "utter_leave_too_late": "{cutoff}",
    "utter_care_times": "{schools}",
    "utter_care_times_on_day": "{schools}",
    "utter_complaint_filed": "{response_hours}",
    "utter_visit_date_too_far": "{days}",
    "utter_visit_reschedule_invalid": "{days}",
    "utter_care_registered": "{follow_ups}",
    "utter_gas_business_halls": "{halls}",
    "utter_contact_department": "{hours}",
}
_SENTENCE = re.compile(r"[^。；;！!？?\n]+")
# Words that attribute a statement to the regulations.
_ATTRIBUTION = re.compile(
    r"按《|根据《|按照《|依据《|按制度|按规定|制度规定|《[^》]*制度》|《[^》]*办法》"
)


def all_texts() -> list[tuple[str, str]]:
    return [(name, text) for name, texts in RESPONSES.items() for text in texts]


def test_no_response_says_按制度_without_naming_the_regulation():
    vague = [name for name, text in all_texts() if re.search(r"按制度|按规定|按照规定", text)]
    assert vague == []


@pytest.mark.parametrize(("name", "text"), all_texts())
def test_every_cited_regulation_and_item_exists(name, text):
    for title, items in _CITATION.findall(text):
        if title in FORMS:
            continue
        assert title in DOCUMENTS, f"{name} names 《{title}》, which is not a regulation"
        numbers = {clause.number.split(".")[0] for clause in DOCUMENTS[title].clauses}
        for item in _ITEM.findall(items):
            assert item in numbers, f"{name} cites 《{title}》第{item}条, which does not exist"


@pytest.mark.parametrize(("name", "slot"), sorted(SETTING_RESPONSES.items()))
def test_no_organisation_setting_is_attributed_to_the_regulations(name, slot):
    texts = RESPONSES[name]
    assert any(slot in text for text in texts), f"{name} no longer carries {slot}"
    for text in texts:
        for sentence in _SENTENCE.findall(text):
            if slot in sentence:
                assert not _ATTRIBUTION.search(sentence), f"{name}: {sentence}"


def test_the_leave_cutoff_is_the_schools_and_the_advance_leave_the_regulations():
    (text,) = RESPONSES["utter_leave_too_late"]
    assert "按《课后服务安全管理制度》第12条" in text
    assert "需提前向班主任或看护老师请假" in text  # the words of item 12
    assert "学校规定{student_name}{days}的请假须在当天 {cutoff} 前在线提出" in text


def test_the_quarterly_recheck_is_cited_from_the_elderly_care_rules():
    (text,) = RESPONSES["utter_care_registered"]
    assert "《居家养老服务管理制度》第1条" in text and "{recheck}" in text
    assert "本中心安排的回访时间：{follow_ups}" in text


def test_the_answer_time_is_the_organisations_promise():
    (text,) = RESPONSES["utter_complaint_filed"]
    assert "我们承诺在 {response_hours} 小时内" in text


def test_the_booking_window_is_not_written_into_the_responses():
    # The window is a setting (data/organisation.yml): a response states it only through
    # {days}, so changing the setting changes what the assistant says.
    fixed = [name for name, text in all_texts() if re.search(r"\d+\s*天内", text)]
    assert fixed == []


def test_the_meter_reading_schedule_says_only_what_the_regulation_says():
    (text,) = RESPONSES["utter_gas_schedule_general"]
    assert "《抄表管理制度》第4条、第5条" in text
    reading_rules = DOCUMENTS["抄表管理制度"].clauses
    item4 = next(c.text for c in reading_rules if c.number == "4")
    item5 = next(c.text for c in reading_rules if c.number == "5")
    assert "居民户内挂燃气表每季查抄一次" in item4 and "每月22日至23日" in item5
    assert "估" not in text


def test_setting_slots_are_filled_only_in_responses_that_word_them_as_settings():
    carrying = {name for name, text in all_texts() if any(slot in text for slot in SETTING_SLOTS)}
    assert carrying <= set(SETTING_RESPONSES)


def test_children_may_not_leave_care_on_their_own():
    (text,) = RESPONSES["utter_no_leaving_alone"]
    assert "按《课后服务安全管理制度》第12条，看护期间学生不准私自离校" in text
    item12 = next(c.text for c in DOCUMENTS["课后服务安全管理制度"].clauses if c.number == "12")
    assert "在看护期间,学生不准私自离校" in item12


def test_praise_is_thanked_humbly():
    # 营业大厅管理制度 第三条第12款: 客户提出表扬时,要谦虚致谢.
    for text in RESPONSES["utter_praise_thanks"]:
        assert "谢" in text
        assert any(word in text for word in ("做得还不够", "过奖", "应该做的", "本分"))
