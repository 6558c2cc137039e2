"""Balances: lookups that read missing entries as zero, and adjustments by fill deltas."""

from __future__ import annotations

from decimal import Decimal as D

from shared.trading import Balance, Balances


def test_missing_balances_read_as_zero() -> None:
    balances = Balances([Balance("binance", "main", "USDT", D(100), D(20))])
    assert balances.free("binance", "USDT") == D(100)
    assert balances.total("binance", "USDT") == D(120)
    assert balances.free("bybit", "USDT") == D(0)
    assert balances.venues() == {"binance"} and balances.assets() == {"USDT"}


def test_adjusting_by_deltas_returns_new_balances() -> None:
    before = Balances([Balance("binance", "main", "USDT", D(100))])
    after = before.adjusted("binance", {"USDT": D(-50), "BTC": D("0.0005")})
    assert (after.free("binance", "USDT"), after.free("binance", "BTC")) == (D(50), D("0.0005"))
    assert before.free("binance", "USDT") == D(100)
    assert [b.asset for b in after.as_tuple()] == ["BTC", "USDT"]
