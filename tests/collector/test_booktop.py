"""Top levels patched from each update's changes always equal a fresh read of the whole book."""

from __future__ import annotations

import random
from decimal import Decimal as D

import pytest
from order_book import OrderBook

from collector.booktop import SideTop, apply_changes, read_side


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_patched_top_levels_equal_a_full_read_after_every_update(seed: int) -> None:
    rng = random.Random(seed)
    book = OrderBook()
    for i in range(40):
        book.bids[D(100 - i)] = D(1)
        book.asks[D(101 + i)] = D(1)
    depth, keep = 5, 10
    bids, asks = read_side(book.bids, depth, keep, True), read_side(book.asks, depth, keep, False)
    for _ in range(3000):
        changes: dict[str, list[tuple[D, D]]] = {"bid": [], "ask": []}
        for _ in range(rng.randint(1, 4)):
            side = rng.choice(("bid", "ask"))
            offset = rng.choice((rng.randint(0, 8), rng.randint(0, 60)))
            price = D(100 - offset) if side == "bid" else D(101 + offset)
            size = D(0) if rng.random() < 0.45 else D(rng.randint(1, 9))
            levels = book.bids if side == "bid" else book.asks
            if size == 0:
                if price in levels:
                    del levels[price]
            else:
                levels[price] = size
            changes[side].append((price, size))
        new_bids = apply_changes(bids, changes["bid"], True, depth, keep, book.bids)
        new_asks = apply_changes(asks, changes["ask"], False, depth, keep, book.asks)
        bids, asks = new_bids, new_asks
        assert bids.top == read_side(book.bids, depth, keep, True).top == bids.levels[:depth]
        assert asks.top == read_side(book.asks, depth, keep, False).top == asks.levels[:depth]


def test_changes_beyond_the_known_levels_leave_the_side_untouched() -> None:
    book = OrderBook()
    for i in range(30):
        book.bids[D(100 - i)] = D(1)
    side = read_side(book.bids, 5, 10, True)
    assert side.complete_to == 91.0
    assert apply_changes(side, [(D(80), D(5))], True, 5, 10, book.bids) is side


def test_a_short_side_is_complete_and_accepts_any_change() -> None:
    side = SideTop(((100.0, 1.0),), (-100.0,), None, ((100.0, 1.0),))
    after = apply_changes(side, [("90", "2")], True, 5, 10, OrderBook().bids)
    assert after.levels == ((100.0, 1.0), (90.0, 2.0)) and after.complete_to is None
