"""The risk manager's log line per decision: thinned for a person watching, never lost without a count,
and no log record built for the decisions held back."""

from __future__ import annotations

import logging

import msgspec
import pytest

from shared.trading import Decision, DecisionReason
from tests.shared.trading.values import cross_proposal
from trader.risk.decision_log import DecisionLog


def _denied(instance: str = "xex") -> Decision:
    return Decision.deny(msgspec.structs.replace(cross_proposal(), instance_id=instance), DecisionReason.SAFE_MODE, "detail", 0)


def test_repeated_decisions_show_once_per_window_then_with_how_many_were_held_back(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = DecisionLog(logging.getLogger("trader.risk"), window_s=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="trader.risk"):
        for t, decision in ((0, _denied()), (1, _denied()), (2, _denied()), (3, _denied("other")), (12, _denied()),
                            (13, Decision.approve(cross_proposal(), 0))):
            now[0] = t
            log(decision)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "proposal p1 (xex) denied: safe_mode: detail"),
        ("WARNING", "proposal p1 (other) denied: safe_mode: detail"),
        ("WARNING", "proposal p1 (xex) denied: safe_mode: detail (2 more like it in the last 12 s)"),
        ("INFO", "proposal p1 (xex) approved: ok: within every limit"),
    ]


class _Counting(logging.Logger):
    def __init__(self, level: int) -> None:
        super().__init__("counting", level)
        self.propagate = False
        self.addHandler(logging.NullHandler())
        self.made = 0

    def makeRecord(self, *args, **kwargs) -> logging.LogRecord:  # type: ignore[no-untyped-def]
        self.made += 1
        return super().makeRecord(*args, **kwargs)


def test_a_decision_held_back_or_below_the_loggers_level_builds_no_record() -> None:
    logger = _Counting(logging.INFO)
    log = DecisionLog(logger, window_s=10.0, clock=lambda: 0.0)
    for _ in range(5):
        log(_denied())
    assert logger.made == 1
    quiet = _Counting(logging.ERROR)
    log = DecisionLog(quiet, window_s=10.0, clock=lambda: 0.0)
    log(_denied())
    log(Decision.approve(cross_proposal(), 0))
    assert quiet.made == 0
