"""Parse the regulations text into documents and numbered clauses.

The source (`data/policies/服务管理制度.txt`) is a plain-text collection of fifteen
regulations, several holding sub-regulations, numbered in every style Chinese
documents use: 第一章 / 第一条 / 一、 / 1、 / 1. / 2.1 / (1), and captions such as
"内容概述:". `data/policies/catalog.yml` says where each document starts, its title
and its audience; this module finds the clauses inside each one.

Each clause keeps its number as printed and a citation label (第二条第2款), so an
answer can be quoted with its source.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from bot.infra.settings import PROJECT_ROOT

POLICY_DIR = PROJECT_ROOT / "data" / "policies"
CATALOG_PATH = POLICY_DIR / "catalog.yml"
# Questions each clause answers in everyday words, kept and indexed with the clause.
QUESTIONS_FILE = "clause_questions.yml"
# More of them, for the search only: the NLU's ask_policy examples are drawn from
# QUESTIONS_FILE alone (`bot.policies.nlu_examples`). Drawn from these too, the examples
# took more of a person's own situation ("煤气柜员家里老人住院 歇两天得补啥", "不去晚托能
# 临时说吗") and the NLU held-out set fell from macro F1 0.959 to 0.953 (false rejection
# 0.027 -> 0.034, leaves read as policy questions; one training each, and trainings of the
# same data differ by up to 0.007 here: CI's of the earlier examples gave 0.966).
SEARCH_QUESTIONS_FILE = "clause_questions_search.yml"

AUDIENCES = ("public", "staff")

_CN_DIGITS = "一二三四五六七八九十百零"
_CJK = "\u4e00-\u9fff"
# Stray characters a web page left inside words: 有效的'咨询, 患者的.出诊, 感觉的`.
_STRAY = re.compile(rf"(?<=[{_CJK}])[`'.](?=[{_CJK},。;:、!?)“”])")
# Several articles run together on one line: "…点数。 第五条 季度评优…".
_INLINE_ARTICLE = re.compile(rf"\s+(?=第[{_CN_DIGITS}]+条)")
# A line broken inside "周四" before "、周五": "…至周三由…值班,周" / "四、周五由…".
_BROKEN_WEEKDAY = re.compile(r"^[一二三四五六日]、周")

_TERMINAL = tuple("。;;!!??::…)》")
_SENTENCE_END = re.compile(r"[。;;!!??]")
# Text this short on a numbered line that has sub-clauses or paragraphs, with no
# sentence in it, names what follows: "消毒法", "月度绩效(服务工程师、组长)".
_TITLE_MAX = 24
# A line that ends without punctuation and is longer than this was broken mid-sentence.
_BROKEN_LINE_MIN = 8

_MARKERS: tuple[tuple[str, int, re.Pattern[str]], ...] = (
    ("chapter", 0, re.compile(rf"^第([{_CN_DIGITS}]+)章\s*(.*)$")),
    ("annex", 0, re.compile(rf"^(附件[{_CN_DIGITS}]+)[::]\s*(.*)$")),
    ("article", 1, re.compile(rf"^第([{_CN_DIGITS}]+)条\s*(.*)$")),
    ("section", 1, re.compile(r"^([一二三四五六七八九十]+)\s*、\s*(.*)$")),
    ("caption", 1, re.compile(r"^([^\s::,,。;;、]{1,12})[::]$")),
    ("dotted", 3, re.compile(r"^(\d+\.\d+)\s*(.*)$")),
    ("item", 2, re.compile(r"^(\d+)\s*[、.．]\s*(.*)$")),
    ("sub", 4, re.compile(r"^[((](\d+)[))]\s*(.*)$")),
)
_LIST_KINDS = {"item", "dotted", "sub"}


class CorpusError(ValueError):
    """The regulations text or its catalog is not as expected."""


@dataclass(frozen=True)
class ParsedClause:
    number: str
    label: str
    heading: str
    text: str
    # What people ask that this clause answers, in their own words (clause_questions*.yml).
    questions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedDocument:
    code: str
    source: str
    title: str
    audience: str
    department: str
    ordinal: int
    clauses: tuple[ParsedClause, ...]


@dataclass
class _Node:
    kind: str
    level: int
    number: str
    inline: str
    parent: _Node | None = None
    paragraphs: list[str] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)

    @property
    def last_line(self) -> str:
        return self.paragraphs[-1] if self.paragraphs else self.inline

    def extend_last_line(self, text: str) -> None:
        if self.paragraphs:
            self.paragraphs[-1] += text
        else:
            self.inline += text

    @property
    def is_title(self) -> bool:
        """Whether the text on the numbered line only names what follows."""
        if self.kind in {"chapter", "caption"}:
            return True
        if self.kind == "annex" or not (self.paragraphs or self.children):
            return False
        return len(self.inline) <= _TITLE_MAX and not _SENTENCE_END.search(self.inline)

    @property
    def title(self) -> str:
        return self.inline.rstrip(":").rstrip(":") if self.is_title else ""

    @property
    def body(self) -> str:
        lines = self.paragraphs if self.is_title else [self.inline, *self.paragraphs]
        return "\n".join(line for line in lines if line)

    @property
    def own_label(self) -> str:
        if self.kind == "chapter":
            return f"第{self.number}章"
        if self.kind in {"article", "section"}:
            return f"第{self.number}条"
        if self.kind in {"annex", "caption"}:
            return self.number
        if self.kind == "dotted":
            return f"第{self.number}条"
        if self.kind == "item":
            nested = self.parent is not None and self.parent.kind in {"article", "section"}
            return f"第{self.number}款" if nested else f"第{self.number}条"
        return f"第({self.number})项"

    @property
    def label(self) -> str:
        parent = self.parent
        if parent is None or self.kind == "dotted" or parent.kind in {"chapter", "annex"}:
            return self.own_label
        separator = " " if parent.kind == "caption" else ""
        return f"{parent.label}{separator}{self.own_label}"

    @property
    def path(self) -> str:
        """A key unique in its document: articles are numbered across chapters, and
        "2.1" already carries its section's number."""
        if self.kind == "chapter":
            return self.own_label
        numbers = []
        node: _Node | None = self
        while node is not None and node.kind != "chapter":
            numbers.append(node.number)
            node = None if node.kind == "dotted" else node.parent
        return ".".join(reversed(numbers))

    @property
    def heading(self) -> str:
        titles = []
        node: _Node | None = self
        while node is not None:
            if node.title:
                titles.append(node.title)
            node = node.parent
        return " / ".join(reversed(titles))


