"""The engine on hand-built books and a real paper venue: a dislocation becomes one arbitrage with both
legs filled and an exact PnL after fees; no dislocation, or one the fees eat, makes no order."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal as D
from pathlib import Path

from shared.trading import ArbitrageState, Balance, Balances, LegStatus, OrderStatus, StrategyInstance, TriangularParams
from tests.trader.engine.engine_setup import CHEAP, ENGINE, RICH, TRI_SPECS, btc, config, engine, lh, tri_book, xex
from tests.trader.execution.paper_setup import ManualClock
from tests.trader.market_data import T0
from trader.engine import EngineState, attempt_pnl, build_engine
from trader.risk import RiskConfig, RiskLimits


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


def test_an_instance_trades_again_only_once_every_book_its_last_arbitrage_was_based_on_is_newer(tmp_path: Path) -> None:
    trader = engine(tmp_path, xex())

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(RICH, T0)
        await trader.drain()
        # binance publishes again (the same levels); bybit's book is still the one the arbitrage sold into.
        await trader.on_event(btc("binance", CHEAP.bids, CHEAP.asks, sequence=2), T0)
        await trader.drain()
        assert len(trader.journal.attempts()) == 1 and trader.proposals == 1
        await trader.on_event(btc("bybit", RICH.bids, RICH.asks, sequence=2), T0)
        await trader.drain()

    asyncio.run(scenario())
    assert [a.state for a in trader.journal.attempts()] == [ArbitrageState.FILLED, ArbitrageState.FILLED]


def test_an_instance_plans_on_what_the_orders_already_approved_leave_of_a_book(tmp_path: Path) -> None:
    # xa takes 0.4 of the 0.5 BTC binance offers at 100.00; xb sees the 0.1 left, and buys its 0.5 at up to 100.10.
    trader = engine(tmp_path, xex("xa", size="0.4"), xex("xb", size="0.5"))

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(btc("binance", ((99.90, 5.0),), ((100.00, 0.5), (100.10, 5.0))), T0)
        await trader.on_event(btc("bybit", ((101.00, 5.0),), ((101.10, 5.0),)), T0)
        await trader.drain()

    asyncio.run(scenario())
    first, second = sorted(trader.journal.attempts(), key=lambda a: a.instance_id)
    assert (first.state, second.state) == (ArbitrageState.FILLED, ArbitrageState.FILLED)
    buy = second.legs[0]
    assert (buy.leg.amount, buy.leg.price, buy.filled, len(buy.orders)) == (D("0.500"), D("100.10"), D("0.500"), 1)
    assert [(f.price, f.amount) for f in buy.fills] == [(D("100.00"), D("0.100")), (D("100.10"), D("0.400"))]
    assert second.hedges == ()


def test_a_triangle_is_not_proposed_again_on_the_book_whose_liquidity_its_last_cycle_took(tmp_path: Path) -> None:
    # USDT -> BTC -> ETH -> USDT: 1 / 50000 / 0.04900 * 2470 = 1.00816, about 51 bps after three 0.1% fees.
    tri = StrategyInstance("tri", TriangularParams("binance", ("BTC-USDT", "ETH-BTC", "ETH-USDT"), "USDT", D(300), D(2)))
    trader = engine(tmp_path, tri, specs=TRI_SPECS, funds=Balances((Balance("binance", "main", "USDT", D(1000)),)))
    btc_usdt = ((49990.0, 1.0),), ((50000.0, 1.0),)

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(tri_book("ETH-BTC", ((0.04890, 5.0),), ((0.04900, 0.15),)), T0)
        await trader.on_event(tri_book("ETH-USDT", ((2470.0, 5.0),), ((2471.0, 5.0),)), T0)
        await trader.on_event(tri_book("BTC-USDT", *btc_usdt), T0)
        await trader.drain()
        # BTC-USDT publishes again; ETH-BTC still shows the 0.15 ETH at 0.049 the cycle bought 0.1223 of.
        await trader.on_event(tri_book("BTC-USDT", *btc_usdt, sequence=2), T0)
        await trader.on_event(tri_book("ETH-USDT", ((2470.0, 5.0),), ((2471.0, 5.0),), sequence=2), T0)
        await trader.drain()

    asyncio.run(scenario())
    (attempt,) = trader.journal.attempts()
    assert attempt.state is ArbitrageState.FILLED and attempt.legs[1].filled == D("0.1223")
    assert trader.proposals == 1 and len(trader.journal.orders()) == 3


def test_a_resting_order_is_repriced_on_the_books_after_its_cancel_not_queued_behind_it(tmp_path: Path) -> None:
    trader = engine(tmp_path, lh())

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(btc("binance", ((99.90, 5.0),), ((100.10, 5.0),)), T0)
        await trader.on_event(btc("bybit", ((100.00, 5.0),), ((100.10, 5.0),)), T0)  # a bid at 99.80 rests on binance
        await asyncio.sleep(0.05)
        await trader.on_event(btc("binance", ((99.90, 5.0),), ((100.10, 5.0),), sequence=2), T0)  # the bid stays
        await trader.on_event(btc("bybit", ((100.10, 5.0),), ((100.20, 5.0),), sequence=2), T0)  # its ideal price is now 99.90
        assert trader.proposals == 1  # the cancel goes first; nothing is queued behind it
        await asyncio.sleep(0.05)
        await trader.on_event(btc("binance", ((99.90, 5.0),), ((100.10, 5.0),), sequence=3), T0)
        await asyncio.sleep(0.05)
        first, second = trader.journal.orders()
        assert (first.price, first.status, first.reason) == (D("99.80"), OrderStatus.CANCELED, "reprice: ideal price moved from 99.80 to 99.90")
        assert (second.price, second.status) == (D("99.90"), OrderStatus.ACCEPTED)
        await trader.stop(grace_s=1)

    asyncio.run(scenario())


def test_approvals_on_one_event_count_each_others_orders_against_the_open_orders_limit(tmp_path: Path) -> None:
    settings = config(tmp_path, xex("a", size="0.2"), xex("b", size="0.2"))
    settings = dataclasses.replace(settings, risk=RiskConfig(limits=RiskLimits(max_open_orders=3)))
    trader = build_engine(settings, ManualClock(), ENGINE)

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(RICH, T0)  # both instances plan on this event; the first approval holds 2 of the 3 orders
        await trader.drain()

    asyncio.run(scenario())
    assert [a.instance_id for a in trader.journal.attempts()] == ["a"]
    denied = [e.decision for e in trader.journal.risk_events(kind="decision") if e.decision and not e.decision.approved]
    assert [(d.proposal.instance_id, d.reason.value, d.detail) for d in denied] == [("b", "open_orders", "2 open + 2 new > limit 3")]


def test_approvals_on_one_event_do_not_count_on_the_same_balance(tmp_path: Path) -> None:
    funds = Balances((Balance("binance", "main", "USDT", D(1000)), Balance("bybit", "main", "BTC", D("0.3"))))
    trader = engine(tmp_path, xex("a", size="0.2"), xex("b", size="0.2"), funds=funds)

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        await trader.on_event(RICH, T0)  # each instance alone could sell 0.2 of bybit's 0.3 BTC
        await trader.drain()

    asyncio.run(scenario())
    attempts = trader.journal.attempts()
    assert {a.instance_id for a in attempts} == {"a", "b"}
    assert all(a.state is ArbitrageState.FILLED for a in attempts), [a.reason for a in attempts]
    sold = sum(a.legs[1].leg.amount for a in attempts)
    assert sold <= D("0.3")
    assert all(o.status is OrderStatus.FILLED for o in trader.journal.orders())  # none rejected for want of BTC
