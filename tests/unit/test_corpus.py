"""The regulations parser: every document and clause of the seed, none lost or merged."""

from __future__ import annotations

import re

import pytest

from bot.policies.corpus import (
    CATALOG_PATH,
    CorpusError,
    clean_line,
    load_catalog,
    load_corpus,
    parse_clauses,
    parse_corpus,
)

# Counted by hand from data/policies/服务管理制度.txt: numbered clauses plus each
# document's preamble (前言) and closing paragraph (结语) where it has one.
EXPECTED_CLAUSES = {
    "1": 6,  # 前言 + 内容概述 1-5
    "2": 4,  # 一 to 四
    "3": 7,  # 前言, 一, 二.1-3, 三, 四
    "4": 6,  # 前言 + 1-5
    "5": 7,  # 1, 2, 3, 3(1), 3(2), 3(4), 4 (the source has no item (3))
    "5.1": 13,  # 前言 + 1-12
    "6": 9,  # 前言 + 1-8
    "7": 13,  # 前言 + 1-12
    "7.1": 10,
    "7.2": 6,
    "7.3": 10,
    "7.4": 32,  # 前言, 一 + 1-7, 二.1-10, 三 + 1-12
    "8": 5,
    "9": 7,  # 前言 + 内容概述 1-6
    "10": 29,  # 第一-三条, 第三章, 4.1-9.7 (18), 第十-十三条, 附件一-二
    "11": 8,  # 前言 + 1-6 + 结语
    "12": 5,
    "13": 13,  # 前言 + 1-6 + 内容概述 1-6
    "14": 33,  # 1 + 2.1-2.8 + 3.1-3.14 + 4.1-4.6 + 5.1-5.4
    "15": 7,  # 1-6 + 结语
}
STAFF_ONLY = {"4", "7.2", "10", "11", "12", "14"}


@pytest.fixture(scope="module")
def corpus():
    return {document.code: document for document in load_corpus()}


def clause(corpus, code: str, label: str):
    matches = [c for c in corpus[code].clauses if c.label == label]
    assert len(matches) == 1, f"{code} {label}: {[c.label for c in corpus[code].clauses]}"
    return matches[0]


def test_every_document_is_found_in_source_order(corpus):
    assert list(corpus) == list(EXPECTED_CLAUSES)
    assert [d.ordinal for d in corpus.values()] == list(range(1, len(EXPECTED_CLAUSES) + 1))


def test_clause_counts_per_document(corpus):
    counts = {code: len(document.clauses) for code, document in corpus.items()}
    assert counts == EXPECTED_CLAUSES
    assert sum(counts.values()) == 230


def test_audiences(corpus):
    staff = {code for code, document in corpus.items() if document.audience == "staff"}
    assert staff == STAFF_ONLY


def test_sub_regulations_have_their_own_titles(corpus):
    assert corpus["7.1"].title == "抄表管理制度"
    assert corpus["7.4"].title == "营业大厅管理制度"
    assert corpus["5.1"].title == "课后服务安全管理制度"
    assert {corpus[c].source for c in ("7", "7.1", "7.2", "7.3", "7.4")} == {"服务管理制度7"}


@pytest.mark.parametrize(
    ("code", "label", "fragment"),
    [
        ("3", "第二条第2款", "每10天消毒一次"),
        ("7.4", "第二条第4款", "提前10分钟上岗"),
        ("7.4", "第二条第8款", "严禁泄露客户资料"),
        ("7.4", "第三条第12款", "谦虚致谢"),
        ("7.1", "第5条", "每月22日至23日"),
        ("7.1", "第4条", "每季查抄一次"),
        ("6", "第4条", "《家庭输液治疗知情同意书》"),
        ("6", "第3条", "皮试"),
        ("5.1", "第12条", "提前向班主任或看护老师请假"),
        ("14", "第3.4条", "定期更改服务器密码"),
        ("10", "第9.1条", "表扬信"),
        ("7", "第7条", "十字服务用语"),
    ],
)
def test_key_clauses_are_where_they_are_cited(corpus, code, label, fragment):
    assert fragment in clause(corpus, code, label).text


def test_run_together_articles_are_split(corpus):
    assert "第五条" not in clause(corpus, "10", "第4.2条").text
    assert clause(corpus, "10", "第5.1条").heading.endswith(
        "季度评优奖励(服务工程师、组长、客服管理部)"
    )
    for label in ("第十一条", "第十二条", "第十三条"):
        assert "第十" not in clause(corpus, "10", label).text


