"""Inventory: which direction is short on which venue, and the transfer that would restore it."""

from __future__ import annotations

from decimal import Decimal as D

from tests.trader.market_data import balances
from trader.risk import assess
from trader.strategies import Requirement

NEEDS = [
    Requirement("xex", "binance>bybit", "binance", "USDT", D(100)),
    Requirement("xex", "binance>bybit", "bybit", "BTC", D(1)),
    Requirement("xex", "bybit>binance", "bybit", "USDT", D(100)),
    Requirement("xex", "bybit>binance", "binance", "BTC", D(1)),
]


def test_no_shortfall_when_every_direction_has_what_it_needs() -> None:
    report = assess(NEEDS, balances(("binance", "USDT", "100"), ("binance", "BTC", "1"), ("bybit", "USDT", "500"), ("bybit", "BTC", "2")))
    assert report.shortfalls == ()
    assert report.blocked("xex", "binance>bybit") is None
    assert report.needs[("bybit", "BTC")] == D(1)


def test_a_short_venue_stops_only_the_direction_that_spends_there_and_names_the_transfer() -> None:
    # bybit sold its BTC: buying on binance and selling on bybit stops; the other way still runs.
    funds = balances(("binance", "USDT", "100"), ("binance", "BTC", "2.5"), ("bybit", "USDT", "500"), ("bybit", "BTC", "0.2"))
    report = assess(NEEDS, funds)
    short = report.blocked("xex", "binance>bybit")
    assert short is not None and report.blocked("xex", "bybit>binance") is None
    assert short.missing == D("0.8")
    assert str(short.transfer) == "transfer 0.8 BTC from binance to bybit"  # binance has 1.5 beyond its own need of 1
    assert str(short) == "bybit is short 0.8 BTC for xex binance>bybit (needs 1, has 0.2): transfer 0.8 BTC from binance to bybit"


def test_a_deposit_when_no_venue_can_spare_enough() -> None:
    funds = balances(("binance", "USDT", "100"), ("binance", "BTC", "1.2"), ("bybit", "USDT", "500"), ("bybit", "BTC", "0.2"))
    short = assess(NEEDS, funds).blocked("xex", "binance>bybit")
    assert short is not None and str(short.transfer) == "deposit 0.8 BTC to bybit"  # binance can spare only 0.2
