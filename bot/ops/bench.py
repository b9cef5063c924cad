"""`make bench`: turns per second and latency through the running servers.

Starts the action server and the Rasa server (bot.ops.devserver) on free ports with a fresh
demo database and tracker store in var/bench/, then, at each concurrency level, sends a
turn that runs a custom action with a database query (by default 燃气营业厅在哪: the
business halls, no state needed) from many distinct senders, and the same text to bare
`/model/parse` (NLU only). Prints turns/s, p50/p95/p99 latency, errors, the resident
memory of each server with its child processes (resident, RSS, and proportional, PSS:
forked workers share pages, which RSS counts once per process) and the turn/parse ratio,
and checks the targets (issue 24): at concurrency 8 p95 at most 100 ms and at least 80
turns/s, at concurrency 1 p95 at most 40 ms, no errors, all Rasa server processes together
at most 800 MB (PSS), the action server at most 200 MB. Exit status 1 when a target is
missed. Each row also gives the CPU time the Rasa server and the action server spent per
request, which other work on the machine skews less than the clock; a bare parse's CPU
cost is the machine's yardstick to compare runs by.

The servers run as `python -m bot run --no-chat` runs them (`bot.ops.devserver.start_servers`
with the same serving environment, `serving_env`); the options below only change that
when given.

    python -m bot.ops.bench [--turns 400] [--concurrency 1,8,32] [--postgres] [--tracker-store SQL]

`--postgres` runs the production configuration instead of SQLite: service data and the
tracker store on the local PostgreSQL (`TEST_POSTGRES_URL` names the server) and the
project's Redis lock store (bot.infra.lock_store) on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.infra.settings import PROJECT_ROOT
from bot.ops.devserver import (
    RASA_SERVING_ENV,
    Servers,
    ServerStartError,
    rasa_server_env,
    server_env,
    start_servers,
)

MODEL = PROJECT_ROOT / "models" / "service-assistant.tar.gz"
BENCH_DIR = PROJECT_ROOT / "var" / "bench"
DEFAULT_MESSAGE = "燃气营业厅在哪"
EXPECTED = "营业时间"  # in every answer of action_gas_business_halls
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"

# The project's tracker store, and Rasa's own (`--tracker-store SQL`) to compare with.
TRACKER_STORES = ("bot.infra.tracker_store.ThreadedSQLTrackerStore", "SQL")

# The targets of issue 24, checked at the end of every run.
TARGET_P95_MS_AT_8 = 100.0
TARGET_TURNS_PER_S_AT_8 = 80.0
TARGET_P95_MS_AT_1 = 40.0
TARGET_RASA_PSS_MB = 800.0
TARGET_ACTIONS_RSS_MB = 200.0


@dataclass
class Run:
    """The figures of one batch of requests at one concurrency."""

    name: str
    concurrency: int
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack += children.get(current, [])
    return found


@dataclass(frozen=True)
class Memory:
    """The memory of a process and its descendants, in MB: resident (RSS, a page shared by
    forked workers counted in each) and proportional (PSS, a shared page split between
    the processes sharing it: what the group costs the machine)."""

    rss_mb: float
    pss_mb: float


def _proc_kb(path: Path, field_name: str) -> int:
    """The kB figure of `field_name` ("VmRSS:", "Pss:") in a /proc file; 0 when gone."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(field_name):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return 0


def tree_memory(pid: int) -> Memory:
    """RSS and PSS of `pid` and all its descendants (PSS needs /proc/<pid>/smaps_rollup,
    Linux 4.14 and later)."""
    rss_kb = pss_kb = 0
    for current in process_tree(pid):
        rss_kb += _proc_kb(Path(f"/proc/{current}/status"), "VmRSS:")
        pss_kb += _proc_kb(Path(f"/proc/{current}/smaps_rollup"), "Pss:")
    return Memory(rss_kb / 1024, pss_kb / 1024)


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) used so far by `pid` and its descendants. Per turn it
    says what a turn costs, which other work on the machine skews less than the clock."""
    ticks = 0
    for current in process_tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class Client:
    """One keep-alive HTTP connection per thread."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._local = threading.local()

    def post(self, path: str, body: dict[str, str]) -> tuple[int, bytes]:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
            self._local.connection = connection
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            connection.request("POST", path, data, self._headers)
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self._local.connection = None
            connection.close()
            return 0, b""


