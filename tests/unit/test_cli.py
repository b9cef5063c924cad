"""`python -m bot` as an operator runs it, against a fresh database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.infra.settings import PROJECT_ROOT


@pytest.fixture()
def bot_cli(database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(PROJECT_ROOT)}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    run("db", "upgrade")
    return run


def test_seed_then_list_and_show(bot_cli):
    first = bot_cli("db", "seed", "--demo").stdout
    assert "20 documents added" in first
    assert "230 clauses" in first
    second = bot_cli("db", "seed", "--demo").stdout
    assert "0 documents added, 0 updated, 20 unchanged" in second

    listing = json.loads(bot_cli("policy", "list", "--json").stdout)
    assert len(listing) == 20
    assert listing[0] == {
        "code": "1",
        "title": "服务流程管理制度",
        "source": "服务管理制度1",
        "audience": "public",
        "department": "general",
        "clauses": 6,
    }
    shown = bot_cli("policy", "show", "饮用水消毒制度").stdout
    assert "第二条第2款" in shown
    assert "每10天消毒一次" in shown


def test_policy_search_json_contract(bot_cli):
    bot_cli("db", "seed")
    hits = json.loads(
        bot_cli("policy", "search", "蓄水池多久消毒一次", "--json", "--top", "2").stdout
    )
    assert len(hits) <= 2
    assert hits, "expected at least one clause"
    assert {"document", "clause", "text", "score"} <= set(hits[0])
    assert hits[0]["document"] == "饮用水消毒制度"
    assert hits[0]["clause"] == "第二条第2款"
    scores = [hit["score"] for hit in hits]
    assert scores == sorted(scores, reverse=True)

    public = json.loads(bot_cli("policy", "search", "服务器密码要多久改", "--json").stdout)
    assert all(hit["audience"] == "public" for hit in public)
    staff = json.loads(
        bot_cli("policy", "search", "服务器密码要多久改", "--json", "--audience", "staff").stdout
    )
    assert staff[0]["document"] == "机房管理制度"


def test_unknown_document_is_an_error(bot_cli):
    bot_cli("db", "seed")
    result = bot_cli("policy", "show", "不存在的制度", check=False)
    assert result.returncode == 1
    assert "no regulation matches" in result.stderr


def test_bad_setting_is_reported_not_a_traceback(bot_cli, database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "RETENTION_DAYS": "soon"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "policy", "list"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "RETENTION_DAYS" in result.stderr
    assert "Traceback" not in result.stderr
