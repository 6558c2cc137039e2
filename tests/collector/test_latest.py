"""The latest market state the REST API reads: newest ticker and book per venue and symbol, stamped with local arrival."""

from __future__ import annotations

from collector.dispatch import Dispatcher
from collector.latest import LatestMarket
from shared.events import BookTop, Side, Status, StatusKind, Ticker, Trade


def test_the_newest_ticker_and_book_per_venue_and_symbol_are_kept_with_the_local_time_they_arrived() -> None:
    now = [1_000]
    market = LatestMarket(clock=lambda: now[0])
    dispatcher = Dispatcher()
    dispatcher.attach(market)
    dispatcher.publish(Ticker("binance", "BTC-USDT", None, 5, 100.0, 1.0, 101.0, 1.0))
    now[0] = 2_000
    dispatcher.publish(Ticker("binance", "BTC-USDT", 3, 6, 100.5, 1.0, 101.5, 1.0))
    dispatcher.publish(Ticker("bybit", "BTC-USDT", None, 7, 99.0, None, 100.0, None))
    dispatcher.publish(BookTop("bybit", "ETH-USDT", None, 8, ((10.0, 1.0),), ((11.0, 1.0),)))
    now[0] = 3_000
    dispatcher.publish(BookTop("kucoin", "ETH-USDT", None, 1, ((10.5, 1.0),), ((11.5, 1.0),)))
    dispatcher.publish(Trade("binance", "BTC-USDT", None, 9, "1", Side.BUY, 100.0, 1.0))
    dispatcher.publish(Status("binance", None, 10, 10, StatusKind.GAP))

    assert dispatcher.consumer_errors == 0
    assert set(market.tickers) == {("binance", "BTC-USDT"), ("bybit", "BTC-USDT")}
    newest, received_ns = market.tickers[("binance", "BTC-USDT")]
    assert newest.bid == 100.5 and received_ns == 2_000  # the local clock, not ts_recv
    assert set(market.books) == {("bybit", "ETH-USDT"), ("kucoin", "ETH-USDT")}
    books = market.books_of("ETH-USDT")
    assert {venue: received_ns for venue, (_, received_ns) in books.items()} == {"bybit": 2_000, "kucoin": 3_000}
    assert market.books_of("BTC-USDT") == {}
