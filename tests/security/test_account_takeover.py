"""Attack 1: guessing the four phone digits of a gas account (or a student's guardian
phone) from fresh senders, until the account is bound and shows its bills and address.

The attacker gets a new web chat session per try (and invents cookies); a botnet gets a
new sender per try on any channel. Both must end with zero bindings: failures are
counted per account in the database, across every sender."""

from __future__ import annotations

import http.cookiejar
import json
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main as cli_main
from bot.gas.accounts import ATTEMPT_KIND, BindOutcome, bind_account
from bot.identity import TARGET_MAX_FAILURES
from bot.infra.db import session_scope
from bot.models import BindingAttempt, GasAccount, GasAccountBinding, GuardianBinding
from bot.school.binding import StudentBindOutcome, bind_guardian
from tests.e2e.conftest import free_port
from tests.security.conftest import FROZEN_NOW, start_server

NOW = datetime.fromisoformat(FROZEN_NOW)
VICTIM = "31001004"  # the demo account whose phone ends in 2004
VICTIM_DIGITS = "2004"
SESSIONS = 2000


def guesses(count: int) -> list[str]:
    """Four-digit guesses, the right one among them early enough to be reached."""
    wrong = [f"{n:04d}" for n in range(10000) if f"{n:04d}" != VICTIM_DIGITS]
    return [*wrong[:7], VICTIM_DIGITS, *wrong[7 : count - 1]]


def bindings_of(engine, account_no: str) -> int:
    with session_scope(engine) as session:
        return int(
            session.scalar(
                select(func.count(GasAccountBinding.id))
                .join(GasAccount, GasAccount.id == GasAccountBinding.account_id)
                .where(GasAccount.account_no == account_no)
            )
            or 0
        )