def test_broken_lines_are_mended(corpus):
    assert "周四、周五由负责证卡办理的营业员值班" in clause(corpus, "7.4", "第一条").text
    assert "整改材料数额明显" in clause(corpus, "10", "第9.2条").text
    assert "代扣个人所得税" in clause(corpus, "10", "第十条").text


def test_headings_carry_section_titles(corpus):
    assert clause(corpus, "3", "第二条第1款").heading == "消毒法"
    assert clause(corpus, "14", "第2.3条").heading == "服务器管理"
    assert clause(corpus, "14", "第1条").text.startswith("为科学有效地管理机房")


def test_closing_paragraphs_are_not_glued_to_the_last_item(corpus):
    assert clause(corpus, "11", "结语").text.startswith("通过以上方案")
    assert "通过以上方案" not in clause(corpus, "11", "第6条").text


def test_no_stray_web_characters_remain(corpus):
    for document in corpus.values():
        for c in document.clauses:
            assert not re.search(r"[`']", c.text), (document.code, c.label)
            assert not re.search(r"[\u4e00-\u9fff]\.[\u4e00-\u9fff]", c.text), (
                document.code,
                c.label,
            )


def test_no_source_text_is_lost(corpus):
    """Every line of every regulation, less its number, is inside some clause."""
    catalog = load_catalog()
    source = (CATALOG_PATH.parent / catalog["source_file"]).read_text(encoding="utf-8")
    source = source[: source.index(catalog["end_marker"])]
    headings = {entry["heading"] for entry in catalog["documents"]}
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() in headings)
    stored = "\n".join(
        f"{c.heading}\n{c.label}\n{c.text}" for d in corpus.values() for c in d.clauses
    ).replace("\n", "")
    marker = re.compile(
        r"^(第[一二三四五六七八九十百]+[章条]|附件[一二三四五六七八九十]+[::]|"
        r"[一二三四五六七八九十]+\s*、|\d+\.\d+|\d+\s*[、.]|[((]\d+[))])\s*"
    )
    empty_form_fields = {"部门编制:", "人事审核:", "领导审核:", "日期:"}
    missing = []
    for raw in lines[start:]:
        line = clean_line(raw)
        if not line or line in headings or line in empty_form_fields:
            continue
        for part in re.split(r"\s+(?=第[一二三四五六七八九十百]+条)", line):
            rest = marker.sub("", part).strip().rstrip(":").rstrip(":")
            if rest and rest not in stored:
                missing.append(part)
    assert missing == []


def test_clause_numbers_are_unique_within_each_document(corpus):
    for document in corpus.values():
        numbers = [c.number for c in document.clauses]
        assert len(numbers) == len(set(numbers)), document.code


def test_clean_line_keeps_decimals_and_drops_stray_marks():
    assert clean_line(" 4.2 服务人员 ") == "4.2 服务人员"
    assert clean_line("有效的'咨询服务") == "有效的咨询服务"
    assert clean_line("患者的.出诊服务") == "患者的出诊服务"
    assert clean_line("感觉的`;") == "感觉的;"


def test_parse_clauses_nests_items_under_sections():
    clauses = parse_clauses(
        [
            "总说明。",
            "一、总则",
            "1、第一项。",
            "2、第二项。细目如下:",
            "(1)细目。",
            "二、单独一条的内容。",
            "结束语。",
        ]
    )
    assert [(c.number, c.label) for c in clauses] == [
        ("前言", "前言"),
        ("一.1", "第一条第1款"),
        ("一.2", "第一条第2款"),
        ("一.2.1", "第一条第2款第(1)项"),
        ("二", "第二条"),
    ]
    # A sentence after a section's body belongs to that section.
    assert clauses[-1].text == "单独一条的内容。\n结束语。"
    assert clauses[1].heading == "总则"


def test_parse_corpus_reports_missing_headings():
    catalog = {
        "documents": [
            {
                "code": "1",
                "heading": "甲制度",
                "source": "甲",
                "title": "甲",
                "audience": "public",
                "department": "general",
            },
        ]
    }
    with pytest.raises(CorpusError, match="甲制度"):
        parse_corpus("乙制度\n1、内容。", catalog)


def test_a_document_without_clauses_is_an_error():
    catalog = {
        "documents": [
            {
                "code": "1",
                "heading": "甲制度",
                "source": "甲",
                "title": "甲",
                "audience": "public",
                "department": "general",
            },
        ]
    }
    with pytest.raises(CorpusError, match="no clauses"):
        parse_corpus("甲制度\n", catalog)
