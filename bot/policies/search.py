"""Search the regulations: jieba segmentation, synonyms and stop words, character terms
ranked by BM25.

A clause is indexed with its document title and section heading, so a question
naming the document ("机房能吸烟吗") finds clauses of that document, and with what it
answers in everyday words (data/policies/clause_keywords.yml), because the regulations'
formal wording (估抄, 抄见率) is rarely how a question puts it. Clauses of staff
documents are searched only for callers allowed to see them.

Each clause also carries the questions people ask that it answers, in their own words
(data/policies/clause_questions*.yml, "doc2query"): they are indexed by BM25 on their own,
and a clause's best-matching question counts for it (`PolicyHit.question_score`), so
that "存水的罐子隔几天弄一回" finds the clause on 蓄水池 though it shares no word with it.

When the sentence model is installed (`bot.policies.semantic`), the question's embedding
is compared with every clause's stored one and with those of its anticipated questions
(some 4,600 vectors: one matrix product), and clauses are ranked by the fused score
`CLAUSE_SIMILARITY_WEIGHT` x the clause's cosine + its nearest question's cosine +
`NEXT_QUESTIONS_WEIGHT` x each of its next nearest's + `BM25_WEIGHT` x its BM25 score +
`QUESTION_BM25_WEIGHT` x its best question's. A clause that no BM25 threshold lets
answer still answers when its fused score stands out from all the others
(`MIN_PROMINENCE` standard deviations above their mean: an absolute cosine says little,
since everyday and dialect wording lowers every clause's alike). The question is embedded
only when that can change the answer: not when the clause BM25 ranks first passes its
thresholds well ahead of the next (`REORDER_MAX_GAP`). Weights and bars were chosen on
the tuning questions only (tests/data/policy_questions.tsv and
policy_questions_everyday_tuning.tsv) with `make eval-policy` (see README).
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import jieba
import numpy as np
import yaml
from rank_bm25 import BM25Okapi
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.infra.settings import PROJECT_ROOT
from bot.models import Audience, PolicyClause, PolicyDocument
from bot.policies.semantic import (
    EmbeddingCache,
    SentenceModel,
    from_bytes,
    from_bytes_matrix,
    sentence_model,
)
from bot.reading import COMMON_SURNAMES

if TYPE_CHECKING:
    from jieba.posseg import POSTokenizer

DICT_DIR = PROJECT_ROOT / "data" / "dict"
POLICY_DIR = PROJECT_ROOT / "data" / "policies"

_NON_WORD = re.compile(r"[^\w]+")
# BM25 parameters, chosen with `make eval-policy`: clauses vary from 10 to 150
# characters, and a long clause should not win only by repeating a word.
BM25_K1 = 1.2
BM25_B = 0.5
# Thresholds are applied to this many best-scoring clauses.
RANK_DEPTH = 20
# A short question scores low however well it matches ("周会什么时候开" has two words to
# score with): a clause that covers this share of the question's weight needs only
# `SHORT_QUESTION_SCORE` of the score threshold. Chosen with `make eval-policy`: on the
# tuning questions it answers short ones and no unanswerable one (held-out: unchanged).
FULL_COVERAGE = 0.7
SHORT_QUESTION_SCORE = 0.6
# Anticipated questions (BM25 alone): a clause is ranked by its BM25 score plus this
# share of its best question's, and a clause whose best question reaches
# `QUESTION_MIN_SCORE` answers though the clause itself misses the thresholds. Chosen on
# the tuning sets (0.25, 0.5, 1; 20-40): hit@1 0.917 -> 0.976 on the tuning questions,
# no-answer F1 0.907 -> 0.903.
QUESTION_WEIGHT = 0.5
QUESTION_MIN_SCORE = 30.0
# Fusion with the sentence model, chosen on the tuning sets only (hit@1 + no-answer F1 of
# both, with the 4,420 anticipated questions; figures in README, "Policy search"):
# cosines of e5 embeddings vary little (0.8-0.95), BM25 scores 0-60. A clause is ranked
# by its own cosine, its nearest anticipated question's, `NEXT_QUESTIONS_WEIGHT` x each of
# its `NEXT_QUESTIONS` next nearest's, and both BM25 scores. Several questions of one
# clause near the question say more than one: with the second nearest alone, ranked hit@1
# on the everyday tuning set went 0.838 -> 0.865; with the next four, asking each of the
# 4,420 anticipated questions against the others (itself left out) ranked hit@1 0.742 ->
# 0.769 and everyday tuning hit@3 0.973 -> 0.991, the formal tuning questions within one
# question (a grid of weights 0-1 for the 2nd-5th nearest; a conditional logit learnt on
# the anticipated questions weighed the 2nd-5th alike too, and ranked the everyday tuning
# questions no better: 0.919).
# Re-chosen with the fourth round (6,260 anticipated questions, 404 unanswered) by
# cross-validation (`python -m bot.policies.crossval`: the 5,473 anticipated questions
# sharing at most 0.35 of their characters with their clause and the unanswered ones, each
# asked of an index without it) with both tuning sets: the next four nearest questions
# weigh 0.75 instead of 0.5, the questions' BM25 0.002 instead of 0.001, and
# `MIN_PROMINENCE` is 2.5. Left-out hit@1 0.704 -> 0.713, hit@3 0.850 -> 0.861, no-answer
# F1 0.464 -> 0.507; the tuning sets' hit@1 and hit@3 unchanged (0.952, 0.977), their
# no-answer F1 0.938 -> 0.932.
CLAUSE_SIMILARITY_WEIGHT = 0.5
BM25_WEIGHT = 0.002
QUESTION_BM25_WEIGHT = 0.002
NEXT_QUESTIONS = 4
NEXT_QUESTIONS_WEIGHT = 0.75
# How far, in standard deviations over every clause, the best fused score must stand
# above the mean to answer when no clause passes the BM25 thresholds. Chosen with
# `UNANSWERED_MARGIN` for the best hit@1 + no-answer F1 of both tuning sets (2.5-4.0;
# margins 0, 0.005, 0.01, 0.02): below 3 nothing changes, above it everyday questions
# go unanswered. With eight or more questions per clause the margin to the questions the
# regulations do not answer decides most no-answers. Re-chosen as 2.5 with the fusion
# weights above (2.5 and 3.0 tried with each).
MIN_PROMINENCE = 2.5
# A question whose nearest unanswered question (unanswered_questions.yml) is nearer than
# this less than the nearest question a clause answers is not answered.
UNANSWERED_MARGIN = 0.01
# The question is not embedded when the clause BM25 ranks first passes the thresholds
# this far ahead of the next clause (`_decisive`). Chosen on the tuning sets (6, 9, 12;
# before, against the next passing clause: 4-20 and always): 9 gives the best sum; a
# wider gap lets the model overturn BM25's right answers to the formal questions
# (tuning hit@1 0.979 -> 0.955 when always embedded).
REORDER_MAX_GAP = 9.0
# Characters that say how often, how many or when, but not of what: a question made of
# them alone ("多久一次?", "几点?") asks about nothing a search can find, though many
# anticipated questions share them; only with the previous question's words is it
# answered (`bot.policies.answer`).
_MEASURE_CHARS = frozenset("一二两三四五六七八九十百千几多少久次回遍趟个点时分钟日天号周月年")
# How people name a colleague ("跟小张换个班", "老李"): a person, never a thing the
# regulations would have to name.
_PERSON = re.compile(f"[小老大阿][{COMMON_SURNAMES}]")
# Marks ending a question, which say nothing of what it asks.
_END_MARKS = re.compile(r"[\s?!.。~…]+$")
# Question embeddings remembered, by normalised question (the same question asked again,
# a follow-up searched with its context twice).
QUERY_CACHE_SIZE = 1024


@dataclass(frozen=True)
class Thresholds:
    """What a clause must reach to answer (`Settings.policy_min_*`)."""

    min_score: float = 0.0
    min_coverage: float = 0.0
    min_score_unknown_noun: float = 0.0


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
    # Share of the question's weight (IDF) that this clause's words cover, 0-1.
    coverage: float = 0.0
    # Nouns of the question that no clause uses (游泳池, 漏气): what the regulations never
    # mention; see `select_hits`.
    unknown_nouns: tuple[str, ...] = ()
    # What the question asks for (a time, an amount: `AnswerKind`) and whether this clause
    # states such a thing; a clause that does not cannot answer it (see `select_hits`).
    asks_for: tuple[str, ...] = ()
    states_asked: bool = True
    # BM25 score of the clause's anticipated question that best matches the question.
    question_score: float = 0.0
    # Cosines between the question's embedding and the clause's, and the best of its
    # anticipated questions', when the question was embedded; and how far the fused score
    # stands above that of all clauses the caller may see (standard deviations).
    similarity: float | None = None
    question_similarity: float = 0.0
    # The cosine of its nearest anticipated question alone (`question_similarity` also
    # counts the next nearest's), what a question the regulations do not answer is
    # compared with.
    nearest_question_similarity: float = 0.0
    prominence: float = 0.0
    # Cosine of the nearest question the regulations do not answer (unanswered_questions).
    unanswered_similarity: float = -1.0

    @property
    def fused_score(self) -> float:
        """What clauses are ranked by: BM25 with its anticipated questions', or, when the
        question was embedded, the fused score (see the module's docstring)."""
        if self.similarity is None:
            return self.score + QUESTION_WEIGHT * self.question_score
        return (
            CLAUSE_SIMILARITY_WEIGHT * self.similarity
            + self.question_similarity
            + BM25_WEIGHT * self.score
            + QUESTION_BM25_WEIGHT * self.question_score
        )

    @property
    def citation(self) -> str:
        return f"《{self.document}》({self.source}) {self.clause}"

    def as_json(self) -> dict[str, object]:
        return {
            "document": self.document,
            "clause": self.clause,
            "text": self.text,
            # What the clauses are ordered by: BM25, plus the weighed similarity when the
            # question was embedded (`fused_score`); "bm25_score" is BM25's alone.
            "score": round(self.fused_score, 4),
            "bm25_score": round(self.score, 4),
            "question_score": round(self.question_score, 4),
            "coverage": round(self.coverage, 4),
            "unknown_nouns": list(self.unknown_nouns),
            "asks_for": list(self.asks_for),
            "states_asked": self.states_asked,
            "similarity": None if self.similarity is None else round(self.similarity, 4),
            "question_similarity": round(self.question_similarity, 4),
            "prominence": round(self.prominence, 4),
            "code": self.code,
            "source": self.source,
            "heading": self.heading,
            "audience": self.audience,
            "citation": self.citation,
        }


@dataclass(frozen=True)
class AnswerKind:
    """A kind of fact a question can ask for: a question matching `asked` ("多久") is
    answered only by a clause matching `stated` ("每10天", "提前10分钟", "定期")."""

    name: str
    asked: re.Pattern[str]
    stated: re.Pattern[str]


_NUMBER = r"(?:\d+|[零一二两三四五六七八九十百千半]+)"
_SPAN = (
    _NUMBER + r"\s*(?:个)?(?:分钟|小时|天|日|周|星期|月|季|年|次|学期|工作日)"
    r"|每(?:一)?(?:天|日|周|星期|月|季|年|学期|次|班)|定期|频率|周期|当天|当日|随时|立即"
)
_CLOCK = _NUMBER + r"\s*(?:[:：]\d|点|时|分钟|小时)"
# 几 that asks ("隔几天", "几号"), not the 几 of "a few" ("好几个月", "这几天", "前几次").
_HOW_MANY = r"(?<![好十这那前过近头没])几"
# Where a question states its kind: each pattern asks one thing; a question that also
# asks something else (多久...怎么...) is not held to it (see `asked_kinds`).
ANSWER_KINDS = (
    AnswerKind(
        "duration",
        re.compile(
            r"多久|多长时间|多长|多少时间|"
            + _HOW_MANY
            + r"(?:个)?(?:分钟|小时|天|周|星期|月|年|次)"
            r"|多少(?:个)?(?:分钟|小时|天|周|月|年|次)|提前几"
        ),
        re.compile(_SPAN),
    ),
    # A time of day, or a lead time (提前10分钟上岗).
    AnswerKind("clock", re.compile(r"几点|几时"), re.compile(_CLOCK)),
    AnswerKind(
        "date",
        re.compile(r"哪天|哪一天|哪几天|几号|几月几|哪个月|几月份"),
        re.compile(
            _NUMBER + r"\s*(?:日|号|月)|每月|每周|周[一二三四五六日天]|星期|月底|月初|节假日"
        ),
    ),
    AnswerKind(
        "money",
        re.compile(r"多少钱|几块钱|多少元|什么价|价格多少|费用多少|收费多少|多少费用"),
        re.compile(_NUMBER + r"\s*(?:元|块)|免费|收费|费用|价格"),
    ),
    AnswerKind(
        "temperature", re.compile(r"多少度|几度|温度多少"), re.compile(_NUMBER + r"\s*(?:度|℃)")
    ),
    AnswerKind("digits", re.compile(r"几位|多少位"), re.compile(_NUMBER + r"\s*位")),
)
ANSWER_KIND_BY_NAME = {kind.name: kind for kind in ANSWER_KINDS}
_QUESTION_PART = re.compile(r"[\s,，;；。?？!！、]+")
_ASKS = re.compile(
    r"什么|啥|怎么|怎样|如何|吗|么|谁|哪|"
    + _HOW_MANY
    + r"|多少|多久|多长|是否|能不能|可不可以|要不要"
    + r"|(\w)不\1"  # 管不管, 行不行
)


def asked_kinds(question: str) -> tuple[AnswerKind, ...]:
    """The kinds of fact `question` asks for, when every part of it that asks something
    asks for one: "蓄水池多久消毒一次" asks a duration; "保洁多久打扫一次 清洁剂怎么用"
    asks more than that, and any clause about cleaning may answer it."""
    kinds: dict[str, AnswerKind] = {}
    for part in _QUESTION_PART.split(unicodedata.normalize("NFKC", question)):
        asked = [kind for kind in ANSWER_KINDS if kind.asked.search(part)]
        if not asked and _ASKS.search(part):
            return ()
        kinds.update((kind.name, kind) for kind in asked)
    return tuple(kinds.values())


# jieba announces building its dictionary on every start; that is not news.
jieba.setLogLevel(logging.WARNING)


class PolicyTokenizer:
    """Turns text into search terms: single characters and character pairs.

    The text is first segmented by jieba (with the project dictionary) so that stop words
    can be dropped and everyday words replaced by the regulations' words (打点滴 -> 输液);
    then it is cut into characters and adjacent pairs. Character terms match paraphrases
    that share no whole word with the clause, which questions in everyday words often do.
    """

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
            # Tagged a noun: what the regulations name, for `nouns` (jieba tags a word it
            # was given without a tag as unknown).
            self._jieba.add_word(word, tag="n")
        # Characters that carry no meaning alone: not terms, nor pairs of two of them.
        self._stop_chars = {word for word in self._stopwords if len(word) == 1}
        self._pos: POSTokenizer | None = None
        self._lock = threading.Lock()

    def _pos_tokenizer(self) -> POSTokenizer:
        """jieba's part-of-speech tagger, made on the first `nouns`: importing it loads
        tables of 50 MB, which an action server that answers no policy question never
        needs (README, Speed). Called with `_lock` held."""
        if self._pos is None:
            from jieba.posseg import POSTokenizer

            self._pos = POSTokenizer(self._jieba)
        return self._pos

    def normalize(self, text: str) -> str:
        """Half-width, lower case, stop words blanked, synonyms replaced."""
        text = unicodedata.normalize("NFKC", text).lower()
        with self._lock:  # jieba's lazy initialisation is not thread-safe
            words = self._jieba.lcut(text)
        return "".join(
            " " if word in self._stopwords else self._canonical.get(word, word) for word in words
        )

    def nouns(self, text: str) -> list[str]:
        """The nouns of `text` after `normalize`: things, times and activities (jieba's
        n*, t and vn), what a question is about rather than what it asks.

        Segmented with jieba's dictionary only: its guesses at unknown words would join a
        word to a neighbouring character (药能, 人能)."""
        text = self.normalize(text)
        with self._lock:
            pairs = self._pos_tokenizer().lcut(text, HMM=False)
        return [
            word
            for word, flag in pairs
            if (flag.startswith(("n", "t")) or flag == "vn") and word not in self._stopwords
        ]

    def __call__(self, text: str) -> list[str]:
        terms: list[str] = []
        for run in _NON_WORD.split(self.normalize(text)):
            stop = self._stop_chars
            terms.extend(a + b for a, b in itertools.pairwise(run) if not (a in stop and b in stop))
            terms.extend(char for char in run if char not in stop)
        return terms


class Bm25Postings:
    """BM25Okapi's scores (`rank_bm25`, same IDF and length normalisation), computed from
    each term's postings instead of a pass over every document per term: with the
    anticipated questions there are some 750 documents, and a question's 30 terms took
    several milliseconds that way."""

    def __init__(self, documents: list[list[str]]) -> None:
        okapi = BM25Okapi(documents, k1=BM25_K1, b=BM25_B)
        self.idf: dict[str, float] = okapi.idf
        # The weight of the rarest term, for words no document uses (`_coverage`).
        self.max_idf = max(self.idf.values(), default=1.0)
        self.size = len(documents)
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for j, frequencies in enumerate(okapi.doc_freqs):
            norm = BM25_K1 * (1 - BM25_B + BM25_B * okapi.doc_len[j] / okapi.avgdl)
            for term, tf in frequencies.items():
                weight = self.idf.get(term, 0.0) * tf * (BM25_K1 + 1) / (tf + norm)
                docs, weights = postings.setdefault(term, ([], []))
                docs.append(j)
                weights.append(weight)
        self._postings = {
            term: (np.array(docs, dtype=np.int64), np.array(weights))
            for term, (docs, weights) in postings.items()
        }

    def get_scores(self, terms: list[str]) -> np.ndarray:
        """Each document's BM25 score for `terms` (a repeated term counts again)."""
        scores = np.zeros(self.size)
        for term in terms:
            posting = self._postings.get(term)
            if posting is not None:
                scores[posting[0]] += posting[1]
        return scores


@lru_cache(maxsize=1)
def default_tokenizer() -> PolicyTokenizer:
    return PolicyTokenizer()


@lru_cache(maxsize=1)
def clause_keywords(policy_dir: Path = POLICY_DIR) -> dict[str, str]:
    """What each clause answers in everyday words, by "CODE:LABEL" (clause_keywords.yml)."""
    with (policy_dir / "clause_keywords.yml").open(encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle)["clauses"])