class Visitor:
    """One browser: its own cookie jar, or a cookie it makes up."""

    def __init__(self, base: str, cookie: str | None = None) -> None:
        self.base, self.cookie = base, cookie
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def open_page(self, forwarded_for: str | None = None) -> int:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
        request = urllib.request.Request(f"{self.base}/webhooks/webchat/", headers=headers)
        try:
            with self.opener.open(request, timeout=30) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as error:
            return error.code

    def say(self, text: str) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        if self.cookie is not None:
            headers["Cookie"] = f"webchat_session={self.cookie}"
        request = urllib.request.Request(
            f"{self.base}/webhooks/webchat/webhook",
            data=json.dumps({"message": text}).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with self.opener.open(request, timeout=30) as reply:
                answers = json.loads(reply.read())
                return int(reply.status), " ".join(a.get("text", "") for a in answers)
        except urllib.error.HTTPError as error:
            return error.code, ""


@pytest.fixture()
def webchat(demo, tmp_path):
    port = free_port()
    server = start_server(
        "webchat",
        [sys.executable, str(Path(__file__).with_name("webchat_binding_server.py")), str(port)],
        f"http://127.0.0.1:{port}/health",
        tmp_path,
        {
            "DATABASE_URL": demo.url,
            "FROZEN_NOW": FROZEN_NOW,
            "WEBCHAT_SECRET": "security-test-webchat-secret",
            "WEBCHAT_SESSIONS_PER_HOUR": "20",
        },
    )
    yield f"http://127.0.0.1:{port}", demo
    server.stop()


def test_two_thousand_fresh_web_chat_sessions_bind_nothing(webchat):
    base, demo = webchat
    issued = refused = 0
    outcomes: list[str] = []
    for number, guess in enumerate(guesses(SESSIONS)):
        visitor = Visitor(base)
        # A made-up X-Forwarded-For buys no new budget: this peer is no trusted proxy.
        status = visitor.open_page(forwarded_for=f"198.51.100.{number % 250}")
        if status != 200:
            assert status == 429
            refused += 1
            continue
        issued += 1
        status, outcome = visitor.say(f"{VICTIM} {guess}")
        assert status == 200
        outcomes.append(outcome)
    print(f"\nsessions issued {issued}, refused {refused}; outcomes {sorted(set(outcomes))}")
    assert issued == 20 and refused == SESSIONS - 20
    assert bindings_of(demo.engine, VICTIM) == 0
    assert "bound" not in outcomes
    # The fifth failure locks the account: it is answered as locked.
    assert outcomes.count("no_match") == TARGET_MAX_FAILURES - 1
    with session_scope(demo.engine) as session:
        counted = session.scalar(
            select(func.count(BindingAttempt.id)).where(
                BindingAttempt.target == VICTIM, BindingAttempt.reason == "no_match"
            )
        )
    assert counted == TARGET_MAX_FAILURES


def test_invented_or_altered_cookies_are_refused(webchat):
    base, demo = webchat
    for cookie in ("attacker-made-this-up", "abc.def", "", "x" * 500):
        assert Visitor(base, cookie=cookie).say(f"{VICTIM} {VICTIM_DIGITS}")[0] == 401
    issued = Visitor(base)
    assert issued.open_page() == 200
    [real] = [cookie.value for cookie in issued.jar if cookie.value]
    token, _, signature = real.partition(".")
    forged = f"{token[:-1]}{'A' if token[-1] != 'A' else 'B'}.{signature}"
    assert Visitor(base, cookie=forged).say(f"{VICTIM} 0000")[0] == 401
    assert Visitor(base, cookie=real).say(f"{VICTIM} 0000")[0] == 200
    assert bindings_of(demo.engine, VICTIM) == 0


def test_a_botnet_with_a_new_sender_per_guess_binds_nothing(demo):
    """2,000 senders (as from 2,000 addresses and channels), one guess each, straight at
    the binding service: the account's own counter stops them after five."""
    owner = "tg:owner"
    with session_scope(demo.engine) as session:
        assert (
            bind_account(
                session=session,
                sender_id=owner,
                account_no=VICTIM,
                phone_last4=VICTIM_DIGITS,
                now=NOW,
            ).outcome
            is BindOutcome.BOUND
        )
    alerted: list[str] = []
    outcomes = []
    for number, guess in enumerate(guesses(SESSIONS)):
        channel = ("web", "tg", "wx")[number % 3]
        with session_scope(demo.engine) as session:
            result = bind_account(
                session=session,
                sender_id=f"{channel}:attacker-{number}",
                account_no=VICTIM,
                phone_last4=guess,
                now=NOW + timedelta(seconds=number),
            )
        outcomes.append(result.outcome)
        alerted += result.alert_senders
    # Knowing the digits is no takeover: the holder keeps the account either way.
    assert BindOutcome.BOUND not in outcomes and BindOutcome.ALREADY not in outcomes
    assert outcomes.count(BindOutcome.NO_MATCH) == TARGET_MAX_FAILURES - 1
    assert outcomes.count(BindOutcome.TARGET_LOCKED) == SESSIONS - TARGET_MAX_FAILURES + 1
    assert alerted == [owner]  # told once, when the lock-out began
    with session_scope(demo.engine) as session:
        holders = session.scalars(
            select(GasAccountBinding.sender_id)
            .join(GasAccount)
            .where(GasAccount.account_no == VICTIM)
        ).all()
    assert holders == [owner]


def test_an_unbound_account_stays_locked_for_its_owner_until_staff_unlock_it(demo, capsys):
    for number in range(TARGET_MAX_FAILURES):
        with session_scope(demo.engine) as session:
            bind_account(
                session=session,
                sender_id=f"web:attacker-{number}",
                account_no=VICTIM,
                phone_last4=f"{number:04d}",
                now=NOW,
            )
    with session_scope(demo.engine) as session:
        result = bind_account(
            session=session,
            sender_id="tg:real-owner",
            account_no=VICTIM,
            phone_last4=VICTIM_DIGITS,
            now=NOW + timedelta(hours=1),
        )
    assert result.outcome is BindOutcome.TARGET_LOCKED
    # An unknown 户号 locks the same way: the answer never tells which exist.
    for number in range(TARGET_MAX_FAILURES):
        with session_scope(demo.engine) as session:
            last = bind_account(
                session=session,
                sender_id=f"web:prober-{number}",
                account_no="39999999",
                phone_last4="0000",
                now=NOW,
            )
    assert last.outcome is BindOutcome.TARGET_LOCKED
    assert cli_main(["gas", "unlock", VICTIM]) == 0
    assert "unlocked" in capsys.readouterr().out
    with session_scope(demo.engine) as session:
        result = bind_account(
            session=session,
            sender_id="tg:real-owner",
            account_no=VICTIM,
            phone_last4=VICTIM_DIGITS,
            now=NOW + timedelta(hours=2),
        )
    assert result.outcome is BindOutcome.BOUND
    with session_scope(demo.engine) as session:
        kinds = set(session.scalars(select(BindingAttempt.kind)))
    assert kinds == {ATTEMPT_KIND}


def test_the_lock_out_expires_after_a_day(demo):
    for number in range(TARGET_MAX_FAILURES):
        with session_scope(demo.engine) as session:
            bind_account(
                session=session,
                sender_id=f"web:attacker-{number}",
                account_no=VICTIM,
                phone_last4="0000",
                now=NOW,
            )
    with session_scope(demo.engine) as session:
        later = bind_account(
            session=session,
            sender_id="tg:real-owner",
            account_no=VICTIM,
            phone_last4=VICTIM_DIGITS,
            now=NOW + timedelta(hours=24, minutes=1),
        )
    assert later.outcome is BindOutcome.BOUND


def test_a_student_cannot_be_taken_over_from_fresh_senders_either(demo, capsys):
    parent = "wx:parent"
    with session_scope(demo.engine) as session:
        first = bind_guardian(
            session=session, sender_id=parent, student_no="2024010102", phone="1003", now=NOW
        )
        assert first.outcome is StudentBindOutcome.BOUND
    outcomes: list[StudentBindOutcome] = []
    alerted: list[str] = []
    for number in range(1000):
        guess = "1003" if number == 10 else f"{9000 + number:04d}"
        with session_scope(demo.engine) as session:
            result = bind_guardian(
                session=session,
                sender_id=f"web:attacker-{number}",
                student_no="2024010102",
                phone=guess,
                now=NOW + timedelta(seconds=number),
            )
        outcomes.append(result.outcome)
        alerted += result.alert_senders
    assert StudentBindOutcome.BOUND not in outcomes
    assert outcomes.count(StudentBindOutcome.NO_MATCH) == TARGET_MAX_FAILURES - 1
    assert alerted == [parent]
    with session_scope(demo.engine) as session:
        assert session.scalars(select(GuardianBinding.sender_id)).all() == [parent]
    assert cli_main(["school", "unlock", "2024010102"]) == 0
    with session_scope(demo.engine) as session:
        again = bind_guardian(
            session=session,
            sender_id="wx:other-parent",
            student_no="2024010102",
            phone="1003",
            now=NOW + timedelta(hours=1),
        )
    assert again.outcome is StudentBindOutcome.BOUND
