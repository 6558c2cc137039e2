"""Safe mode: entered by causes, left when they clear (if configured) or by an operator."""

from __future__ import annotations

import pytest

from trader.risk import SafeMode, SafeModeCause


def test_entered_by_a_cause_and_left_automatically_when_it_clears() -> None:
    mode = SafeMode(auto_exit=True)
    mode.enter(SafeModeCause.STALE_DATA, "binance BTC-USDT: book is 6s old", 10)
    status = mode.status()
    assert status.active and status.since == 10 and status.causes == {SafeModeCause.STALE_DATA: "binance BTC-USDT: book is 6s old"}
    mode.cleared(SafeModeCause.STALE_DATA)
    assert not mode.active
    assert mode.status().last_reason == "stale_data: binance BTC-USDT: book is 6s old"


def test_it_stays_while_any_cause_holds() -> None:
    mode = SafeMode()
    mode.enter(SafeModeCause.STALE_DATA, "stale", 10)
    mode.enter(SafeModeCause.UNHEDGED_EXPOSURE, "0.5 BTC", 11)
    mode.cleared(SafeModeCause.STALE_DATA)
    assert mode.active and mode.status().since == 10
    mode.cleared(SafeModeCause.UNHEDGED_EXPOSURE)
    assert not mode.active


def test_without_auto_exit_only_an_operator_ends_it() -> None:
    mode = SafeMode(auto_exit=False)
    mode.enter(SafeModeCause.RECONCILIATION, "journal 1.0 BTC, venue 0.9 BTC", 10)
    mode.cleared(SafeModeCause.RECONCILIATION)
    assert mode.active and mode.status().causes == {}
    mode.operator_exit()
    assert not mode.active


def test_an_operators_safe_mode_is_not_cleared_automatically() -> None:
    mode = SafeMode(auto_exit=True)
    mode.enter(SafeModeCause.OPERATOR, "maintenance", 10)
    with pytest.raises(ValueError, match="operator_exit"):
        mode.cleared(SafeModeCause.OPERATOR)
    mode.cleared(SafeModeCause.STALE_DATA)
    assert mode.active
    mode.operator_exit()
    assert not mode.active
