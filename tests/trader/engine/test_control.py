"""Operating the engine: the kill switch (a proposal in flight, open limit orders, exposure), graceful
stop with a limit order open and a leg in flight, journal-before-send, strategy instances persisted
across engines, and a restart after a crash mid-arbitrage."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal as D
from pathlib import Path

import msgspec
import pytest

from shared.trading import ArbitrageState, DecisionReason, InstanceState, OrderStatus
from tests.trader.engine.engine_setup import CHEAP, RICH, btc, engine, lh, xex
from tests.trader.execution.paper_setup import ManualClock
from tests.trader.market_data import T0, S
from trader.engine import TradingEngine

# Quiet books: no cross-exchange edge; a bid on binance at 99.80 clears 10 bps when sold on bybit at 100.00.
QUIET_BINANCE = btc("binance", ((99.90, 5.0),), ((100.10, 5.0),))
QUIET_BYBIT = btc("bybit", ((100.00, 5.0),), ((100.10, 5.0),))


def test_the_kill_switch_stops_a_proposal_decided_before_it(tmp_path: Path) -> None:
    trader = engine(tmp_path, xex())

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(RICH, T0)  # approved; its first order not sent yet
        await trader.kill(flatten=False, reason="operator")
        await trader.drain()

    asyncio.run(scenario())
    decisions = [e.decision for e in trader.journal.risk_events(kind="decision")]
    assert [(d.verdict.value, d.reason) for d in decisions if d] == [("approved", DecisionReason.OK), ("denied", DecisionReason.KILL_SWITCH)]
    assert trader.journal.orders() == () and trader.journal.attempts() == ()
    assert asyncio.run(trader.executor.open_orders()) == ()


def test_the_kill_switch_cancels_open_limit_orders_and_reports_no_exposure_left(tmp_path: Path) -> None:
    trader = engine(tmp_path, lh())

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(QUIET_BINANCE, T0)
        await trader.on_event(QUIET_BYBIT, T0)
        await asyncio.sleep(0.05)
        (resting,) = await trader.executor.open_orders()
        assert (resting.side.value, resting.price, resting.amount) == ("buy", D("99.80"), D("0.200"))
        report = await trader.kill(flatten=False, reason="operator")
        assert [(o.client_order_id, o.status) for o in report.canceled] == [(resting.client_order_id, OrderStatus.CANCELED)]
        assert (report.exposure, report.by_venue) == ({}, {})
        await trader.drain()
        assert await trader.executor.open_orders() == ()

    asyncio.run(scenario())
    (attempt,) = trader.journal.attempts()
    assert attempt.state is ArbitrageState.ABORTED
    assert trader.status().state.value == "killed"


def test_stop_cancels_the_resting_order_and_lets_the_leg_in_flight_finish(tmp_path: Path) -> None:
    trader = engine(tmp_path, lh(), xex(), latency_ms=100)

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(RICH, T0)  # lh rests a bid on binance; xex buys there and sells on bybit
        await asyncio.sleep(0.03)
        report = await trader.stop(grace_s=5)
        assert [o.status for o in report.canceled] == [OrderStatus.CANCELED] and report.unfinished == ()

    asyncio.run(scenario())
    states = {a.instance_id: a.state for a in trader.journal.attempts()}
    assert states == {"lh": ArbitrageState.ABORTED, "xex": ArbitrageState.FILLED}
    (session,) = trader.journal.sessions()
    assert session.end_reason == "shutdown" and session.totals is not None and session.totals.realized_pnl["USDT"] > 0


def test_the_order_is_journaled_before_the_executor_sees_it(tmp_path: Path) -> None:
    trader = engine(tmp_path, xex(), latency_ms=100)

    async def scenario() -> tuple[list[tuple[str, str]], list[tuple[str]]]:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(RICH, T0)
        await asyncio.sleep(0.03)
        with sqlite3.connect(tmp_path / "journal.db") as journal_db, sqlite3.connect(tmp_path / "venue.db") as venue_db:
            journaled = journal_db.execute("SELECT client_order_id, status FROM orders").fetchall()
            at_venue = venue_db.execute("SELECT client_order_id FROM orders").fetchall()
        await trader.drain()
        return journaled, at_venue

    journaled, at_venue = asyncio.run(scenario())
    assert [status for _, status in journaled] == ["submitted"] and at_venue == []


def test_instances_added_paused_resumed_and_removed_persist_into_a_new_engine(tmp_path: Path) -> None:
    clock = ManualClock()
    first = engine(tmp_path, xex(), clock=clock)
    asyncio.run(first.start())
    first.add_instance(xex("xb"))
    first.add_instance(xex("xc"))
    first.pause_instance("xex")
    first.pause_instance("xc")
    first.resume_instance("xc")
    first.remove_instance("xb")
    with pytest.raises(ValueError, match="exists already"):
        first.add_instance(xex("xc"))
    with pytest.raises(ValueError, match="no instrument spec for kraken BTC-USDT"):
        first.add_instance(msgspec.structs.replace(xex("xk"), params=msgspec.structs.replace(xex().params, venues=("binance", "kraken"))))
    with pytest.raises(KeyError, match="no strategy instance 'nope'"):
        first.pause_instance("nope")
    first.close()

    second = engine(tmp_path, xex(), xex("xb"), clock=clock)  # the configuration still lists xex (active) and xb
    asyncio.run(second.start())
    assert [(i.id, i.state) for i in second.instances()] == [("xc", InstanceState.ACTIVE), ("xex", InstanceState.PAUSED)]
    second.close()


def test_a_restart_after_a_crash_mid_arbitrage_completes_it_without_a_duplicate_order(tmp_path: Path) -> None:
    clock = ManualClock()
    first = engine(tmp_path, xex(), clock=clock, latency_ms=100)

    async def crash() -> None:
        await first.start()
        await first.on_event(CHEAP, T0)
        await first.on_event(RICH, T0)
        await asyncio.sleep(0.03)  # the buy is at the venue, the journal has not heard back
        for task in list(first._tasks):
            task.cancel()
        await asyncio.sleep(0.15)  # the venue fills it all the same
        await first.queues.close()

    asyncio.run(crash())
    first.close()
    second: TradingEngine = engine(tmp_path, xex(), clock=clock)

    async def restart() -> None:
        await second.on_event(CHEAP, T0)  # books arrive before trading starts
        await second.on_event(RICH, T0)
        report = await second.start()
        assert [o.action.value for o in report.orders] == ["adopted"] and report.exposed
        await second.drain()

    asyncio.run(restart())
    (attempt,) = second.journal.attempts()
    assert attempt.state is ArbitrageState.FILLED
    journaled = second.journal.orders()
    at_venue = [asyncio.run(second.executor.order(o.client_order_id)) for o in journaled]
    assert [o.status for o in journaled] == [OrderStatus.FILLED, OrderStatus.FILLED]
    assert [o.status for o in at_venue if o] == [OrderStatus.FILLED, OrderStatus.FILLED]
    assert len({o.client_order_id for o in journaled}) == 2


def test_an_arbitrage_resumed_before_any_book_has_arrived_waits_for_its_venues_then_completes(tmp_path: Path) -> None:
    clock = ManualClock()
    first = engine(tmp_path, xex(), clock=clock, latency_ms=100)

    async def crash() -> None:
        await first.start()
        await first.on_event(CHEAP, T0)
        await first.on_event(RICH, T0)
        await asyncio.sleep(0.03)
        for task in list(first._tasks):
            task.cancel()
        await asyncio.sleep(0.15)  # the buy fills at the venue; the sell is not sent
        await first.queues.close()

    asyncio.run(crash())
    (resumed,) = first.journal.attempts()
    first.close()
    second: TradingEngine = engine(tmp_path, xex(), clock=clock)

    async def restart() -> None:
        await second.start()  # as the service does: the feed starts after start() returns
        await asyncio.sleep(0.1)  # the resumed controller looks at its books a few times: none yet
        await second.on_event(CHEAP, T0)
        await second.on_event(RICH, T0)
        await second.drain()

    asyncio.run(restart())
    attempt = second.journal.attempt(resumed.id)
    assert attempt is not None and attempt.state is ArbitrageState.FILLED, attempt  # not unwound for "no book yet"
    assert not attempt.hedges
    assert [second.journal.order(cid).status for leg in attempt.legs for cid in leg.orders] == [  # type: ignore[union-attr]
        OrderStatus.FILLED, OrderStatus.FILLED]


def test_a_resumed_arbitrage_waits_for_its_books_no_longer_than_one_time_bound(tmp_path: Path) -> None:
    clock = ManualClock()
    first = engine(tmp_path, xex(), clock=clock, latency_ms=100)

    async def crash() -> None:
        await first.start()
        await first.on_event(CHEAP, T0)
        await first.on_event(RICH, T0)
        await asyncio.sleep(0.03)
        for task in list(first._tasks):
            task.cancel()
        await asyncio.sleep(0.15)
        await first.queues.close()

    asyncio.run(crash())
    (resumed,) = first.journal.attempts()
    first.close()
    second: TradingEngine = engine(tmp_path, xex(), clock=clock)

    async def restart() -> None:
        await second.start()
        await asyncio.sleep(0.1)
        assert not second.journal.attempt(resumed.id).is_final  # type: ignore[union-attr]  # still waiting for books
        clock.advance(6 * S)  # no book within the bound: it decides on what it has
        await asyncio.wait_for(second.drain(), 5)

    asyncio.run(restart())
    attempt = second.journal.attempt(resumed.id)
    assert attempt is not None and attempt.is_final
