"""The pricing math on hand-built books, with hand-computed results (Decimals where exactness matters)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.events import Side
from shared.pricing import (
    PathLeg,
    cross_venue_edge,
    cross_venue_edge_bps,
    cross_venue_rate,
    depth,
    edge_bps,
    path_edge,
    path_rate,
    size_up_to,
    vwap,
    walk,
    walk_quote,
)

ASKS = ((100.0, 1.0), (101.0, 2.0), (102.0, 3.0))
BIDS = ((99.0, 1.0), (98.0, 2.0))


def test_walk_takes_levels_best_first_and_reports_cost_vwap_and_worst_price() -> None:
    taken = walk(ASKS, 2.0)
    assert taken is not None
    assert (taken.amount, taken.cost, taken.worst, taken.vwap) == (2.0, 201.0, 101.0, 100.5)


def test_walk_in_decimals_is_exact() -> None:
    asks = ((D("100.5"), D("0.3")), (D("100.7"), D("0.5")))
    taken = walk(asks, D("0.6"))
    assert taken is not None
    assert taken.cost == D("60.36")  # 0.3 * 100.5 + 0.3 * 100.7
    assert taken.vwap == D("100.6")
    assert taken.worst == D("100.7")


def test_walk_past_the_depth_or_for_nothing_gives_none() -> None:
    assert walk(ASKS, 6.5) is None
    assert walk(ASKS, 0.0) is None
    assert walk((), 1.0) is None


def test_vwap_of_a_size() -> None:
    assert vwap(ASKS, 3.0) == pytest.approx((100 + 2 * 101) / 3)
    assert vwap(ASKS, 100.0) is None


def test_walk_quote_spends_exactly_the_budget() -> None:
    taken = walk_quote(((D(100), D(1)), (D(101), D(2))), D("150.5"))
    assert taken is not None
    assert taken.amount == D("1.5")  # 1 at 100, then 50.5 / 101 = 0.5
    assert taken.cost == D("150.5")
    assert taken.worst == D(101)
    assert walk_quote(((D(100), D(1)),), D(101)) is None


def test_depth_is_the_whole_side() -> None:
    whole = depth(ASKS)
    assert whole is not None
    assert (whole.amount, whole.cost, whole.worst) == (6.0, 100 + 202 + 306, 102.0)
    assert depth(()) is None


def test_depth_up_to_a_size_stops_at_the_level_that_covers_it() -> None:
    covered = depth(ASKS, up_to=2.5)
    assert covered is not None
    assert (covered.amount, covered.cost, covered.worst) == (3.0, 100 + 202, 101.0)
    short = depth(ASKS, up_to=7.0)  # the side holds less: all of it
    assert short is not None and (short.amount, short.worst) == (6.0, 102.0)


def test_size_up_to_a_limit_price_on_each_side() -> None:
    assert size_up_to(ASKS, 101.0, Side.BUY) == 3.0
    assert size_up_to(ASKS, 99.0, Side.BUY) == 0.0
    assert size_up_to(BIDS, 98.5, Side.SELL) == 1.0
    assert size_up_to(BIDS, 98.0, Side.SELL) == 3.0


def test_edge_bps_of_what_comes_back() -> None:
    assert edge_bps(D(1000), D(1003)) == D(30)
    assert edge_bps(D(1000), D(998)) == D(-20)


def test_cross_venue_edge_takes_both_fees() -> None:
    # 100.5 * 0.999 * 0.999 / 100 = 100.5 * 0.998001 / 100 = 1.002991005
    assert cross_venue_rate(D(100), D("100.5"), D("0.001"), D("0.001")) == D("1.002991005")
    assert cross_venue_edge_bps(D(100), D("100.5"), D("0.001"), D("0.001")) == D("29.91005")


def test_cross_venue_edge_when_fees_eat_a_gross_edge() -> None:
    # 15 bps apart gross, 20 bps of fees: 100.15 * 0.998001 / 100 = 0.9994980015
    assert cross_venue_edge_bps(D(100), D("100.15"), D("0.001"), D("0.001")) == D("-5.019985")


def test_cross_venue_edge_walks_both_books_and_sells_what_the_buy_yields() -> None:
    asks = ((D(100), D(1)), (D(101), D(2)))
    bids = ((D(102), D(1)), (D("101.5"), D(2)))
    path = cross_venue_edge(asks, bids, D(2), D("0.001"), D("0.001"))
    assert path is not None
    assert path.buy.cost == D(201)
    assert path.sell.amount == D("1.998")  # 2 * (1 - 0.001)
    assert path.sell.cost == D("203.297")  # 102 + 0.998 * 101.5
    assert path.edge_bps == (D("203.093703") / D(201) - 1) * 10_000  # 203.297 * 0.999 back for 201 out
    assert cross_venue_edge(asks, bids, D(4), D("0.001"), D("0.001")) is None


def test_triangular_rate_at_top_of_book() -> None:
    # USDT -> BTC at 50000, BTC -> ETH at 0.05, ETH -> USDT at 2510: 2510 / 2500 * 0.999^3 = 1.004 * 0.997002999
    legs = [(Side.BUY, D(50000), D("0.001")), (Side.BUY, D("0.05"), D("0.001")), (Side.SELL, D(2510), D("0.001"))]
    assert path_rate(legs) == D("1.000991010996")


def test_triangular_path_carries_each_legs_yield_after_fees() -> None:
    legs = [
        PathLeg(((D(40000), D("0.01")), (D(50000), D(1))), Side.BUY, D("0.001")),  # BTC-USDT asks
        PathLeg(((D("0.05"), D("0.2")), (D("0.0625"), D(10))), Side.BUY, D("0.001")),  # ETH-BTC asks
        PathLeg(((D(2500), D("0.3")), (D(2400), D(5))), Side.SELL, D("0.001")),  # ETH-USDT bids
    ]
    quote = path_edge(legs, D(1000))
    assert quote is not None
    # 400 USDT buys 0.01 BTC, 600 buys 0.012 more: 0.022 BTC, 0.021978 after the fee;
    # 0.01 BTC buys 0.2 ETH, 0.011978 / 0.0625 buys 0.191648 more: 0.391648 ETH, 0.391256352 after the fee;
    # 0.3 ETH at 2500 and 0.091256352 at 2400: 969.0152448 USDT, 968.0462295552 after the fee.
    assert quote.amounts == (D("0.021978"), D("0.391256352"), D("968.0462295552"))
    assert quote.edge_bps == D("-319.537704448")


def test_path_through_too_thin_a_book_gives_none() -> None:
    legs = [PathLeg(((D(100), D(1)),), Side.BUY, D(0))]
    assert path_edge(legs, D(101)) is None
