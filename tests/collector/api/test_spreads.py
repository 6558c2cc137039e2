"""Live spreads from the latest books: the numbers are worked out here by hand and must match to the last bits."""

from __future__ import annotations

import pytest

from collector.api.models import SpreadRow
from collector.api.spreads import cross_spreads
from collector.latest import Received
from shared.events import BookTop

MS = 1_000_000
FEES = {"binance": 7.5, "bybit": 10.0}


def book(exchange: str, bids: tuple[tuple[float, float], ...], asks: tuple[tuple[float, float], ...], received_ns: int = 0) -> Received[BookTop]:
    return BookTop(exchange, "BTC-USDT", None, 1, bids, asks), received_ns


BOOKS = {
    "binance": book("binance", ((99.0, 1.0),), ((100.0, 1.0), (101.0, 2.0))),
    "bybit": book("bybit", ((102.0, 0.5), (101.5, 1.0)), ((103.0, 1.0),), received_ns=-4 * MS),
}


def spreads(size: float | None, books: dict[str, Received[BookTop]] = BOOKS, stale_after_ms: float = 5.0) -> dict[tuple[str, str], SpreadRow]:
    rows = cross_spreads("BTC-USDT", books, size, FEES.__getitem__, now_ns=2 * MS, stale_after_ms=stale_after_ms)
    return {(row.buy_exchange, row.sell_exchange): row for row in rows}


def test_top_of_book_edges_with_and_without_fees_for_every_ordered_pair() -> None:
    rows = spreads(None)
    assert list(rows) == [("binance", "bybit"), ("bybit", "binance")]
    there = rows[("binance", "bybit")].top
    assert (there.buy_price, there.sell_price) == (100.0, 102.0)
    assert there.gross_bps == pytest.approx(200.0, rel=1e-12)
    # Buy 1 at 100 paying 7.5 bps (of the base), sell the 0.99925 left at 102 paying 10 bps (of the quote).
    assert there.net_bps == pytest.approx((0.99925 * 102 * 0.999 / 100 - 1) * 10_000, rel=1e-12)
    back = rows[("bybit", "binance")].top
    assert back.gross_bps == pytest.approx((99 / 103 - 1) * 10_000, rel=1e-12)
    assert back.net_bps is not None and back.gross_bps is not None and back.net_bps < back.gross_bps


def test_depth_walked_edges_take_each_book_level_by_level_for_the_size() -> None:
    row = spreads(1.2)[("binance", "bybit")]
    depth = row.depth
    bought = 100.0 * 1.0 + 101.0 * 0.2  # 120.2 quote for 1.2 base
    sold = 102.0 * 0.5 + 101.5 * 0.7  # 122.05 quote for 1.2 base
    assert depth.buy_price == pytest.approx(bought / 1.2, rel=1e-12) and depth.sell_price == pytest.approx(sold / 1.2, rel=1e-12)
    assert depth.gross_bps == pytest.approx((sold / bought - 1) * 10_000, rel=1e-12)
    sold_net = (102.0 * 0.5 + 101.5 * (1.2 * 0.99925 - 0.5)) * 0.999  # what the buy yields after its fee, sold, less the sell fee
    assert depth.net_bps == pytest.approx((sold_net / bought - 1) * 10_000, rel=1e-12)
    assert depth.reason is None and row.size == 1.2 and (row.buy_fee_bps, row.sell_fee_bps) == (7.5, 10.0)


def test_a_size_beyond_a_book_or_no_size_gives_null_depth_values_with_the_reason() -> None:
    rows = spreads(2.0)
    thin = rows[("binance", "bybit")].depth
    assert (thin.buy_price, thin.sell_price, thin.gross_bps, thin.net_bps) == (None, None, None, None)
    assert thin.reason == "size 2 is beyond the book: bybit bids hold 1.5 in 2 levels"
    assert rows[("binance", "bybit")].top.gross_bps is not None
    assert rows[("bybit", "binance")].depth.reason == "size 2 is beyond the book: bybit asks hold 1 in 1 levels"
    unsized = spreads(None)[("binance", "bybit")].depth
    assert unsized.gross_bps is None and unsized.reason is not None and "size" in unsized.reason


def test_an_empty_side_gives_null_top_values_with_the_reason() -> None:
    books = {**BOOKS, "bybit": book("bybit", (), ((103.0, 1.0),))}
    row = spreads(1.0, books)[("binance", "bybit")]
    assert row.top.gross_bps is None and row.top.reason == "bybit has no bids"
    assert row.depth.net_bps is None and row.depth.reason == "bybit has no bids"


def test_ages_come_from_local_arrival_and_a_pair_with_an_old_book_is_stale() -> None:
    row = spreads(None, stale_after_ms=5.0)[("binance", "bybit")]
    assert (row.buy_book_age_ms, row.sell_book_age_ms) == (2.0, 6.0)
    assert row.stale
    assert not spreads(None, stale_after_ms=6.0)[("binance", "bybit")].stale
