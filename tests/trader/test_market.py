"""The market view: freshness, feed status, our own stream's gaps, nonsense data, latency, volatility."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal as D
from itertools import pairwise

import pytest

from shared.events import BookTop, Level, StatusKind, Ticker
from shared.pricing import walk
from tests.trader.market_data import MS, T0, S, book, status, view
from trader import market as market_module
from trader.market import MarketView, MarketViewConfig, Untradeable

GOOD = book("binance", "BTC-USDT", [(100.0, 1.0), (99.9, 2.0)], [(100.1, 1.0), (100.2, 2.0)])


def reason(market: MarketView, venue: str = "binance", symbol: str = "BTC-USDT", now: int = T0) -> Untradeable | None:
    return market.tradability(venue, symbol, now).reason


def test_a_fresh_sane_book_is_tradeable_with_its_age_and_latency() -> None:
    market = view(GOOD)
    assert market.tradeable("binance", "BTC-USDT", T0 + 100 * MS)
    assert market.tradeable_book("binance", "BTC-USDT", T0) is GOOD
    assert market.age_ns("binance", "BTC-USDT", T0 + 100 * MS) == 100 * MS
    assert market.latency_ns("binance", "BTC-USDT") == 5 * MS
    assert market.mid("binance", "BTC-USDT") == pytest.approx(100.05)


def test_nothing_is_tradeable_before_its_first_book() -> None:
    market = view(GOOD)
    assert reason(market, "bybit") is Untradeable.NO_DATA
    assert reason(market, "binance", "ETH-USDT") is Untradeable.NO_DATA


def test_a_book_older_than_the_bound_is_stale_until_a_new_one_arrives() -> None:
    market = view(GOOD, config=MarketViewConfig(max_book_age_ns=2 * S))
    assert reason(market, now=T0 + 2 * S) is None
    state = market.tradability("binance", "BTC-USDT", T0 + 2 * S + 1)
    assert state.reason is Untradeable.STALE and "2.000s old" in state.detail
    assert market.tradeable_book("binance", "BTC-USDT", T0 + 3 * S) is None
    market.on_book(book("binance", "BTC-USDT", GOOD.bids, GOOD.asks, at=T0 + 3 * S))
    assert reason(market, now=T0 + 3 * S) is None


def test_a_venue_wide_disconnect_stops_every_symbol_until_connected_and_fresh_books() -> None:
    eth = book("binance", "ETH-USDT", [(3000.0, 1.0)], [(3000.5, 1.0)])
    market = view(GOOD, eth)
    market.on_status(status("binance", StatusKind.DISCONNECTED))
    assert reason(market) is Untradeable.FEED_DOWN
    assert reason(market, symbol="ETH-USDT") is Untradeable.FEED_DOWN
    assert reason(market, symbol="SOL-USDT") is Untradeable.FEED_DOWN  # not seen yet, still covered
    market.on_status(status("binance", StatusKind.CONNECTED))
    assert reason(market) is Untradeable.AWAITING_DATA  # the book from before the outage does not count
    market.on_book(GOOD)
    assert reason(market) is None
    assert reason(market, symbol="ETH-USDT") is Untradeable.AWAITING_DATA


def test_a_symbol_gap_stops_only_that_symbol_until_resync_and_a_fresh_book() -> None:
    eth = book("binance", "ETH-USDT", [(3000.0, 1.0)], [(3000.5, 1.0)])
    market = view(GOOD, eth)
    market.on_status(status("binance", StatusKind.GAP, "BTC-USDT"))
    assert reason(market) is Untradeable.FEED_DOWN
    assert reason(market, symbol="ETH-USDT") is None
    market.on_book(GOOD)  # a book before the resync is still not to be trusted
    assert reason(market) is Untradeable.FEED_DOWN
    market.on_status(status("binance", StatusKind.RESYNC, "BTC-USDT"))
    assert reason(market) is Untradeable.AWAITING_DATA
    market.on_book(GOOD)
    assert reason(market) is None


def test_a_venue_reconnect_also_clears_a_symbols_gap() -> None:
    market = view(GOOD)
    market.on_status(status("binance", StatusKind.GAP, "BTC-USDT"))
    market.on_status(status("binance", StatusKind.DISCONNECTED))
    market.on_status(status("binance", StatusKind.CONNECTED))
    market.on_book(GOOD)
    assert reason(market) is None


def test_another_venues_status_changes_nothing() -> None:
    market = view(GOOD)
    market.on_status(status("bybit", StatusKind.DISCONNECTED))
    assert reason(market) is None


@pytest.mark.parametrize("lost", [MarketView.stream_gap, MarketView.reconnected])
def test_our_own_stream_losing_frames_or_reconnecting_waits_for_fresh_books(lost: Callable[[MarketView], None]) -> None:
    eth = book("bybit", "ETH-USDT", [(3000.0, 1.0)], [(3000.5, 1.0)])
    market = view(GOOD, eth)
    lost(market)
    assert reason(market) is Untradeable.AWAITING_DATA
    assert reason(market, "bybit", "ETH-USDT") is Untradeable.AWAITING_DATA
    market.on_book(GOOD)
    assert reason(market) is None
    assert reason(market, "bybit", "ETH-USDT") is Untradeable.AWAITING_DATA


@pytest.mark.parametrize(
    ("bids", "asks", "detail"),
    [
        ([(100.0, 1.0)], [], "empty book side"),
        ([], [], "empty book"),
        ([(100.2, 1.0)], [(100.1, 1.0)], "crossed book: best bid 100.2 >= best ask 100.1"),
        ([(100.1, 1.0)], [(100.1, 1.0)], "crossed book"),
        ([(math.nan, 1.0)], [(100.1, 1.0)], "bid price nan is not a positive number"),
        ([(100.0, 1.0)], [(math.inf, 1.0)], "ask price inf is not a positive number"),
        ([(0.0, 1.0)], [(100.1, 1.0)], "bid price 0.0 is not a positive number"),
        ([(100.0, -1.0)], [(100.1, 1.0)], "bid size -1.0 at 100.0 is not a positive number"),
        ([(100.0, math.nan)], [(100.1, 1.0)], "bid size nan"),
        ([(99.0, 1.0), (100.0, 1.0)], [(100.1, 1.0)], "bid levels out of order: 100.0 after 99.0"),
        ([(100.0, 1.0)], [(100.2, 1.0), (100.1, 1.0)], "ask levels out of order"),
    ],
)
def test_a_book_that_makes_no_sense_is_reported_and_untradeable_until_a_sane_one(bids: list[Level], asks: list[Level], detail: str) -> None:
    market = view(GOOD)
    market.on_book(book("binance", "BTC-USDT", bids, asks, at=T0 + MS))
    state = market.tradability("binance", "BTC-USDT", T0 + MS)
    assert state.reason is Untradeable.BAD_DATA and detail in state.detail
    assert market.problem_count == 1
    problem = market.problems()[-1]
    assert (problem.venue, problem.symbol, problem.ts_recv) == ("binance", "BTC-USDT", T0 + MS) and detail in problem.detail
    assert market.book("binance", "BTC-USDT") is GOOD  # the last sane book is kept for display
    market.on_book(book("binance", "BTC-USDT", GOOD.bids, GOOD.asks, at=T0 + 2 * MS))
    assert reason(market, now=T0 + 2 * MS) is None


def test_a_first_book_that_makes_no_sense_is_bad_data_not_missing_data() -> None:
    market = view(book("binance", "BTC-USDT", [(100.2, 1.0)], [(100.1, 1.0)]))
    assert reason(market) is Untradeable.BAD_DATA


def test_latency_is_unknown_when_the_venue_sends_no_timestamp() -> None:
    market = view(GOOD)
    market.on_book(BookTop("binance", "BTC-USDT", None, T0 + MS, GOOD.bids, GOOD.asks))
    assert market.latency_ns("binance", "BTC-USDT") is None


def test_decimal_sides_are_the_printed_prices() -> None:
    market = view(book("binance", "BTC-USDT", [(65000.01, 0.5)], [(65000.02, 0.12345)]))
    bids, asks = market.decimal_sides("binance", "BTC-USDT")
    assert bids == ((D("65000.01"), D("0.5")),) and asks == ((D("65000.02"), D("0.12345")),)
    assert market.decimal_sides("binance", "BTC-USDT") is market.decimal_sides("binance", "BTC-USDT")


def test_decimal_sides_convert_only_the_levels_a_walk_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    asks = [(100.0 + i / 10, 1.0 + i) for i in range(10)]
    market = view(book("binance", "BTC-USDT", [(99.9 - i / 10, 1.0) for i in range(10)], asks))
    converted: list[Level] = []
    real = market_module._decimal
    monkeypatch.setattr(market_module, "_decimal", lambda level: converted.append(level) or real(level))
    _, lazy = market.decimal_sides("binance", "BTC-USDT")
    taken = walk(lazy, D("2.5"))  # 1 + 2 base: the first two levels
    assert taken is not None and taken.worst == D("100.1")
    assert converted == asks[:2]
    # Read in full, it is the side converted at once, by index, slice or iteration.
    expected = tuple((D(repr(p)), D(repr(s))) for p, s in asks)
    assert lazy == expected and tuple(lazy) == expected and lazy[-1] == expected[-1] and lazy[2:4] == expected[2:4]
    assert converted == asks  # each level once
    with pytest.raises(IndexError):
        lazy[10]


def test_prices_for_valuation_come_from_the_direct_or_inverse_symbol() -> None:
    market = view(GOOD, book("binance", "ETH-BTC", [(0.049, 1.0)], [(0.051, 1.0)]))
    assert market.price("BTC", "USDT") == pytest.approx(100.05)
    assert market.price("BTC", "ETH") == pytest.approx(1 / 0.05)
    assert market.price("USDT", "USDT") == 1.0
    assert market.price("SOL", "USDT") is None


def test_realized_volatility_of_sampled_mids_over_the_window() -> None:
    config = MarketViewConfig(volatility_window_ns=10 * S, volatility_sample_ns=S)
    market = MarketView(config)
    for i, mid in enumerate([100.0, 101.0, 100.0]):
        market.on_book(book("binance", "BTC-USDT", [(mid - 0.5, 1.0)], [(mid + 0.5, 1.0)], at=T0 + i * S))
    market.on_book(book("binance", "BTC-USDT", [(149.5, 1.0)], [(150.5, 1.0)], at=T0 + 2 * S + 1))  # under the sample interval
    expected = math.sqrt(2 * math.log(1.01) ** 2) * 10_000
    assert market.volatility_bps("BTC-USDT", T0 + 2 * S) == pytest.approx(expected)
    # Another venue's variance averages in: a flat venue halves the variance.
    for i in range(3):
        market.on_book(book("bybit", "BTC-USDT", [(99.5, 1.0)], [(100.5, 1.0)], at=T0 + i * S))
    assert market.volatility_bps("BTC-USDT", T0 + 2 * S) == pytest.approx(expected / math.sqrt(2))
    # Samples age out of the window.
    assert market.volatility_bps("BTC-USDT", T0 + 12 * S) is None
    assert market.volatility_bps("ETH-USDT", T0) is None


def test_volatility_kept_as_samples_come_and_go_equals_the_window_recomputed() -> None:
    config = MarketViewConfig(volatility_window_ns=10 * S, volatility_sample_ns=S)
    market = MarketView(config)
    mids = [100.0 * math.exp(0.003 * math.sin(i * 1.7) + (0.02 if i == 7 else 0.0)) for i in range(60)]  # one jump that leaves
    for i, mid in enumerate(mids):
        market.on_book(book("binance", "BTC-USDT", [(mid - 0.01, 1.0)], [(mid + 0.01, 1.0)], at=T0 + i * S))
        # The window at T0 + i s holds the samples of the last 10 s: i-10 .. i.
        window = [math.log(m) for m in mids[max(0, i - 10): i + 1]]
        reading = market.volatility_bps("BTC-USDT", T0 + i * S)
        if i == 0:
            assert reading is None
        else:
            assert reading == pytest.approx(math.sqrt(sum((b - a) ** 2 for a, b in pairwise(window))) * 10_000, rel=1e-9)


def test_tickers_are_kept_and_trades_change_nothing() -> None:
    market = MarketView()
    ticker = Ticker("binance", "BTC-USDT", T0, T0, 100.0, 1.0, 100.1, 1.0)
    market.on_event(ticker)
    market.on_event(GOOD)
    market.on_event(status("binance", StatusKind.DISCONNECTED))
    assert market.ticker("binance", "BTC-USDT") is ticker
    assert reason(market) is Untradeable.FEED_DOWN
    assert sorted(market.keys()) == [("binance", "BTC-USDT")]


def test_a_connected_status_that_follows_no_outage_leaves_the_books_alone() -> None:
    # The snapshot after subscribing can deliver a venue's latest status, "connected", after its books.
    market = view(GOOD)
    market.on_status(status("binance", StatusKind.CONNECTED))
    assert reason(market) is None
