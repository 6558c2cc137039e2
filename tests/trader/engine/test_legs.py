"""The leg controller on every failure path, on a real paper venue: a partial fill, a rejection, a venue
going stale mid-arbitrage, the time bound passing, and a hedge that fails (failed-unhedged, reported,
safe mode)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

from shared.events import BookTop
from shared.trading import (
    ArbitrageState,
    Balance,
    Balances,
    LegStatus,
    LimitHedgeParams,
    OrderStatus,
    OrderType,
    Side,
    StrategyInstance,
    SubmitOrder,
    TimeInForce,
    TriangularParams,
)
from tests.trader.engine.engine_setup import CHEAP, RICH, TRI_SPECS, btc, down, engine, lh, tri_book, xex
from tests.trader.execution.paper_setup import ManualClock
from tests.trader.market_data import T0, S
from trader.engine import EngineState, attempt_pnl
from trader.risk import SafeModeCause


def hedges(attempt):  # type: ignore[no-untyped-def]
    return [(h.leg.venue, h.leg.side.value, h.leg.type.value, h.filled, h.status) for h in attempt.hedges]


def test_a_partly_filled_leg_is_priced_again_on_the_current_book_and_completed_when_that_beats_unwinding(tmp_path: Path) -> None:
    trader = engine(tmp_path, xex(size="1.0"))

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(CHEAP, T0)
        # Someone else takes 0.4 of the 1.0 BTC binance offers at 100.00: the trader gets 0.6 of its 1.0.
        await trader.executor.submit(SubmitOrder("manual-1", "binance", "main", "BTC-USDT", Side.BUY, OrderType.MARKET, D("0.4"), None,
                                                 TimeInForce.IOC, T0))
        await trader.on_event(btc("bybit", ((101.00, 5.0),), ((101.10, 5.0),)), T0)
        await trader.drain()

    asyncio.run(scenario())
    (attempt,) = trader.journal.attempts()
    # Sent again at its planned 100.00 it would find nothing; priced on the book, the 0.4 left costs 100.10, and
    # the sell still clears: completing keeps most of the edge, where unwinding would only recover the 0.6.
    assert attempt.state is ArbitrageState.FILLED and not attempt.hedges
    buy, sell = attempt.legs
    assert (buy.filled, buy.leg.price, len(buy.orders)) == (D("1.000"), D("100.10"), 2)
    assert [(f.price, f.amount) for f in buy.fills] == [(D("100.0"), D("0.6")), (D("100.1"), D("0.400"))]
    assert (sell.filled, sell.status) == (D("0.999"), LegStatus.FILLED)
    assert attempt_pnl(attempt) == D("0.7581010")
    assert trader.status().counts.succeeded == 1 and not trader.risk.safe_mode.active
    assert trader.risk.breaker.last_failure == ""  # an IOC order that found nothing left says nothing about the venue


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


# Quiet books: a bid on binance at 99.80 clears 10 bps when sold on bybit at 100.00 (see test_control).
QUIET_BINANCE = btc("binance", ((99.90, 5.0),), ((100.10, 5.0),))
QUIET_BYBIT = btc("bybit", ((100.00, 5.0),), ((100.10, 5.0),))
DROPPED = btc("binance", ((99.70, 5.0),), ((99.80, 5.0),), sequence=2)  # binance falls: an ask at 99.80 meets the bid


def test_a_resting_order_the_book_would_take_by_the_time_it_is_sent_is_not_sent(tmp_path: Path) -> None:
    trader = engine(tmp_path, lh())

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(QUIET_BINANCE, T0)
        await trader.on_event(QUIET_BYBIT, T0)  # a bid at 99.80 approved, not yet sent
        await trader.on_event(DROPPED, T0)
        await trader.drain()

    asyncio.run(scenario())
    (attempt,) = trader.journal.attempts()
    assert attempt.state is ArbitrageState.ABORTED
    assert attempt.reason == "maker order not sent: the bid at 99.80 would take liquidity at 99.8"
    assert trader.journal.orders() == ()


def test_a_post_only_order_refused_for_crossing_the_book_does_not_count_against_the_breaker(tmp_path: Path) -> None:
    trader = engine(tmp_path, lh(), latency_ms=100)

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(QUIET_BINANCE, T0)
        await trader.on_event(QUIET_BYBIT, T0)
        await asyncio.sleep(0.03)  # the bid is on its way when binance falls through it
        await trader.on_event(DROPPED, T0)
        await trader.drain()

    asyncio.run(scenario())
    (order,) = trader.journal.orders()
    assert order.status is OrderStatus.REJECTED and order.reason == "post-only order at 99.80 would take liquidity at 99.8"
    assert trader.risk.breaker.last_failure == "" and trader.risk.breaker.allows(T0)


TRI = StrategyInstance("tri", TriangularParams("binance", ("BTC-USDT", "ETH-BTC", "ETH-USDT"), "USDT", D(300), D(2)))
USDT_ONLY = Balances((Balance("binance", "main", "USDT", D(1000)),))


def triangle_with_a_move(tmp_path: Path, moved: BookTop):  # type: ignore[no-untyped-def]
    """A USDT > BTC > ETH > USDT cycle of 0.006 BTC; `moved` arrives while its first leg is on its way."""
    trader = engine(tmp_path, TRI, specs=TRI_SPECS, funds=USDT_ONLY, latency_ms=50)

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(tri_book("ETH-BTC", ((0.04890, 5.0),), ((0.04900, 5.0),)), T0)
        await trader.on_event(tri_book("ETH-USDT", ((2470.0, 5.0),), ((2471.0, 5.0),)), T0)
        await trader.on_event(tri_book("BTC-USDT", ((49990.0, 1.0),), ((50000.0, 1.0),)), T0)
        await asyncio.sleep(0.03)
        await trader.on_event(moved, T0)
        await trader.drain()

    asyncio.run(scenario())
    (attempt,) = trader.journal.attempts()
    return trader, attempt


def test_a_triangle_whose_middle_leg_missed_is_completed_at_the_new_price_when_that_loses_less_than_unwinding(tmp_path: Path) -> None:
    # ETH-BTC ticks up half a tick past the planned 0.04900: the IOC at 0.04900 finds nothing.
    trader, attempt = triangle_with_a_move(tmp_path, tri_book("ETH-BTC", ((0.04895, 5.0),), ((0.04905, 5.0),), sequence=2))
    assert attempt.state is ArbitrageState.FILLED and not attempt.hedges, attempt.reason
    _, eth_btc, eth_usdt = attempt.legs
    # Priced again: 0.04905, limited 10 bps past it (0.04910), sized to the 0.005994 BTC the first leg yielded.
    assert (eth_btc.leg.price, eth_btc.leg.amount, [f.price for f in eth_btc.fills]) == (D("0.04910"), D("0.1220"), [D("0.04905")])
    assert (eth_usdt.leg.price, eth_usdt.filled) == (D("2467.53"), D("0.1218"))
    assert attempt_pnl(attempt) > 0  # unwinding would have lost 0.66 USDT
    assert attempt.exposure() == {"BTC": D("0.000009900"), "ETH": D("0.0000780")}  # under one lot of each
    assert trader.status().unhedged == ()


def test_a_triangle_is_unwound_when_completing_at_the_new_price_would_lose_more(tmp_path: Path) -> None:
    # ETH-BTC jumps 1%: buying ETH there and selling it at 2470 would lose 1.17 USDT, selling the BTC back 0.33.
    _, attempt = triangle_with_a_move(tmp_path, tri_book("ETH-BTC", ((0.04940, 5.0),), ((0.04950, 5.0),), sequence=2))
    assert attempt.state is ArbitrageState.DONE and "leg 1 (binance buy ETH-BTC) failed" in attempt.reason
    assert "unwound: completing -1.17128970 USDT, unwinding -0.32939010 USDT" in attempt.reason
    assert len(attempt.legs[1].orders) == 1  # not sent again at a price the book no longer has
    assert hedges(attempt) == [("binance", "sell", "market", D("0.00599"), LegStatus.FILLED)]


def test_the_dust_a_hedged_triangle_leaves_under_every_minimum_order_is_not_unhedged_exposure(tmp_path: Path) -> None:
    trader, attempt = triangle_with_a_move(tmp_path, tri_book("ETH-BTC", ((0.04940, 5.0),), ((0.04950, 5.0),), sequence=2))
    assert attempt.state is ArbitrageState.DONE
    assert attempt.exposure() == {"BTC": D("0.00000400")}  # what the first leg's fee and the hedge's lot leave: under one lot
    status = trader.status()
    assert status.unhedged == () and status.counts.failed == 0 and not trader.risk.safe_mode.active
    assert trader.journal.risk_events(kind="unhedged") == ()


def test_a_triangle_whose_last_leg_missed_is_completed_within_the_slippage_bound(tmp_path: Path) -> None:
    # ETH-USDT falls 0.04% under the last leg's limit: sold at the new bid rather than sent again at the old one.
    _, attempt = triangle_with_a_move(tmp_path, tri_book("ETH-USDT", ((2469.0, 5.0),), ((2470.0, 5.0),), sequence=2))
    assert attempt.state is ArbitrageState.FILLED and not attempt.hedges, attempt.reason
    assert [f.price for f in attempt.legs[2].fills] == [D("2469.0")]


def test_a_hedge_on_its_way_is_not_taken_for_a_resting_order_when_the_strategy_plans_again(tmp_path: Path) -> None:
    clock = ManualClock()
    both = StrategyInstance("lh", LimitHedgeParams("binance", "bybit", "BTC-USDT", D("0.2"), D(10)))
    trader = engine(tmp_path, both, clock=clock, latency_ms=50)
    later = T0 + 3 * S

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(QUIET_BINANCE, T0)
        await trader.on_event(QUIET_BYBIT, T0)  # a bid rests at 99.80, an ask at 100.31
        await asyncio.sleep(0.15)
        clock.advance(3 * S)  # bybit's book is stale when binance falls through the bid: its hedge goes out at market
        await trader.on_event(btc("binance", DROPPED.bids, DROPPED.asks, at=later, sequence=2), later)
        await asyncio.sleep(0.02)
        await trader.on_event(btc("bybit", QUIET_BYBIT.bids, QUIET_BYBIT.asks, at=later, sequence=2), later)  # plans again meanwhile
        await asyncio.sleep(0.1)
        await trader.stop(grace_s=1)

    asyncio.run(scenario())
    bid = next(a for a in trader.journal.attempts() if a.legs[0].filled)
    assert bid.state is ArbitrageState.DONE
    assert hedges(bid) == [("bybit", "sell", "market", D("0.200"), LegStatus.FILLED)]


def test_a_leg_state_the_journal_already_shows_goes_with_the_attempts_next_commit(tmp_path: Path) -> None:
    """A canceled resting order fails its leg, which ends the attempt: the failed leg (derived from the journaled
    cancel, as recovery would derive it again) and the end are written in one commit, not two."""
    trader = engine(tmp_path, lh())
    transactions: list[list[str]] = []

    def traced(statement: str) -> None:
        if statement.startswith("BEGIN"):
            transactions.append([])
        elif statement.startswith(("INSERT", "UPDATE", "DELETE")) and transactions:
            transactions[-1].append(" ".join(statement.split()[:3]))

    async def scenario() -> None:
        await trader.start()
        await trader.on_event(QUIET_BINANCE, T0)
        await trader.on_event(QUIET_BYBIT, T0)  # a bid at 99.80 rests on binance
        while not any(o.status is OrderStatus.ACCEPTED for o in trader.journal.orders()):
            await asyncio.sleep(0.001)
        trader.journal._db.set_trace_callback(traced)
        await trader.on_event(btc("bybit", ((99.00, 5.0),), ((99.10, 5.0),), sequence=2), T0)  # no bid clears now
        await trader.drain()

    asyncio.run(scenario())
    (attempt,) = trader.journal.attempts()
    assert attempt.state is ArbitrageState.ABORTED and attempt.legs[0].status is LegStatus.FAILED
    attempt_writes = [t for t in transactions if "INSERT INTO arbitrages" in t]
    assert attempt_writes == [["INSERT INTO arbitrages", "INSERT INTO arbitrages"]]