class PolicyIndex:
    """A BM25 index over clauses, each with its document's title and audience, and over
    the questions each clause answers (`PolicyClause.questions`).

    `keywords` maps "CODE:LABEL" to everyday words for what that clause answers. With a
    `model`, the clauses' and their questions' stored embeddings (made by that model) fuse
    with BM25; a clause without one never ranks by the model."""

    def __init__(
        self,
        clauses: Iterable[PolicyClause],
        tokenizer: PolicyTokenizer,
        keywords: Mapping[str, str] | None = None,
        model: SentenceModel | None = None,
        unanswered: np.ndarray | None = None,
    ) -> None:
        self._tokenizer = tokenizer
        # Embeddings of questions the regulations do not answer (`unanswered_questions`).
        self._unanswered = (
            unanswered if unanswered is not None else np.zeros((0, 384), dtype=np.float32)
        )
        self._model = model
        vectors: list[np.ndarray | None] = []
        question_vectors: list[np.ndarray] = []
        keywords = keywords or {}
        self._hits: list[PolicyHit] = []
        corpus: list[list[str]] = []
        questions: list[list[str]] = []
        owners: list[int] = []
        vector_owners: list[int] = []
        self._words: list[frozenset[str]] = []
        # What each clause states, for `asked_kinds`: its own words, half-width.
        self._statements: list[str] = []
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
            everyday = keywords.get(f"{document.code}:{clause.label}", "")
            corpus.append(
                tokenizer(f"{document.title} {clause.heading} {clause.text} {everyday}") or ["∅"]
            )
            self._words.append(frozenset(corpus[-1]))
            self._statements.append(unicodedata.normalize("NFKC", clause.text))
            stored = getattr(clause, "embedding_model", None) == getattr(model, "name", "")
            vectors.append(from_bytes(clause.embedding) if model and stored else None)
            asked = [q for q in (getattr(clause, "questions", "") or "").split("\n") if q]
            questions.extend(tokenizer(q) or ["∅"] for q in asked)
            owners.extend([len(self._hits) - 1] * len(asked))
            blob = getattr(clause, "question_embeddings", None) if model and stored else None
            matrix = from_bytes_matrix(blob, len(asked))
            if matrix is not None:  # vectors that do not match the questions are not used
                question_vectors.extend(matrix)
                vector_owners.extend([len(self._hits) - 1] * len(asked))
        self._bm25 = Bm25Postings(corpus) if corpus else None
        self._question_bm25 = Bm25Postings(questions) if questions else None
        self._question_owner = np.array(owners, dtype=np.int64)
        # Each clause's anticipated questions as a row of positions in
        # `_question_vectors` (-1 pads shorter rows): their cosines sorted per clause.
        slots: list[list[int]] = [[] for _ in self._hits]
        for position, owner in enumerate(vector_owners):
            slots[owner].append(position)
        width = max((len(row) for row in slots), default=0)
        self._question_slots = np.array(
            [row + [-1] * (width - len(row)) for row in slots], dtype=np.int64
        ).reshape(len(self._hits), width)
        # Everything the regulations and their questions name, for `_unknown_nouns`.
        self._vocabulary = {term for words in corpus + questions for term in words}
        # Clauses without a vector of this model score -1: never ranked up by the model.
        self._vectors = (
            np.stack([v if v is not None else np.zeros(384, dtype=np.float32) for v in vectors])
            if vectors
            else np.zeros((0, 384), dtype=np.float32)
        )
        self._question_vectors = (
            np.stack(question_vectors) if question_vectors else np.zeros((0, 384), np.float32)
        )
        self._has_vector = np.array([v is not None for v in vectors], dtype=bool)
        self._audiences = np.array([hit.audience for hit in self._hits], dtype=object)
        if model is not None and not self._has_vector.any():
            self._model = None
        self.semantic_calls = 0
        self._query_vector = lru_cache(maxsize=QUERY_CACHE_SIZE)(self._embed)

    @property
    def semantic(self) -> bool:
        """Whether the sentence model takes part in ranking."""
        return self._model is not None

    def __len__(self) -> int:
        return len(self._hits)

    def forget_embeddings(self) -> None:
        """Empty the cache of question embeddings (the benchmark times cold searches)."""
        self._query_vector.cache_clear()

    def rank(
        self,
        query: str,
        *,
        audiences: tuple[Audience, ...] = (Audience.PUBLIC,),
        depth: int = RANK_DEPTH,
        thresholds: Thresholds | None = None,
        semantic: bool = True,
    ) -> list[PolicyHit]:
        """The `depth` best clauses for `query` that `audiences` may see, best first: by
        BM25, or by the fused score when the sentence model is used (`semantic`) and can
        change what `select_hits` answers at `thresholds` (always, without thresholds)."""
        terms = self._tokenizer(query)
        if self._bm25 is None or not _names_something(terms):
            return []
        scores, question_scores = self._bm25_scores(terms)
        allowed = np.isin(self._audiences, [audience.value for audience in audiences])
        bm25_order = scores + QUESTION_WEIGHT * question_scores
        hits = self._hits_at(
            query, terms, self._top(bm25_order, allowed, depth), scores, question_scores
        )
        if self._model is None or not semantic or not hits:
            return hits
        if thresholds is not None and not _semantic_can_change(hits, thresholds):
            return hits
        self.semantic_calls += 1
        vector = self._query_vector(_normalized(query))
        similarities = np.where(self._has_vector, self._vectors @ vector, -1.0)
        question_similarities, nearest_questions = self._question_similarities(vector)
        fused = (
            CLAUSE_SIMILARITY_WEIGHT * similarities
            + question_similarities
            + BM25_WEIGHT * scores
            + QUESTION_BM25_WEIGHT * question_scores
        )
        beyond = float((self._unanswered @ vector).max()) if len(self._unanswered) else -1.0
        # Over every clause, whoever asks.
        embedded = fused[self._has_vector]
        spread = float(embedded.std()) or 1.0
        mean = float(embedded.mean())
        chosen = self._top(np.where(self._has_vector, fused, -np.inf), allowed, depth)
        first = hits[0]
        return [
            replace(
                self._hits[i],
                score=float(scores[i]),
                question_score=float(question_scores[i]),
                coverage=self._coverage(terms, i),
                unknown_nouns=first.unknown_nouns,
                asks_for=first.asks_for,
                states_asked=all(
                    ANSWER_KIND_BY_NAME[name].stated.search(self._statements[i])
                    for name in first.asks_for
                ),
                similarity=float(similarities[i]),
                question_similarity=float(question_similarities[i]),
                nearest_question_similarity=float(nearest_questions[i]),
                prominence=(float(fused[i]) - mean) / spread,
                unanswered_similarity=beyond,
            )
            for i in chosen
        ]

    def _question_similarities(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each clause, by its anticipated questions' cosines to `vector`: the nearest
        plus `NEXT_QUESTIONS_WEIGHT` x each of the `NEXT_QUESTIONS` next nearest (a clause
        with fewer questions counts none for those it lacks), and the nearest alone (-1 for
        a clause without questions)."""
        if not self._question_slots.size:
            none = np.full(len(self._hits), -1.0)
            return none, none
        cosines = np.append(self._question_vectors @ vector, -1.0)  # -1 for the padding
        nearest = -np.sort(-cosines[self._question_slots], axis=1)
        following = np.maximum(nearest[:, 1 : 1 + NEXT_QUESTIONS], 0.0).sum(axis=1)
        return nearest[:, 0] + NEXT_QUESTIONS_WEIGHT * following, nearest[:, 0]

    def _embed(self, query: str) -> np.ndarray:
        assert self._model is not None
        return self._model.query(query)

    @staticmethod
    def _top(order: np.ndarray, allowed: np.ndarray, depth: int) -> list[int]:
        candidates = np.flatnonzero(allowed & (order > 0))
        return [int(i) for i in candidates[np.argsort(-order[candidates], kind="stable")][:depth]]

    def _bm25_scores(self, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each clause's BM25 score, and that of its best-matching anticipated question."""
        assert self._bm25 is not None
        scores = self._bm25.get_scores(terms)
        question_scores = np.zeros(len(self._hits))
        if self._question_bm25 is not None:
            np.maximum.at(
                question_scores, self._question_owner, self._question_bm25.get_scores(terms)
            )
        return scores, question_scores

    def _hits_at(
        self,
        query: str,
        terms: list[str],
        indices: list[int],
        scores: np.ndarray,
        question_scores: np.ndarray,
    ) -> list[PolicyHit]:
        if not indices:
            return []
        unknown = self._unknown_nouns(query)
        kinds = asked_kinds(query)
        return [
            replace(
                self._hits[i],
                score=float(scores[i]),
                question_score=float(question_scores[i]),
                coverage=self._coverage(terms, i),
                unknown_nouns=unknown,
                asks_for=tuple(kind.name for kind in kinds),
                states_asked=all(kind.stated.search(self._statements[i]) for kind in kinds),
            )
            for i in indices
        ]

    def answers(
        self,
        query: str,
        *,
        audiences: tuple[Audience, ...],
        thresholds: Thresholds,
        limit: int,
        semantic: bool = True,
        always_embed: bool = False,
    ) -> list[PolicyHit]:
        """The clauses that answer `query` (`select_hits` over every clause's ranking) as
        `audiences` may read them: none when the best is one they may not read. The
        question is embedded when that can change the answer, or (`always_embed`) always,
        for the cosines a caller weighs."""
        found = select_hits(
            self.rank(
                query,
                audiences=tuple(Audience),
                thresholds=None if always_embed else thresholds,
                semantic=semantic,
            ),
            limit=RANK_DEPTH,
            min_score=thresholds.min_score,
            min_coverage=thresholds.min_coverage,
            min_score_unknown_noun=thresholds.min_score_unknown_noun,
        )
        readable = {audience.value for audience in audiences}
        if not found or found[0].audience not in readable:
            return []
        return [hit for hit in found if hit.audience in readable][:limit]

    def search(
        self,
        query: str,
        *,
        audiences: tuple[Audience, ...] = (Audience.PUBLIC,),
        limit: int = 3,
        min_score: float = 0.0,
        min_coverage: float = 0.0,
        min_score_unknown_noun: float = 0.0,
        prefer: str = "",
        semantic: bool = True,
    ) -> list[PolicyHit]:
        """The best clauses for `query` that `audiences` may read, best first, that reach
        the thresholds; with `prefer` (a follow-up's own words), those covering more of it
        come first; without `semantic`, by BM25 alone.

        What answers is judged over every clause, whoever asks: when the best is one that
        `audiences` may not read ("机房里能吃东西吗" to a customer: the staff-only server
        room rules), none is returned, not the best of the rest (the public counter's rule
        on snacks, a wrong answer)."""
        hits = self.answers(
            query,
            audiences=audiences,
            thresholds=Thresholds(min_score, min_coverage, min_score_unknown_noun),
            limit=RANK_DEPTH if prefer else limit,
            semantic=semantic,
        )
        if prefer and hits:
            terms = self._tokenizer(prefer)
            position = {(hit.code, hit.clause): i for i, hit in enumerate(self._hits)}
            # Rounded, so that near-equal coverage leaves the search's own order.
            covers = {
                key: round(self._coverage(terms, i), 1) if terms else 0.0
                for key, i in position.items()
            }
            hits = sorted(hits, key=lambda hit: -covers[(hit.code, hit.clause)])
        return hits[:limit]

    def _unknown_nouns(self, query: str) -> tuple[str, ...]:
        """The nouns of `query` that share no term (character pair, or the character of a
        one-character noun) with any clause or anticipated question."""
        return tuple(
            word
            for word in dict.fromkeys(self._tokenizer.nouns(query))
            if not _PERSON.fullmatch(word)
            and not any(term in self._vocabulary for term in _pairs(word))
        )

    def _coverage(self, terms: list[str], index: int) -> float:
        """How much of the question clause `index` covers, weighting words by rarity.

        A word the regulations never use weighs as much as the rarest word they do: a
        question about 停车费 is not answered by a clause that merely shares 收费."""
        assert self._bm25 is not None
        idf = self._bm25.idf
        unknown = self._bm25.max_idf
        words = self._words[index]
        total = covered = 0.0
        for term in set(terms):
            weight = max(idf[term], 0.0) if term in idf else unknown
            total += weight
            if term in words:
                covered += weight
        return covered / total if total else 0.0


def _normalized(query: str) -> str:
    """The question as embedded and cached: half-width, lower case, single spaces, without
    the marks that end it ("哪天抄表？！" asks what "哪天抄表" does)."""
    text = " ".join(unicodedata.normalize("NFKC", query).lower().split())
    return _END_MARKS.sub("", text) or text


def _names_something(terms: list[str]) -> bool:
    """Whether a question's search terms name anything beyond a measure (`_MEASURE_CHARS`)."""
    return any(char not in _MEASURE_CHARS for term in terms for char in term)


def _pairs(word: str) -> list[str]:
    return [a + b for a, b in itertools.pairwise(word)] or [word]


def _passing(
    ranked: list[PolicyHit],
    *,
    limit: int,
    min_score: float,
    min_coverage: float,
    min_score_unknown_noun: float = 0.0,
) -> list[PolicyHit]:
    """The first `limit` of `ranked` that reach both thresholds (a clause covering nearly
    all of a short question needs less score: `FULL_COVERAGE`) and state what the question
    asks for (a duration, an amount: `asked_kinds`), or none when the question names a
    thing the regulations never do and either asks for such a fact about it or the best
    clause misses `min_score_unknown_noun`.

    Such a question ("家里燃气漏气了打什么电话") is most likely about something the
    regulations do not govern, however well the rest of it (燃气, 电话) matches, and the
    regulations cannot state how often a thing they never mention is done ("游泳池多久消毒
    一次", however well 多久消毒一次 matches the 蓄水池 clause). A clause that shares a
    question's words but not the fact it asks for ("服务器密码要设几位数": the rules only say
    it is changed regularly) does not answer it."""
    passing = [
        h
        for h in ranked
        if h.states_asked
        and h.coverage >= min_coverage
        and (
            h.score >= min_score
            or (h.coverage >= FULL_COVERAGE and h.score >= min_score * SHORT_QUESTION_SCORE)
        )
    ]
    best = passing[0] if passing else None
    if best and best.unknown_nouns and (best.asks_for or best.score < min_score_unknown_noun):
        return []
    return passing[:limit]


def _bm25_answers(ranked: list[PolicyHit], thresholds: Thresholds) -> list[PolicyHit]:
    """The clauses of `ranked` that answer by BM25, in its order: those `_passing` the
    thresholds, and those whose anticipated question reaches `QUESTION_MIN_SCORE` and
    that state what is asked (unless the question asks a fact about a thing the
    regulations never name)."""
    passing = {
        (hit.code, hit.clause)
        for hit in _passing(
            ranked,
            limit=len(ranked),
            min_score=thresholds.min_score,
            min_coverage=thresholds.min_coverage,
            min_score_unknown_noun=thresholds.min_score_unknown_noun,
        )
    }
    return [
        hit
        for hit in ranked
        if (hit.code, hit.clause) in passing
        or (
            hit.question_score >= QUESTION_MIN_SCORE
            and hit.states_asked
            and not (hit.unknown_nouns and hit.asks_for)
        )
    ]


def _decisive(ranked: list[PolicyHit], answers: list[PolicyHit]) -> bool:
    """Whether BM25 alone settles the answer: the clause BM25 ranks first answers, well
    ahead of the next clause, answering or not (`REORDER_MAX_GAP`). A clause that answers
    only through one anticipated question while a clause ranked above it misses the bars
    ("每周的会 是礼拜几开": the weekly rota's question against the weekly meeting's
    clause) is for the model to weigh."""
    if not answers or answers[0] is not ranked[0]:
        return False
    runner_up = ranked[1].fused_score if len(ranked) > 1 else 0.0
    return answers[0].fused_score - runner_up >= REORDER_MAX_GAP


def _semantic_can_change(ranked: list[PolicyHit], thresholds: Thresholds) -> bool:
    """Whether the sentence model can change what `select_hits` answers: unless BM25 is
    decisive, it can reorder the clauses or find one BM25 misses."""
    return not _decisive(ranked, _bm25_answers(ranked, thresholds))


def select_hits(
    ranked: list[PolicyHit],
    *,
    limit: int,
    min_score: float,
    min_coverage: float,
    min_score_unknown_noun: float = 0.0,
) -> list[PolicyHit]:
    """The clauses that answer, best first. Ranked by BM25 (the question was not
    embedded): those that answer by BM25 (`_bm25_answers`). Ranked by the fused score:
    the best clauses that state what is asked, when a clause answers by BM25 or the best
    one stands out (`MIN_PROMINENCE`), the question is nearer a clause's question than
    any the regulations do not answer, and it does not ask a fact about a thing the
    regulations never name."""
    thresholds = Thresholds(min_score, min_coverage, min_score_unknown_noun)
    answers = _bm25_answers(ranked, thresholds)
    if not any(hit.similarity is not None for hit in ranked):
        return answers[:limit]
    if not ranked or (not answers and ranked[0].prominence < MIN_PROMINENCE):
        return []
    nearest_answered = max(hit.nearest_question_similarity for hit in ranked)
    if ranked[0].unanswered_similarity >= nearest_answered - UNANSWERED_MARGIN:
        return []  # more like a question the regulations do not answer than any they do
    if ranked[0].unknown_nouns and ranked[0].asks_for:
        return []
    return [hit for hit in ranked if hit.states_asked][:limit]


_index_lock = threading.Lock()
_index_cache: dict[str, tuple[tuple[object, ...], PolicyIndex]] = {}


def _corpus_version(session: Session) -> tuple[object, ...]:
    count, latest = session.execute(
        select(func.count(PolicyDocument.id), func.max(PolicyDocument.updated_at))
    ).one()
    # Clauses embedded since (a model installed after the regulations were stored).
    embedded = session.scalar(select(func.count(PolicyClause.embedding_model)))
    return (count, str(latest), embedded)


def build_index(*, session: Session, model: SentenceModel | None) -> PolicyIndex:
    """An index over the stored regulations, fused with `model` when it is given."""
    clauses = session.scalars(
        select(PolicyClause)
        .join(PolicyDocument)
        .options(selectinload(PolicyClause.document))
        .order_by(PolicyDocument.ordinal, PolicyClause.ordinal)
    ).all()
    unanswered = embed_unanswered(model) if model is not None else None
    return PolicyIndex(clauses, default_tokenizer(), clause_keywords(), model, unanswered)


@lru_cache(maxsize=1)
def unanswered_questions(policy_dir: Path = POLICY_DIR) -> tuple[str, ...]:
    """Questions the regulations do not answer (unanswered_questions.yml)."""
    with (policy_dir / "unanswered_questions.yml").open(encoding="utf-8") as handle:
        return tuple(str(q).strip() for q in yaml.safe_load(handle)["questions"] if str(q).strip())


def embed_unanswered(model: SentenceModel) -> np.ndarray:
    """The embeddings of `unanswered_questions`: from the cache the regulations' seeding
    fills (`bot db seed`), else computed once (a second or two)."""
    return EmbeddingCache().embed(model, list(unanswered_questions()), as_queries=True)


def load_index(*, session: Session) -> PolicyIndex:
    """The index over the stored regulations, rebuilt only when they change."""
    key = str(session.get_bind().url)
    version = _corpus_version(session)
    with _index_lock:
        cached = _index_cache.get(key)
        if cached and cached[0] == version:
            return cached[1]
        index = build_index(session=session, model=sentence_model())
        _index_cache[key] = (version, index)
        return index


def search_policies(
    *,
    session: Session,
    query: str,
    audiences: tuple[Audience, ...] = (Audience.PUBLIC,),
    limit: int = 3,
    min_score: float = 0.0,
    min_coverage: float = 0.0,
    min_score_unknown_noun: float = 0.0,
    prefer: str = "",
    semantic: bool = True,
) -> list[PolicyHit]:
    """Search the stored regulations; see `PolicyIndex.search`."""
    return load_index(session=session).search(
        query,
        audiences=audiences,
        limit=limit,
        min_score=min_score,
        min_coverage=min_coverage,
        min_score_unknown_noun=min_score_unknown_noun,
        prefer=prefer,
        semantic=semantic,
    )