def measure(name: str, concurrency: int, requests: int, one: Callable[[int], bool]) -> Run:
    """Run `one(i)` for i in range(requests) on `concurrency` threads."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def timed(number: int) -> None:
        nonlocal errors
        started = time.perf_counter()
        ok = one(number)
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(elapsed)
            errors += not ok

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(timed, range(requests)))
    return Run(name, concurrency, requests, time.perf_counter() - started, latencies, errors)


def turn_sender(client: Client, message: str, run_id: str, senders: int) -> Callable[[int], bool]:
    def one(number: int) -> bool:
        body = {"sender": f"bench:{run_id}:{number % senders}", "message": message}
        status, raw = client.post("/webhooks/rest/webhook", body)
        if status != 200:
            return False
        replies = json.loads(raw.decode("utf-8"))
        return any(EXPECTED in (reply.get("text") or "") for reply in replies)

    return one


def parse_sender(client: Client, message: str) -> Callable[[int], bool]:
    def one(_number: int) -> bool:
        status, raw = client.post("/model/parse", {"text": message})
        return status == 200 and bool(json.loads(raw.decode("utf-8")).get("intent"))

    return one


@contextmanager
def bench_servers(
    workdir: Path, postgres: bool, extra_env: dict[str, str], tracker_store: str = TRACKER_STORES[0]
) -> Iterator[Servers]:
    """The servers on free ports with a fresh demo database (and tracker store)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from bot.infra.db import create_engine, session_scope
    from bot.infra.migrate import upgrade
    from bot.ops.seed import seed_demo, seed_policies

    suffix = uuid.uuid4().hex[:8]
    dropped: list[str] = []
    if postgres:
        server_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)
        server = create_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
        for name in (f"bench_{suffix}", f"bench_tracker_{suffix}"):
            with server.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            dropped.append(name)
        url = make_url(server_url)
        database_url = url.set(database=dropped[0]).render_as_string(hide_password=False)
        stores = (
            f"tracker_store:\n  type: {tracker_store}\n  dialect: postgresql\n"
            f'  url: "{url.host}"\n  port: {url.port or 5432}\n'
            f'  username: "{url.username or "postgres"}"\n  db: "{dropped[1]}"\n'
            "lock_store:\n  type: bot.infra.lock_store.AtomicRedisLockStore\n"
            "  url: 127.0.0.1\n  port: 6379\n"
            f'  key_prefix: "bench{suffix}"\n'
        )
    else:
        database_url = f"sqlite:///{workdir / 'service.db'}"
        stores = (
            f"tracker_store:\n  type: {tracker_store}\n"
            f'  dialect: "sqlite"\n  db: "{workdir / "tracker.db"}"\n'
        )
    upgrade(database_url)
    engine = create_engine(database_url)
    with session_scope(engine) as session:
        seed_policies(session=session)
        seed_demo(session=session)
    engine.dispose()
    action_port, rasa_port = free_port(), free_port()
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://localhost:{action_port}/webhook"\n'
        f"  enable_selective_domain: true\n{stores}",
        encoding="utf-8",
    )
    servers = start_servers(
        action_port=action_port,
        rasa_port=rasa_port,
        log_dir=workdir / "logs",
        endpoints=endpoints,
        model=MODEL,
        extra_env={"DATABASE_URL": database_url, **extra_env},
    )
    try:
        yield servers
    finally:
        servers.stop()
        if postgres:
            for name in dropped:
                with server.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _row(run: Run, memory: tuple[Memory, Memory] | None, cpu: tuple[float, float]) -> str:
    if memory:
        rasa, actions = memory
        figures = f"{rasa.rss_mb:>8.0f} {rasa.pss_mb:>8.0f} {actions.rss_mb:>8.0f}"
    else:
        figures = f"{'':>8} {'':>8} {'':>8}"
    per_request = [seconds * 1000 / run.requests for seconds in cpu]
    return (
        f"{run.name:<6} {run.concurrency:>5} {run.requests:>6} {run.per_second:>8.1f} "
        f"{run.percentile(50):>7.1f} {run.percentile(95):>7.1f} {run.percentile(99):>7.1f} "
        f"{run.errors:>6} {figures} {per_request[0]:>8.1f} {per_request[1]:>8.1f}"
    )


