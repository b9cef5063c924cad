from __future__ import annotations

from datetime import date, timezone

from bot.infra import clock


def test_the_clock_runs_in_utc_and_reports_shanghai_dates(monkeypatch):
    monkeypatch.delenv("FROZEN_NOW", raising=False)
    assert clock.now().tzinfo is timezone.utc
    assert str(clock.local_now().tzinfo) == "Asia/Shanghai"


def test_frozen_now_fixes_time_and_date(monkeypatch):
    # 23:30 UTC on the 25th is already the 26th in Shanghai.
    monkeypatch.setenv("FROZEN_NOW", "2026-11-25T23:30:00+00:00")
    assert clock.now().isoformat() == "2026-11-25T23:30:00+00:00"
    assert clock.today() == date(2026, 11, 26)
