"""Realized PnL after fees, maximum drawdown and the Sharpe ratio: pure functions on hand-built values."""

from __future__ import annotations

from decimal import Decimal as D

from shared.trading import ArbitrageAttempt, Fill, Liquidity, Side
from tests.trader.journal.journal_setup import attempt as journal_attempt
from trader.engine.latency import LatencyRecorder
from trader.engine.pnl import PnlLedger, attempt_pnl, exposure_by_venue, max_drawdown, sharpe, venue_pnl


def filled_cross() -> ArbitrageAttempt:
    a = journal_attempt().sent(0, "b", 1).sent(1, "s", 2)
    buy = Fill("b", "binance", "main", "BTC-USDT", Side.BUY, "t1", D("100.00"), D("0.500"), D("0.0005"), "BTC", Liquidity.TAKER, 3)
    sell = Fill("s", "bybit", "main", "BTC-USDT", Side.SELL, "t2", D("100.60"), D("0.499"), D("0.0501994"), "USDT", Liquidity.TAKER, 4)
    return a.filled(0, buy, 3).filled(1, sell, 4)


def test_an_arbitrage_pnl_counts_both_fees_and_marks_the_dust_at_its_last_price() -> None:
    a = filled_cross()
    # binance: -50 USDT, +0.4995 BTC marked at 100.60 = 50.2497; bybit: +50.1994 - 0.0501994 - 0.499 x 100.60
    assert venue_pnl(a) == {"binance": D("0.249700"), "bybit": D("-0.0501994")}
    assert attempt_pnl(a) == D("0.1995006")
    assert exposure_by_venue(a) == {"binance": {"BTC": D("0.4995")}, "bybit": {"BTC": D("-0.499")}}


def test_the_realized_pnl_since_a_time_counts_arbitrages_settled_after_every_ask_and_restarts_for_another_time() -> None:
    day = 86_400 * 10**9
    one = attempt_pnl(filled_cross())
    ledger = PnlLedger("USDT", lambda asset: None)
    ledger.add(filled_cross(), 1, day - 5)  # yesterday's
    assert ledger.since(day) == 0
    ledger.add(filled_cross(), 1, day + 5)
    assert ledger.since(day) == one
    ledger.add(filled_cross(), 1, day + 6)
    ledger.add(filled_cross(), 1, day - 1)  # settled at a time the clock had passed: not today's
    assert ledger.since(day) == 2 * one
    assert ledger.since(day + 6) == one
    assert ledger.since(day - 5) == 4 * one
    assert ledger.since(day) == 2 * one
    unvalued = PnlLedger("EUR", lambda asset: None)  # no price for the profit asset: counted nowhere
    unvalued.add(filled_cross(), 1, day)
    assert unvalued.since(day) == 0 and unvalued.by_session == {"1": {"USDT": one}}


def test_max_drawdown_is_the_largest_fall_from_a_peak_of_the_cumulative_pnl() -> None:
    assert max_drawdown([]) == 0
    assert max_drawdown([D(1), D(2)]) == 0
    assert max_drawdown([D(1), D(-3), D(1), D(5), D(-2)]) == D(3)  # 1 -> -2
    assert max_drawdown([D(-1), D(-1)]) == D(2)  # from the start


def test_sharpe_is_mean_over_sample_deviation_and_undefined_without_variation() -> None:
    assert sharpe([D(1)]) is None and sharpe([D(1), D(1)]) is None
    assert sharpe([D(1), D(3)]) == 2 / 2 ** 0.5


def test_latency_percentiles_and_cumulative_buckets() -> None:
    recorder = LatencyRecorder(samples=3, buckets_ns=(100, 1000))
    for ns in (50, 500, 5000, 70):
        recorder.record(ns)
    assert recorder.samples() == (500, 5000, 70) and recorder.count == 4  # the reservoir keeps the latest
    assert (recorder.percentile(0.5), recorder.percentile(0.99)) == (500, 5000)
    assert recorder.histogram() == ((100.0, 2), (1000.0, 3), (float("inf"), 4))
