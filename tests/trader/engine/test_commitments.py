"""What approved and running arbitrages hold: the orders they will place and the funds they will spend, from
approval until they settle, less what the balances already show of their fills."""

from __future__ import annotations

from decimal import Decimal as D

from shared.trading import (
    ArbitrageAttempt,
    Balance,
    Balances,
    Fill,
    Intent,
    Leg,
    Liquidity,
    Proposal,
    Side,
    StrategyKind,
)
from trader.engine.commitments import Commitments

BUY = Leg("binance", "BTC-USDT", Side.BUY, D("0.5"), D("100.00"), D("100.00"), D("0.001"))
SELL = Leg("bybit", "BTC-USDT", Side.SELL, D("0.499"), D("101.00"), D("101.00"), D("0.001"), chained=True)
FUNDS = Balances((Balance("binance", "main", "USDT", D(1000)), Balance("bybit", "main", "BTC", D(1))))


def proposal(pid: str) -> Proposal:
    return Proposal(pid, "xex", StrategyKind.CROSS_EXCHANGE, Intent.OPEN, "binance>bybit", (BUY, SELL), D(10), D("0.4"), "USDT", 0, 0)


def test_an_approval_holds_its_orders_and_funds_until_its_arbitrage_settles() -> None:
    held = Commitments()
    held.approved(proposal("p1"))
    assert held.orders(()) == 2
    assert held.held() == {("binance", "USDT"): D("50.0000"), ("bybit", "BTC"): D("0.499")}
    available = held.available(FUNDS)
    assert (available.free("binance", "USDT"), available.free("bybit", "BTC")) == (D("950.0000"), D("0.501"))

    attempt = ArbitrageAttempt.from_proposal(proposal("p1"), "a1", 0, 5)
    held.started("p1", "a1", proposal("p1"))
    assert held.orders((attempt,)) == 2  # both legs still to place
    assert held.held() == {("binance", "USDT"): D("50.0000"), ("bybit", "BTC"): D("0.499")}

    fill = Fill("a1-o1", "binance", "main", "BTC-USDT", Side.BUY, "t1", D("100.00"), D("0.5"), D("0.0005"), "BTC", Liquidity.TAKER, 0)
    bought = attempt.sent(0, "a1-o1", 0).filled(0, fill, 0)
    assert held.orders((bought,)) == 1
    assert held.held()[("binance", "USDT")] == D("50.0000")  # the balances have not been read since: still held
    held.balances_read((bought,))
    assert held.held() == {("binance", "USDT"): D(0), ("bybit", "BTC"): D("0.499")}  # the balances show the buy now

    held.settled("a1")
    assert held.held() == {} and held.available(FUNDS) is FUNDS


def test_an_approval_withdrawn_at_its_recheck_holds_nothing() -> None:
    held = Commitments()
    held.approved(proposal("p1"))
    held.started("p1", None, proposal("p1"))
    assert held.orders(()) == 0 and held.held() == {}
