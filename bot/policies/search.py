"""Search the regulations: jieba segmentation, synonyms and stop words, ranked by BM25.

A clause is indexed with its document title and section heading, so a question
naming the document ("机房能吸烟吗") finds clauses of that document. Clauses of staff
documents are searched only for callers allowed to see them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jieba
import yaml
from rank_bm25 import BM25Okapi
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.models import Audience, PolicyClause, PolicyDocument
from bot.settings import PROJECT_ROOT

DICT_DIR = PROJECT_ROOT / "data" / "dict"
POLICY_DIR = PROJECT_ROOT / "data" / "policies"

_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)


@dataclass(frozen=True)
class PolicyHit:
    """One clause found for a question."""

    code: str
    document: str
    source: str
    audience: str
    clause: str
    heading: str
    text: str
    score: float

    @property
    def citation(self) -> str:
        return f"《{self.document}》({self.source}) {self.clause}"

    def as_json(self) -> dict[str, object]:
        return {
            "document": self.document,
            "clause": self.clause,
            "text": self.text,
            "score": round(self.score, 4),
            "code": self.code,
            "source": self.source,
            "heading": self.heading,
            "audience": self.audience,
            "citation": self.citation,
        }


class PolicyTokenizer:
    """Segments text into search terms: jieba with the project dictionary, synonyms folded."""

    def __init__(self, dict_dir: Path = DICT_DIR, policy_dir: Path = POLICY_DIR) -> None:
        self._jieba = jieba.Tokenizer()
        for path in sorted(dict_dir.glob("*.txt")):
            self._jieba.load_userdict(str(path))
        self._stopwords = set((policy_dir / "stopwords.txt").read_text(encoding="utf-8").split())
        with (policy_dir / "synonyms.yml").open(encoding="utf-8") as handle:
            groups = yaml.safe_load(handle)["groups"]
        # Every word of a group is searched as the group's first word.
        self._canonical = {word: group[0] for group in groups for word in group}
        for word in self._canonical:
            self._jieba.add_word(word)
        self._lock = threading.Lock()

    def __call__(self, text: str) -> list[str]:
        with self._lock:  # jieba's lazy initialisation is not thread-safe
            words = self._jieba.lcut_for_search(text.lower())
        terms = []
        for word in words:
            word = word.strip()
            if not word or word in self._stopwords or not _WORD.search(word):
                continue
            terms.append(self._canonical.get(word, word))
        return terms


@lru_cache(maxsize=1)
def default_tokenizer() -> PolicyTokenizer:
    return PolicyTokenizer()


class PolicyIndex:
    """A BM25 index over clauses, each with its document's title and audience."""

    def __init__(self, clauses: Iterable[PolicyClause], tokenizer: PolicyTokenizer) -> None:
        self._tokenizer = tokenizer
        self._hits: list[PolicyHit] = []
        corpus: list[list[str]] = []
        for clause in clauses:
            document = clause.document
            self._hits.append(
                PolicyHit(
                    code=document.code,
                    document=document.title,
                    source=document.source,
                    audience=document.audience.value,
                    clause=clause.label,
                    heading=clause.heading,
                    text=clause.text,
                    score=0.0,
                )
            )
            corpus.append(tokenizer(f"{document.title} {clause.heading} {clause.text}") or ["∅"])
        self._bm25 = BM25Okapi(corpus) if corpus else None

    def __len__(self) -> int:
        return len(self._hits)

    def search(
        self,
        query: str,
        *,
        audiences: tuple[Audience, ...] = (Audience.PUBLIC,),
        limit: int = 3,
        min_score: float = 0.0,
    ) -> list[PolicyHit]:
        """The best clauses for `query`, best first, scoring at least `min_score`."""
        terms = self._tokenizer(query)
        if not terms or self._bm25 is None:
            return []
        allowed = {audience.value for audience in audiences}
        scores = self._bm25.get_scores(terms)
        ranked = sorted(range(len(self._hits)), key=lambda i: scores[i], reverse=True)
        hits = []
        for i in ranked:
            if scores[i] <= 0 or scores[i] < min_score:
                break
            hit = self._hits[i]
            if hit.audience in allowed:
                hits.append(_with_score(hit, float(scores[i])))
                if len(hits) == limit:
                    break
        return hits


def _with_score(hit: PolicyHit, score: float) -> PolicyHit:
    return PolicyHit(**{**hit.__dict__, "score": score})


_index_lock = threading.Lock()
_index_cache: dict[str, tuple[tuple[object, ...], PolicyIndex]] = {}


def _corpus_version(session: Session) -> tuple[object, ...]:
    count, latest = session.execute(
        select(func.count(PolicyDocument.id), func.max(PolicyDocument.updated_at))
    ).one()
    return (count, str(latest))


def load_index(*, session: Session) -> PolicyIndex:
    """The index over the stored regulations, rebuilt only when they change."""
    key = str(session.get_bind().url)
    version = _corpus_version(session)
    with _index_lock:
        cached = _index_cache.get(key)
        if cached and cached[0] == version:
            return cached[1]
        clauses = session.scalars(
            select(PolicyClause)
            .join(PolicyDocument)
            .options(selectinload(PolicyClause.document))
            .order_by(PolicyDocument.ordinal, PolicyClause.ordinal)
        ).all()
        index = PolicyIndex(clauses, default_tokenizer())
        _index_cache[key] = (version, index)
        return index


def search_policies(
    *,
    session: Session,
    query: str,
    audiences: tuple[Audience, ...] = (Audience.PUBLIC,),
    limit: int = 3,
    min_score: float = 0.0,
) -> list[PolicyHit]:
    """Search the stored regulations; see `PolicyIndex.search`."""
    return load_index(session=session).search(
        query, audiences=audiences, limit=limit, min_score=min_score
    )
