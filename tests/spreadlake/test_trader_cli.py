"""The trader command's log: the risk manager's line per decision is thinned, never lost without a count."""

from __future__ import annotations

import logging

from spreadlake.trader_cli import RepeatedDecisions


def record(created: float, instance: str, verdict: str = "denied", reason: str = "safe_mode") -> logging.LogRecord:
    line = logging.LogRecord("trader.risk", logging.WARNING, __file__, 1, "proposal %s (%s) %s: %s: %s",
                             ("s1-p1", instance, verdict, reason, "detail"), None)
    line.created = created
    return line


def test_repeated_decisions_show_once_per_window_then_with_how_many_were_held_back() -> None:
    thinned = RepeatedDecisions(window_s=10.0)
    shown = [r for r in (record(0.0, "a"), record(1.0, "a"), record(2.0, "a"), record(3.0, "b"), record(12.0, "a"),
                         record(13.0, "a", "approved", "ok")) if thinned.filter(r)]
    assert [r.getMessage() for r in shown] == [
        "proposal s1-p1 (a) denied: safe_mode: detail",
        "proposal s1-p1 (b) denied: safe_mode: detail",
        "proposal s1-p1 (a) denied: safe_mode: detail (2 more like it in the last 12 s)",
        "proposal s1-p1 (a) approved: ok: detail",
    ]
    other = logging.LogRecord("trader.risk", logging.INFO, __file__, 1, "breaker opened", (), None)
    assert thinned.filter(other)
