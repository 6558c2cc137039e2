"""The leg controller on every failure path, on a real paper venue: a partial fill, a rejection, a venue
going stale mid-arbitrage, the time bound passing, and a hedge that fails (failed-unhedged, reported,
safe mode)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

from shared.trading import ArbitrageState, LegStatus, OrderStatus, OrderType, Side, SubmitOrder, TimeInForce
from tests.trader.engine.engine_setup import CHEAP, RICH, btc, down, engine, xex
from tests.trader.execution.paper_setup import ManualClock
from tests.trader.market_data import T0, S
from trader.engine import EngineState
from trader.risk import SafeModeCause


def hedges(attempt):  # type: ignore[no-untyped-def]
    return [(h.leg.venue, h.leg.side.value, h.leg.type.value, h.filled, h.status) for h in attempt.hedges]


def test_a_partly_filled_leg_is_retried_then_its_exposure_hedged_on_the_other_venue(tmp_path: Path) -> None:
    # Two instances race for the same 1.0 BTC at 100.00: the first takes 0.4, the second gets 0.6 of its 1.0.
    trader = engine(tmp_path, xex("xa", size="0.4"), xex("xb", size="1.0"))

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(btc("bybit", ((101.00, 5.0),), ((101.10, 5.0),)), T0)
        await trader.drain()

    asyncio.run(scenario())
    first, second = sorted(trader.journal.attempts(), key=lambda a: a.instance_id)
    assert first.state is ArbitrageState.FILLED
    assert second.state is ArbitrageState.DONE
    buy, sell = second.legs
    assert (buy.filled, buy.status, len(buy.orders)) == (D("0.600"), LegStatus.FAILED, 2)  # the retry found nothing left
    assert sell.status is LegStatus.SKIPPED
    assert hedges(second) == [("bybit", "sell", "market", D("0.599"), LegStatus.FILLED)]  # 0.6 less the 0.1% fee, to the lot
    assert second.exposure() == {"BTC": D("0.0004")}  # under one lot
    assert trader.status().counts.succeeded == 2 and not trader.risk.safe_mode.active


def test_a_rejected_leg_is_retried_then_hedged_where_the_balance_is(tmp_path: Path) -> None:
    trader = engine(tmp_path, xex())

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(btc("bybit", ((99.95, 5.0),), ((100.05, 5.0),)), T0)
        # Someone else sells 0.9 BTC on the bybit account: the engine's balances are stale until it looks again.
        await trader.executor.submit(SubmitOrder("manual-1", "bybit", "main", "BTC-USDT", Side.SELL, OrderType.MARKET, D("0.9"), None,
                                                 TimeInForce.IOC, T0))
        await trader.on_event(btc("bybit", ((101.00, 5.0),), ((101.10, 5.0),), sequence=2), T0)
        await trader.drain()

    asyncio.run(scenario())
    (attempt,) = trader.journal.attempts()
    assert attempt.state is ArbitrageState.DONE
    sell = attempt.legs[1]
    assert [trader.journal.order(cid).status for cid in sell.orders] == [OrderStatus.REJECTED, OrderStatus.REJECTED]  # type: ignore[union-attr]
    assert "insufficient BTC on bybit" in sell.reason
    assert hedges(attempt) == [("binance", "sell", "market", D("0.499"), LegStatus.FILLED)]
    assert trader.risk.breaker.last_failure.endswith("insufficient BTC on bybit: needs 0.499, has 0.1 free")


def test_a_venue_going_stale_mid_arbitrage_stops_the_next_leg_and_the_exposure_is_hedged(tmp_path: Path) -> None:
    trader = engine(tmp_path, xex(), latency_ms=100)

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(RICH, T0)
        await asyncio.sleep(0.03)  # the buy is on its way to binance
        await trader.on_event(down("bybit"), T0)
        await trader.drain()

    asyncio.run(scenario())
    (attempt,) = trader.journal.attempts()
    assert attempt.state is ArbitrageState.DONE and attempt.legs[1].status is LegStatus.SKIPPED
    assert "leg 1 not sent: feed_down" in attempt.reason
    assert hedges(attempt) == [("binance", "sell", "market", D("0.499"), LegStatus.FILLED)]


def test_a_leg_not_sent_within_the_time_bound_is_hedged_instead(tmp_path: Path) -> None:
    clock = ManualClock()
    trader = engine(tmp_path, xex(), clock=clock, latency_ms=100)

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(RICH, T0)
        await asyncio.sleep(0.03)
        clock.advance(6 * S)  # the buy answers after the 5 s bound
        await trader.drain()

    asyncio.run(scenario())
    (attempt,) = trader.journal.attempts()
    assert attempt.state is ArbitrageState.DONE and "past the time bound" in attempt.reason
    assert hedges(attempt) == [("bybit", "sell", "market", D("0.499"), LegStatus.FILLED)]  # where the sell was meant to go


def test_a_hedge_that_fails_ends_failed_unhedged_reported_counted_and_in_safe_mode(tmp_path: Path) -> None:
    trader = engine(tmp_path, xex(), latency_ms=50)
    thin = btc("binance", ((99.90, 0.002),), ((100.00, 1.0), (100.10, 5.0)))  # almost nobody to sell back to on binance

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(thin, T0)
        await trader.on_event(RICH, T0)
        await asyncio.sleep(0.02)
        await trader.on_event(down("bybit"), T0)
        await trader.drain()

    asyncio.run(scenario())
    (attempt,) = trader.journal.attempts()
    assert attempt.state is ArbitrageState.FAILED_UNHEDGED and "hedge 0" in attempt.reason
    assert attempt.exposure() == {"BTC": D("0.4975")}  # 0.4995 bought, 0.002 sold back
    status = trader.status()
    (report,) = status.unhedged
    assert (report.attempt_id, report.exposure, report.by_venue) == (attempt.id, {"BTC": D("0.4975")}, {"binance": {"BTC": D("0.4975")}})
    assert status.state is EngineState.SAFE_MODE and SafeModeCause.UNHEDGED_EXPOSURE in status.risk.safe_mode.causes
    assert status.counts.failed == 1 and status.positions == {"BTC": D("0.4975")}
    assert [e.reason for e in trader.journal.risk_events(kind="unhedged")] == [attempt.id]

    killed = asyncio.run(trader.kill(flatten=False, reason="operator"))
    assert (killed.exposure, killed.by_venue, killed.flattened) == ({"BTC": D("0.4975")}, {"binance": {"BTC": D("0.4975")}}, ())
