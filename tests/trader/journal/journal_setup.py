"""A cross-exchange arbitrage to journal: buy 0.5 BTC on binance, sell it on bybit (both IOC limits)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from shared.trading import ArbitrageAttempt, Intent, Leg, Proposal, Side, StrategyKind, SubmitOrder
from tests.trader.execution.paper_setup import ManualClock
from tests.trader.market_data import T0, S
from trader.journal import Journal

BUY = Leg("binance", "BTC-USDT", Side.BUY, D("0.500"), D("100.10"), D("100.00"), D("0.001"))
SELL = Leg("bybit", "BTC-USDT", Side.SELL, D("0.500"), D("100.50"), D("100.60"), D("0.001"), chained=True)


def proposal(pid: str = "p1") -> Proposal:
    return Proposal(pid, "xex", StrategyKind.CROSS_EXCHANGE, Intent.OPEN, "binance>bybit", (BUY, SELL), D("40"), D("0.2"), "USDT", T0, T0)


def attempt(aid: str = "a1") -> ArbitrageAttempt:
    return ArbitrageAttempt.from_proposal(proposal(f"p-{aid}"), aid, T0, 5 * S)


def leg_order(leg: Leg, cid: str, attempt_id: str | None = "a1") -> SubmitOrder:
    return SubmitOrder(cid, leg.venue, leg.account, leg.symbol, leg.side, leg.type, leg.amount, leg.price, leg.time_in_force, T0, attempt_id)


def open_journal(path: Path, clock: ManualClock | None = None) -> Journal:
    journal = Journal(path, clock or ManualClock())
    journal.start_session()
    return journal