def missed_targets(
    turns: dict[int, Run], parses: dict[int, Run], rasa: Memory, actions: Memory
) -> list[str]:
    """The targets of issue 24 that these runs miss, each with its figure and its target
    (`rasa` and `actions`: the largest memory seen). Latency and throughput are checked
    at the concurrency levels that were run."""
    missed = []
    if 8 in turns:
        if turns[8].percentile(95) > TARGET_P95_MS_AT_8:
            p95 = turns[8].percentile(95)
            missed.append(f"p95 at concurrency 8 is {p95:.0f} ms (<= {TARGET_P95_MS_AT_8:.0f})")
        if turns[8].per_second < TARGET_TURNS_PER_S_AT_8:
            rate = turns[8].per_second
            missed.append(f"{rate:.1f} turns/s at concurrency 8 (>= {TARGET_TURNS_PER_S_AT_8:.0f})")
    if 1 in turns and turns[1].percentile(95) > TARGET_P95_MS_AT_1:
        p95 = turns[1].percentile(95)
        missed.append(f"p95 at concurrency 1 is {p95:.0f} ms (<= {TARGET_P95_MS_AT_1:.0f})")
    errors = sum(run.errors for run in turns.values()) + sum(r.errors for r in parses.values())
    if errors:
        missed.append(f"{errors} errors (0)")
    if rasa.pss_mb > TARGET_RASA_PSS_MB:
        missed.append(
            f"Rasa server processes {rasa.pss_mb:.0f} MB PSS ({rasa.rss_mb:.0f} MB RSS) "
            f"(<= {TARGET_RASA_PSS_MB:.0f})"
        )
    if actions.rss_mb > TARGET_ACTIONS_RSS_MB:
        missed.append(f"action server {actions.rss_mb:.0f} MB (<= {TARGET_ACTIONS_RSS_MB:.0f})")
    return missed


def bench_env(rasa_workers: int | None, action_workers: int | None) -> dict[str, str]:
    """The environment the bench adds to `bot run`'s: only the options given."""
    env = {}
    if rasa_workers is not None:
        env["SANIC_WORKERS"] = str(rasa_workers)
    if action_workers is not None:
        env["ACTION_SERVER_SANIC_WORKERS"] = str(action_workers)
    return env


