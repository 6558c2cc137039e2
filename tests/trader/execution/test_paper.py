"""The paper executor against hand-built books, on a real SQLite store: walking, fees, resting orders,
rejections with reasons, idempotency and surviving a restart."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal as D
from pathlib import Path

import pytest

from shared.events import Side, Trade
from shared.trading import (
    CancelOrder,
    Liquidity,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    TimeInForce,
)
from tests.trader.execution.paper_setup import T0, btc_book, order, paper
from trader.execution import Executor, ExecutorUnavailable


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def fills_of(events):  # type: ignore[no-untyped-def]
    return [(e.fill.price, e.fill.amount, e.fill.fee, e.fill.fee_asset, e.fill.liquidity) for e in events if isinstance(e, OrderFilled)]


def test_the_paper_executor_implements_the_executor_interface(tmp_path: Path) -> None:
    assert isinstance(paper(tmp_path / "venue.db"), Executor)


def test_a_market_buy_walks_the_book_and_pays_the_taker_fee_in_the_base_it_receives(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())
    update = run(venue.submit(order("o1", amount="0.8")))
    assert isinstance(update.events[0], OrderAccepted)
    assert fills_of(update.events) == [
        (D("100.00"), D("0.500"), D("0.0005000"), "BTC", Liquidity.TAKER),
        (D("100.10"), D("0.300"), D("0.0003000"), "BTC", Liquidity.TAKER),
    ]
    assert update.order.status is OrderStatus.FILLED
    assert update.order.avg_price == (D("50.000") + D("30.030")) / D("0.8")
    funds = run(venue.balances())
    assert funds.free("binance", "USDT") == D("1000") - D("80.030")
    assert funds.free("binance", "BTC") == D("1") + D("0.8") - D("0.0008")
    assert funds.free("bybit", "USDT") == D("1000")  # balances are per venue


def test_a_market_sell_pays_the_fee_in_quote(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())
    update = run(venue.submit(order("o1", side=Side.SELL, amount="0.2")))
    assert fills_of(update.events) == [(D("99.90"), D("0.200"), D("0.019980000"), "USDT", Liquidity.TAKER)]
    funds = run(venue.balances())
    assert funds.free("binance", "BTC") == D("0.8")
    assert funds.free("binance", "USDT") == D("1000") + D("19.98") - D("0.01998")


def test_liquidity_taken_from_a_book_version_is_not_taken_twice(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())
    run(venue.submit(order("o1", amount="0.4")))
    venue.on_book(btc_book())  # the same version again (same sequence and receive time) changes nothing
    second = run(venue.submit(order("o2", amount="0.4")))
    assert [(p, a) for p, a, *_ in fills_of(second.events)] == [(D("100.00"), D("0.100")), (D("100.10"), D("0.300"))]


def test_a_new_book_version_shows_the_liquidity_afresh(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())
    run(venue.submit(order("o1", amount="0.5")))
    venue.on_book(btc_book(sequence=2))
    second = run(venue.submit(order("o2", amount="0.5")))
    assert [(p, a) for p, a, *_ in fills_of(second.events)] == [(D("100.00"), D("0.500"))]


def test_a_market_order_deeper_than_the_book_fills_what_there_is_and_cancels_the_rest(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book(asks=((100.00, 0.5),)))
    update = run(venue.submit(order("o1", amount="0.8")))
    assert update.order.status is OrderStatus.CANCELED
    assert update.order.filled == D("0.500")
    assert isinstance(update.events[-1], OrderCanceled)


def test_an_ioc_limit_fills_what_crosses_its_price_and_cancels_the_rest(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())
    update = run(venue.submit(order("o1", amount="1", price="100.05", tif=TimeInForce.IOC)))
    assert [(p, a) for p, a, *_ in fills_of(update.events)] == [(D("100.00"), D("0.500"))]
    assert update.order.status is OrderStatus.CANCELED
    assert run(venue.balances()).free("binance", "USDT") == D("950.000")  # nothing left locked


def test_a_fill_or_kill_order_the_book_cannot_fill_whole_fills_nothing(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())
    update = run(venue.submit(order("o1", amount="1", price="100.05", tif=TimeInForce.FOK)))
    assert update.order.status is OrderStatus.CANCELED
    assert update.order.filled == 0
    assert run(venue.fills()) == ()


def test_a_resting_limit_locks_its_funds_and_fills_as_maker_when_a_book_crosses_it(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())
    rested = run(venue.submit(order("o1", amount="0.6", price="99.50")))
    assert rested.order.status is OrderStatus.ACCEPTED
    funds = run(venue.balances())
    assert (funds["binance", "USDT"].free, funds["binance", "USDT"].locked) == (D("1000") - D("59.700"), D("59.700"))
    # Asks come down through 99.50 with 0.25 at 99.40: the order fills that much, at its own price, as maker.
    events = venue.on_book(btc_book(bids=((99.30, 1.0),), asks=((99.40, 0.25), (99.60, 1.0)), sequence=2))
    assert fills_of(events) == [(D("99.50"), D("0.250"), D("0.000"), "BTC", Liquidity.MAKER)]
    now = run(venue.order("o1"))
    assert now is not None and now.status is OrderStatus.PARTIALLY_FILLED and now.remaining == D("0.350")
    funds = run(venue.balances())
    assert funds["binance", "USDT"].locked == D("0.350") * D("99.50")
    assert funds.free("binance", "BTC") == D("1.250")


def test_a_public_trade_through_a_resting_price_fills_it_by_the_trade_size(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())
    run(venue.submit(order("o1", side=Side.SELL, amount="0.6", price="100.50")))
    assert venue.on_trade(Trade("binance", "BTC-USDT", T0, T0, "t1", Side.SELL, 100.60, 1.0)) == ()  # a sell does not lift an ask
    assert venue.on_trade(Trade("binance", "BTC-USDT", T0, T0, "t2", Side.BUY, 100.40, 1.0)) == ()  # below the ask's price
    events = venue.on_trade(Trade("binance", "BTC-USDT", T0, T0, "t3", Side.BUY, 100.50, 0.4))
    assert fills_of(events) == [(D("100.50"), D("0.400"), D("0.00000"), "USDT", Liquidity.MAKER)]
    events = venue.on_trade(Trade("binance", "BTC-USDT", T0, T0, "t4", Side.BUY, 100.70, 5.0))
    assert fills_of(events)[0][1] == D("0.200")
    assert run(venue.open_orders()) == ()
    funds = run(venue.balances())
    assert (funds.free("binance", "BTC"), funds["binance", "BTC"].locked) == (D("0.4"), D("0.000"))
    assert funds.free("binance", "USDT") == D("1000") + D("60.300")


def test_canceling_a_resting_order_releases_what_it_locked(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())
    run(venue.submit(order("o1", amount="0.6", price="99.50")))
    update = run(venue.cancel(CancelOrder("o1", "binance", "main", "BTC-USDT", T0, "reprice")))
    assert isinstance(update.events[0], OrderCanceled) and update.order.reason == "reprice"
    funds = run(venue.balances())
    assert (funds.free("binance", "USDT"), funds["binance", "USDT"].locked) == (D("1000.000"), D("0.000"))
    again = run(venue.cancel(CancelOrder("o1", "binance", "main", "BTC-USDT", T0)))
    assert again.events == () and again.order.status is OrderStatus.CANCELED
    with pytest.raises(KeyError):
        run(venue.cancel(CancelOrder("nope", "binance", "main", "BTC-USDT", T0)))


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (order("o1", amount="20", price="100"), "insufficient USDT on binance: needs 2000, has 1000 free"),
        (order("o1", side=Side.SELL, amount="2", price="100"), "insufficient BTC on binance: needs 2, has 1 free"),
        (order("o1", amount="0.05", price="100"), "binance BTC-USDT: notional 5.00 is under the minimum 10"),
        (order("o1", amount="0.5", price="100", tif=TimeInForce.POST_ONLY), "post-only order at 100 would take liquidity at 100.0"),
        (order("o1", amount="0.5", venue="kraken"), "unknown instrument kraken BTC-USDT"),
        (order("o1", amount="0.5", venue="bybit"), "no book for bybit BTC-USDT"),
    ],
)
def test_an_order_it_cannot_carry_out_is_rejected_with_the_reason(tmp_path: Path, command, reason) -> None:  # type: ignore[no-untyped-def]
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())
    before = run(venue.balances())
    update = run(venue.submit(command))
    assert len(update.events) == 1 and isinstance(update.events[0], OrderRejected)
    assert update.events[0].reason == reason
    assert update.order.status is OrderStatus.REJECTED
    assert run(venue.balances()) == before


def test_a_market_buy_is_funded_by_what_the_walk_costs(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book(asks=((100.00, 20.0),)))
    update = run(venue.submit(order("o1", amount="10.001")))
    assert update.order.status is OrderStatus.REJECTED
    assert update.order.reason == "insufficient USDT on binance: needs 1000.1000, has 1000 free"


def test_a_re_sent_client_order_id_is_answered_with_the_existing_order_and_no_duplicate(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())
    first = run(venue.submit(order("o1", amount="0.3")))
    venue.on_book(btc_book(sequence=2))
    again = run(venue.submit(order("o1", amount="0.3")))
    assert again.duplicate and again.order == first.order
    assert len(run(venue.fills())) == 1
    assert run(venue.balances()).free("binance", "BTC") == D("1.2997")


def test_its_orders_fills_and_balances_survive_a_restart(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())
    run(venue.submit(order("o1", amount="0.3")))
    run(venue.submit(order("o2", amount="0.6", price="99.50")))
    before = (run(venue.balances()), run(venue.fills()), run(venue.open_orders()))
    venue.close()

    reopened = paper(tmp_path / "venue.db", funds=())
    assert (run(reopened.balances()), run(reopened.fills()), run(reopened.open_orders())) == before
    # The resting order still rests: a crossing book fills it, under a trade id not used before.
    events = reopened.on_book(btc_book(asks=((99.00, 1.0),), bids=((98.00, 1.0),), sequence=9))
    assert fills_of(events)[0][1] == D("0.600")
    trade_ids = [f.trade_id for f in run(reopened.fills())]
    assert len(trade_ids) == len(set(trade_ids)) == 2


def test_fills_since_returns_those_at_or_after_the_time(tmp_path: Path) -> None:
    from tests.trader.execution.paper_setup import ManualClock

    clock = ManualClock()
    venue = paper(tmp_path / "venue.db", clock)
    venue.on_book(btc_book())
    run(venue.submit(order("o1", amount="0.1")))
    later = clock.advance(1_000)
    run(venue.submit(order("o2", amount="0.1")))
    assert [f.client_order_id for f in run(venue.fills(since=later))] == ["o2"]


def test_every_call_waits_the_configured_latency(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db", latency_s=0.05)
    venue.on_book(btc_book())
    started = time.monotonic()
    run(venue.submit(order("o1", amount="0.1")))
    assert time.monotonic() - started >= 0.05


def test_an_unreachable_store_is_reported_as_executor_unavailable(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.close()
    with pytest.raises(ExecutorUnavailable):
        run(venue.order("o1"))
