"""`make bench`'s figures: the targets of issue 24 and the memory it reads from /proc."""

from __future__ import annotations

import os

from bot.ops.bench import Memory, Run, missed_targets, tree_memory


def run(concurrency: int, per_second: float, p95_ms: float, errors: int = 0) -> Run:
    """A run of 100 requests at `per_second` whose 95th-slowest latency is `p95_ms`."""
    latencies = [p95_ms / 2] * 94 + [p95_ms] * 6
    return Run("turn", concurrency, 100, 100 / per_second, latencies, errors)


LEAN = Memory(rss_mb=900.0, pss_mb=700.0)
SMALL_ACTIONS = Memory(rss_mb=150.0, pss_mb=140.0)


def test_runs_within_every_target_miss_none():
    turns = {1: run(1, 40, 35), 8: run(8, 85, 95)}
    parses = {1: run(1, 150, 9), 8: run(8, 200, 50)}
    assert missed_targets(turns, parses, LEAN, SMALL_ACTIONS) == []


def test_each_target_is_named_with_its_figure_when_missed():
    turns = {1: run(1, 30, 45), 8: run(8, 60, 140, errors=2)}
    missed = missed_targets(
        turns, {}, Memory(rss_mb=1100, pss_mb=1000), Memory(rss_mb=320, pss_mb=300)
    )
    assert missed == [
        "p95 at concurrency 8 is 140 ms (<= 100)",
        "60.0 turns/s at concurrency 8 (>= 80)",
        "p95 at concurrency 1 is 45 ms (<= 40)",
        "2 errors (0)",
        "Rasa server processes 1000 MB PSS (1100 MB RSS) (<= 800)",
        "action server 320 MB (<= 200)",
    ]


def test_the_rasa_memory_target_is_on_pss_so_shared_pages_count_once():
    # Two forked workers sharing most pages: RSS counts them twice, PSS once.
    workers = Memory(rss_mb=1400.0, pss_mb=780.0)
    assert missed_targets({8: run(8, 90, 80)}, {}, workers, SMALL_ACTIONS) == []


def test_this_process_has_resident_and_proportional_memory():
    memory = tree_memory(os.getpid())
    assert memory.rss_mb > 0
    assert 0 < memory.pss_mb <= memory.rss_mb