def clean_line(line: str) -> str:
    """Strip a line and drop the stray characters the source carries inside words."""
    return _STRAY.sub("", line.strip().replace("\u3000", " ")).strip()


def _logical_lines(lines: list[str]) -> list[str]:
    """Clean lines, split run-together articles and mend the one line broken at a marker."""
    result: list[str] = []
    for raw in lines:
        line = clean_line(raw)
        if not line:
            continue
        if result and result[-1].endswith("周") and _BROKEN_WEEKDAY.match(line):
            result[-1] += line
            continue
        result.extend(part for part in _INLINE_ARTICLE.split(line) if part)
    return result


def _match_marker(line: str) -> tuple[str, int, str, str] | None:
    for kind, level, pattern in _MARKERS:
        match = pattern.match(line)
        if match:
            number, rest = match.group(1), match.group(2) if pattern.groups > 1 else ""
            if kind == "dotted" and number.endswith(".0"):
                # "4.0服务器病毒防范制度" heads section 4 like "4.服务器…" would.
                return "item", 2, number[:-2], rest.strip()
            return kind, level, number, rest.strip()
    return None


def parse_clauses(lines: list[str]) -> list[ParsedClause]:
    """Find the numbered clauses in one document's lines, in reading order."""
    roots: list[_Node] = []
    stack: list[_Node] = []
    preamble: list[str] = []
    closing: list[str] = []

    for line in _logical_lines(lines):
        marker = _match_marker(line)
        if marker:
            kind, level, number, rest = marker
            while stack and stack[-1].level >= level:
                stack.pop()
            parent = stack[-1] if stack else None
            node = _Node(kind=kind, level=level, number=number, inline=rest, parent=parent)
            (parent.children if parent else roots).append(node)
            stack.append(node)
            continue
        if not stack:
            (closing if roots else preamble).append(line)
            continue
        top = stack[-1]
        last = top.last_line
        if last and not last.endswith(_TERMINAL) and len(last) > _BROKEN_LINE_MIN:
            top.extend_last_line(line)
            continue
        if top.kind in _LIST_KINDS and last.endswith(_TERMINAL):
            # A list item is one line: a full sentence after it closes the list.
            while stack and stack[-1].kind in _LIST_KINDS:
                stack.pop()
            if not stack:
                closing.append(line)
                continue
            top = stack[-1]
        top.paragraphs.append(line)

    clauses: list[ParsedClause] = []
    if preamble:
        clauses.append(ParsedClause("前言", "前言", "", "\n".join(preamble)))

    def visit(node: _Node) -> None:
        if node.body:
            clauses.append(ParsedClause(node.path, node.label, node.heading, node.body))
        for child in node.children:
            visit(child)

    for root in roots:
        visit(root)
    if closing:
        clauses.append(ParsedClause("结语", "结语", "", "\n".join(closing)))
    return clauses


