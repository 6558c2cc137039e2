"""The engine on hand-built books and a real paper venue: a dislocation becomes one arbitrage with both
legs filled and an exact PnL after fees; no dislocation, or one the fees eat, makes no order."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

from shared.trading import ArbitrageState, LegStatus, OrderStatus
from tests.trader.engine.engine_setup import CHEAP, RICH, btc, engine, xex
from tests.trader.market_data import T0
from trader.engine import EngineState, attempt_pnl


def test_a_cross_exchange_dislocation_becomes_one_arbitrage_with_both_legs_filled_and_exact_pnl(tmp_path: Path) -> None:
    trader = engine(tmp_path, xex())

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(RICH, T0)
        await trader.drain()

    asyncio.run(scenario())
    (attempt,) = trader.journal.attempts()
    assert attempt.state is ArbitrageState.FILLED
    assert [(leg.leg.venue, leg.leg.side.value, leg.filled, leg.status) for leg in attempt.legs] == [
        ("binance", "buy", D("0.500"), LegStatus.FILLED), ("bybit", "sell", D("0.499"), LegStatus.FILLED)]
    assert [o.status for o in trader.journal.orders()] == [OrderStatus.FILLED, OrderStatus.FILLED]
    # binance: -50.000 USDT for 0.4995 BTC after its fee; bybit: 0.499 x 101 = 50.399 less 0.050399 fee;
    # the 0.0005 BTC under a lot stays on binance, marked at the sell price 101.
    assert attempt_pnl(attempt) == D("0.399101")
    status = trader.status()
    assert status.state is EngineState.RUNNING and status.counts.succeeded == 1 and status.counts.failed == 0
    assert status.pnl_by_venue == {"binance": {"USDT": D("0.44950")}, "bybit": {"USDT": D("-0.050399")}}
    assert status.pnl_by_instance == {"xex": {"USDT": D("0.399101")}}
    assert status.pnl_by_session == {"1": {"USDT": D("0.399101")}}
    assert status.max_drawdown == 0 and status.tick_to_decision.count == 2
    assert status.balances[0].venue == "binance" and trader.balances.free("bybit", "USDT") == D("1050.348601")


def test_without_a_dislocation_no_order_is_made(tmp_path: Path) -> None:
    trader = engine(tmp_path, xex())

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(btc("bybit", ((99.95, 5.0),), ((100.05, 5.0),)), T0)
        await trader.drain()

    asyncio.run(scenario())
    assert trader.journal.orders() == () and trader.journal.attempts() == ()
    assert trader.journal.risk_events(kind="decision") == ()


def test_no_order_is_made_when_fees_eat_the_edge(tmp_path: Path) -> None:
    trader = engine(tmp_path, xex(min_profit_bps="0"))

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(btc("bybit", ((100.15, 5.0),), ((100.25, 5.0),)), T0)  # 15 bps apart, 20 bps of taker fees
        await trader.drain()

    asyncio.run(scenario())
    assert trader.journal.orders() == () and trader.journal.attempts() == ()
