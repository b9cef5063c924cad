"""Play the conversation suite against the real Rasa and action servers.

The servers are started once, as the end-to-end tests start them (free ports, their own
demo database, the clock frozen at FROZEN_NOW); each conversation then gets a fresh
sender, its set-up, the person's messages through the REST channel, and its checks.
What the conversation took (bindings, leaves, nurses' places) is given back afterwards,
so every conversation meets the same demo records.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import Engine

from bot.infra.db import create_engine, session_scope
from tests.conversations.outcomes import FINAL_ONLY, Check, Context, cleanup, run_check, setup
from tests.conversations.person import BotTurn, Conversation, Person, Reply, Watch

HERE = Path(__file__).resolve().parent
Talk = Callable[[str, str], list[dict[str, Any]]]


def load_conversations(directory: Path = HERE) -> list[Conversation]:
    """Every conversation in the directory's YAML files, ids unique."""
    conversations: list[Conversation] = []
    for path in sorted(directory.glob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in raw.get("conversations") or []:
            conversations.append(Conversation.parse(item, source=path.name))
    ids = [c.id for c in conversations]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"conversation ids used twice: {', '.join(duplicates)}")
    return conversations


@dataclass
class Result:
    """How one conversation went."""

    id: str
    flow: str
    goal: str
    passed: bool
    turns: int
    reasks: list[dict[str, Any]]
    loop: bool
    unsafe: bool
    checks: list[dict[str, Any]]
    transcript: list[dict[str, Any]]
    why: str = ""
    seconds: float = 0.0
    error: str = ""

    def line(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        flags = "".join(
            [
                " LOOP" if self.loop else "",
                " UNSAFE" if self.unsafe else "",
                f" reasks={len(self.reasks)}" if self.reasks else "",
            ]
        )
        tail = f"  {self.why}" if not self.passed else ""
        return f"{mark} {self.id:<34} {self.flow:<16} turns={self.turns:<2}{flags}{tail}"


def _positive(expectation: dict[str, Any]) -> bool:
    """A check that something happened (a row, an answer), judged while talking."""
    ((name, args),) = expectation.items()
    if name in FINAL_ONLY:
        return False
    return not (isinstance(args, dict) and (args.get("absent") or args.get("booked") is False))


@dataclass
class Play:
    """The state of one conversation being played."""

    conversation: Conversation
    sender: str
    person: Person
    watch: Watch = field(default_factory=Watch)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    bot_texts: list[str] = field(default_factory=list)
    user_texts: list[str] = field(default_factory=list)
    last_bot: str = ""

    def context(self, session: Any, now: datetime) -> Context:
        return Context(
            session=session,
            sender=self.sender,
            bot_texts=self.bot_texts,
            user_texts=self.user_texts,
            last_bot_text=self.last_bot,
            facts=self.person.facts,
            reasks=self.watch.reasks,
            now=now,
        )


def _why(result_checks: list[Check], watch: Watch, last_bot: str, error: str) -> str:
    """One line on what went wrong, for the engineers."""
    if error:
        return error
    parts = []
    if watch.loop:
        parts.append(f"loop: the same prompt {len(watch.last_prompts)}x")
    parts += [f"{c.name}: {c.detail}" for c in result_checks if not c.passed]
    last = re.sub(r"\s+", " ", last_bot)[:90]
    return "; ".join(parts) + (f" | last bot: {last}" if last else "")


def play(conversation: Conversation, talk: Talk, engine: Engine, now: datetime) -> Result:
    """Play one conversation and judge it."""
    started = time.monotonic()
    sender = f"web:eval-{uuid.uuid4().hex[:12]}"
    extra: dict[str, str] = {}
    with session_scope(engine) as session:
        for step in conversation.setup:
            extra.update(setup(session, sender, step, now))
    state = Play(
        conversation,
        sender,
        Person.of(conversation, extra),
        watch=Watch(allow_reask=conversation.allow_reask),
    )
    error = ""
    positive = [e for e in conversation.expect if _positive(e)]
    message: Reply | None = state.person.opening()
    turns = 0
    closing_sent = False
    try:
        while message is not None:
            state.person.sent.append(message.text)
            replies = talk(sender, message.text)
            turns += 1
            bot = BotTurn.from_replies(replies)
            state.user_texts.append(message.text)
            state.bot_texts.extend(bot.texts)
            state.last_bot = bot.text
            state.transcript.append(
                {
                    "user": message.text,
                    "why": message.why,
                    "bot": list(bot.texts),
                    "buttons": [b.title for b in bot.buttons],
                }
            )
            state.watch.see(bot, set(state.person.given), turns)
            if state.watch.loop or closing_sent or turns >= conversation.max_turns:
                break
            if not state.person.has_planned() and positive:
                with session_scope(engine) as session:
                    ctx = state.context(session, now)
                    done = all(run_check(ctx, e).passed for e in positive)
                if done:
                    if conversation.closing:
                        message, closing_sent = Reply(conversation.closing, "closing"), True
                        continue
                    break
            message = state.person.next_message(bot)
            if message is None and conversation.closing and not positive:
                message, closing_sent = Reply(conversation.closing, "closing"), True
    except Exception as exc:  # a server error ends this conversation, not the suite
        error = f"error: {type(exc).__name__}: {exc}"
    with session_scope(engine) as session:
        ctx = state.context(session, now)
        checks = [run_check(ctx, e) for e in conversation.expect]
        cleanup(session, sender, now)
    unsafe = any(c.unsafe for c in checks)
    passed = not error and not state.watch.loop and all(c.passed for c in checks)
    return Result(
        id=conversation.id,
        flow=conversation.flow,
        goal=conversation.goal,
        passed=passed,
        turns=turns,
        reasks=state.watch.reasks,
        loop=state.watch.loop,
        unsafe=unsafe,
        checks=[asdict(c) for c in checks],
        transcript=state.transcript,
        why="" if passed else _why(checks, state.watch, state.last_bot, error),
        seconds=round(time.monotonic() - started, 2),
        error=error,
    )


def summarize(results: list[Result]) -> dict[str, Any]:
    """The suite's figures: completion, turns per task, re-asks, loops, unsafe outcomes."""
    total = len(results)
    passed = [r for r in results if r.passed]
    flows: dict[str, dict[str, int]] = {}
    for result in results:
        entry = flows.setdefault(result.flow, {"total": 0, "passed": 0})
        entry["total"] += 1
        entry["passed"] += int(result.passed)
    return {
        "conversations": total,
        "completed": len(passed),
        "task_completion": round(len(passed) / total, 4) if total else 0.0,
        "turns_per_task": round(sum(r.turns for r in passed) / len(passed), 2) if passed else 0.0,
        "turns_per_conversation": round(sum(r.turns for r in results) / total, 2) if total else 0.0,
        "reasks": sum(len(r.reasks) for r in results),
        "conversations_with_reasks": sum(1 for r in results if r.reasks),
        "loops": sum(1 for r in results if r.loop),
        "unsafe_outcomes": sum(1 for r in results if r.unsafe),
        "per_flow": flows,
    }


def verdict(summary: dict[str, Any], min_completion: float) -> list[str]:
    """Why the suite fails: unsafe outcomes, loops, completion below the threshold."""
    problems = []
    if summary["unsafe_outcomes"]:
        problems.append(f"{summary['unsafe_outcomes']} unsafe outcome(s)")
    if summary["loops"]:
        problems.append(f"{summary['loops']} loop(s)")
    if summary["task_completion"] < min_completion:
        problems.append(f"task completion {summary['task_completion']:.1%} < {min_completion:.0%}")
    return problems


@contextmanager
def assistant_servers(workdir: Path) -> Iterator[tuple[Talk, str]]:
    """The real servers, as tests/e2e starts them: a function that sends one message as a
    sender and returns the replies, and the database URL."""
    from tests.e2e.conftest import running_assistant

    with running_assistant(workdir) as assistant:

        def talk(sender: str, message: str) -> list[dict[str, Any]]:
            status, replies = assistant.post(sender, message)
            if status != 200:
                raise RuntimeError(f"HTTP {status} for {message!r}")
            return replies

        yield talk, assistant.database_url


def run_suite(
    conversations: Iterable[Conversation],
    talk: Talk,
    database_url: str,
    now: datetime,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    engine = create_engine(database_url)
    results = []
    try:
        for conversation in conversations:
            result = play(conversation, talk, engine, now)
            results.append(result)
            if on_result:
                on_result(result)
    finally:
        engine.dispose()
    return results