def load_catalog(path: Path = CATALOG_PATH) -> dict:
    with path.open(encoding="utf-8") as handle:
        catalog = yaml.safe_load(handle)
    codes = [entry["code"] for entry in catalog["documents"]]
    if len(set(codes)) != len(codes):
        raise CorpusError("catalog.yml: document codes must be unique")
    for entry in catalog["documents"]:
        if entry["audience"] not in AUDIENCES:
            raise CorpusError(f"catalog.yml: {entry['code']}: audience must be one of {AUDIENCES}")
    return catalog


def parse_corpus(text: str, catalog: dict) -> list[ParsedDocument]:
    """Split `text` into the documents named in `catalog` and parse their clauses."""
    end_marker = catalog.get("end_marker")
    if end_marker and end_marker in text:
        text = text[: text.index(end_marker)]
    entries = catalog["documents"]
    by_heading = {entry["heading"]: entry for entry in entries}

    sections: list[tuple[dict, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line in by_heading:
            sections.append((by_heading.pop(line), []))
        elif sections:
            sections[-1][1].append(raw)
    if by_heading:
        missing = ", ".join(sorted(by_heading))
        raise CorpusError(f"headings not found in the regulations text: {missing}")

    documents = []
    for ordinal, (entry, lines) in enumerate(sections, start=1):
        clauses = parse_clauses(lines)
        if not clauses:
            raise CorpusError(f"document {entry['code']} ({entry['title']}) has no clauses")
        numbers = [clause.number for clause in clauses]
        if len(set(numbers)) != len(numbers):
            raise CorpusError(f"document {entry['code']} has repeated clause numbers")
        documents.append(
            ParsedDocument(
                code=str(entry["code"]),
                source=entry["source"],
                title=entry["title"],
                audience=entry["audience"],
                department=entry["department"],
                ordinal=ordinal,
                clauses=tuple(clauses),
            )
        )
    return documents


def load_corpus(
    catalog_path: Path = CATALOG_PATH, *, search_questions: bool = True
) -> list[ParsedDocument]:
    """Parse the project's regulations as described by its catalog, each clause with its
    anticipated questions: those of QUESTIONS_FILE, then (`search_questions`) those of
    SEARCH_QUESTIONS_FILE."""
    catalog = load_catalog(catalog_path)
    source = catalog_path.parent / catalog["source_file"]
    documents = parse_corpus(source.read_text(encoding="utf-8"), catalog)
    names = [QUESTIONS_FILE, SEARCH_QUESTIONS_FILE] if search_questions else [QUESTIONS_FILE]
    questions: dict[str, tuple[str, ...]] = {}
    for name in names:
        path = catalog_path.parent / name
        if not path.exists():
            continue
        for key, asked in load_clause_questions(path).items():
            questions[key] = (*questions.get(key, ()), *asked)
    if not questions:
        return documents
    return with_questions(documents, questions)


def load_clause_questions(path: Path) -> dict[str, tuple[str, ...]]:
    """The anticipated questions by "CODE:LABEL" (data/policies/clause_questions*.yml)."""
    with path.open(encoding="utf-8") as handle:  # 4,000 questions: libyaml reads them 10x faster
        clauses = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["clauses"]
    return {
        str(key): tuple(str(q).strip() for q in questions if str(q).strip())
        for key, questions in clauses.items()
    }


def with_questions(
    documents: list[ParsedDocument], questions: dict[str, tuple[str, ...]]
) -> list[ParsedDocument]:
    """`documents` with each clause's anticipated questions; a question for a clause that
    does not exist is an error (a renumbered regulation must move its questions)."""
    known = {f"{doc.code}:{clause.label}" for doc in documents for clause in doc.clauses}
    unknown = sorted(set(questions) - known)
    if unknown:
        raise CorpusError(f"anticipated questions for no such clause: {', '.join(unknown)}")
    return [
        replace(
            doc,
            clauses=tuple(
                replace(clause, questions=questions.get(f"{doc.code}:{clause.label}", ()))
                for clause in doc.clauses
            ),
        )
        for doc in documents
    ]


def character_overlap(question: str, clause_text: str) -> float:
    """The share of the question's letters and digits (counted with repeats, half-width,
    lower case) that occur anywhere in `clause_text`: how much of the question a search
    could match by characters alone."""
    letters = [c for c in unicodedata.normalize("NFKC", question).lower() if c.isalnum()]
    clause = {c for c in unicodedata.normalize("NFKC", clause_text).lower() if c.isalnum()}
    return sum(c in clause for c in letters) / len(letters) if letters else 0.0