def serving_summary(env: dict[str, str]) -> str:
    """The serving settings in `env` (the Rasa server's, and the action server's workers)."""
    names = [*RASA_SERVING_ENV, "SANIC_WORKERS", "ACTION_SERVER_SANIC_WORKERS", "LOG_LEVEL"]
    return " ".join(f"{name}={env[name]}" for name in dict.fromkeys(names) if name in env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=400, help="requests per level")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated levels")
    parser.add_argument("--message", default=DEFAULT_MESSAGE)
    parser.add_argument("--senders", type=int, default=200, help="distinct senders per level")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL and Redis stores")
    parser.add_argument(
        "--action-workers",
        type=int,
        help="action server processes (ACTION_SERVER_SANIC_WORKERS; default: as `bot run`)",
    )
    parser.add_argument(
        "--rasa-workers",
        type=int,
        help="Rasa server processes (SANIC_WORKERS; default: as `bot run`; more than one "
        "needs --postgres for the Redis lock store)",
    )
    parser.add_argument(
        "--tracker-store",
        choices=TRACKER_STORES,
        default=TRACKER_STORES[0],
        help="the tracker store's type in endpoints.yml (SQL: Rasa's own, to compare)",
    )
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.concurrency.split(",")]
    if not MODEL.is_file():
        print(f"no trained model at {MODEL}: run `make train` first", file=sys.stderr)
        return 1
    workdir = BENCH_DIR / time.strftime("%Y%m%d-%H%M%S")
    workdir.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    if (args.rasa_workers or 1) > 1 and not args.postgres:
        parser.error("--rasa-workers needs --postgres: Rasa's workers share the Redis lock store")
    env = bench_env(args.rasa_workers, args.action_workers)
    serving = rasa_server_env(server_env(env))
    print(
        f"starting the servers ({'PostgreSQL + Redis' if args.postgres else 'SQLite'}, "
        f"tracker store {args.tracker_store}; logs in {workdir}/logs) as `bot run` does, "
        f"with {serving_summary(serving)}; load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    try:
        with bench_servers(workdir, args.postgres, env, args.tracker_store) as servers:
            return _bench(servers, args, levels)
    except ServerStartError as error:
        print(error, file=sys.stderr)
        return 1


def _bench(servers: Servers, args: argparse.Namespace, levels: list[int]) -> int:
    action_process, rasa_process = servers.processes[0], servers.processes[1]
    # The token is for /model/parse; the REST channel ignores it.
    client = Client(servers.rasa_url, servers.auth_headers())
    run_id = uuid.uuid4().hex[:6]
    # Warm up: the first turns load lazily built parts of the pipeline.
    measure("warmup", 4, 40, turn_sender(client, args.message, f"{run_id}w", 40))
    print(f"\nmessage {args.message!r}; {args.senders} distinct senders per level")
    print(
        f"{'kind':<6} {'conc':>5} {'n':>6} {'per s':>8} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6} {'rasa RSS':>8} {'rasa PSS':>8} {'act. RSS':>8} "
        f"{'rasa cpu':>8} {'act. cpu':>8}"
    )
    turns: dict[int, Run] = {}
    parses: dict[int, Run] = {}
    peak_rasa = peak_actions = Memory(0.0, 0.0)
    parse_cpu_ms = float("nan")

    def measured(
        name: str, level: int, one: Callable[[int], bool]
    ) -> tuple[Run, tuple[float, float]]:
        """`measure(...)` and the CPU seconds the Rasa server and the action server spent."""
        pids = (rasa_process.pid, action_process.pid)
        before = [tree_cpu_seconds(pid) for pid in pids]
        run = measure(name, level, args.turns, one)
        after = [tree_cpu_seconds(pid) for pid in pids]
        return run, (after[0] - before[0], after[1] - before[1])

    for level in levels:
        senders = max(args.senders, level * 2)
        sender = turn_sender(client, args.message, f"{run_id}{level}", senders)
        turns[level], cpu = measured("turn", level, sender)
        memory = (tree_memory(rasa_process.pid), tree_memory(action_process.pid))
        peak_rasa = max(peak_rasa, memory[0], key=lambda seen: seen.pss_mb)
        peak_actions = max(peak_actions, memory[1], key=lambda seen: seen.rss_mb)
        print(_row(turns[level], memory, cpu), flush=True)
        parses[level], cpu = measured("parse", level, parse_sender(client, args.message))
        if level == 1:
            parse_cpu_ms = cpu[0] * 1000 / args.turns
        print(_row(parses[level], None, cpu), flush=True)
    print("(rasa cpu, act. cpu: CPU milliseconds each server spent per request;")
    print(" a bare parse's rasa cpu is this machine's speed at the time, to compare runs by)")

    print("\noverhead of a whole turn over bare /model/parse (turn / parse):")
    for level in levels:
        turn, parse = turns[level], parses[level]
        print(
            f"  concurrency {level:>2}: p50 {turn.percentile(50) / parse.percentile(50):.1f}x, "
            f"throughput {parse.per_second / turn.per_second:.1f}x"
        )
    if 1 in parses:
        bare = parses[1]
        print(
            f"\nbare /model/parse at concurrency 1 (the machine's yardstick): "
            f"p50 {bare.percentile(50):.1f} ms, {parse_cpu_ms:.1f} ms of Rasa CPU"
        )
    missed = missed_targets(turns, parses, peak_rasa, peak_actions)
    print(f"\nload average now {os.getloadavg()[0]:.1f} (other work on the machine skews these)")
    if missed:
        print("targets missed: " + "; ".join(missed))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
