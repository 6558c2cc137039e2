"""cryptofeed's parsed objects become spreadlake events with float64 values and int64 ns timestamps."""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal as D

from cryptofeed.types import OrderBook, Ticker, Trade

from collector import normalize
from collector.booktop import read_side
from collector.dispatch import Dispatcher
from collector.ingest import FeedIngest, ReceiveClock
from collector.venues import VENUES
from shared.events import BookTop, Channel, Event, Side

RECV = 1_700_000_000_123_456_789


def test_ticker_carries_sizes_and_exchange_timestamp_in_ns() -> None:
    obj = Ticker("BINANCE", "BTC-USDT", D("64999.5"), D("65000.25"), 1_700_000_000.5, raw=None)
    event = normalize.ticker("binance", "BTC-USDT", obj, RECV, (1.5, 2.25))
    assert (event.exchange, event.symbol, event.bid, event.ask) == ("binance", "BTC-USDT", 64999.5, 65000.25)
    assert (event.bid_size, event.ask_size) == (1.5, 2.25)
    assert event.ts_event == 1_700_000_000_500_000_000
    assert event.ts_recv == RECV


def test_ticker_without_exchange_time_or_sizes_falls_back_to_receive_time_and_nan() -> None:
    event = normalize.ticker("gateio", "ETH-BTC", Ticker("GATEIO", "ETH-BTC", D("0.049"), D("0.0491"), None, raw=None), RECV, None)
    assert event.ts_event == RECV
    assert math.isnan(event.bid_size) and math.isnan(event.ask_size)


def test_trade_keeps_id_side_price_amount() -> None:
    obj = Trade("KUCOIN", "ETH-USDT", "sell", D("0.25"), D("3200.5"), 1_700_000_001.0, id="abc-1")
    event = normalize.trade("kucoin", "ETH-USDT", obj, RECV)
    assert (event.trade_id, event.side, event.price, event.amount) == ("abc-1", Side.SELL, 3200.5, 0.25)
    assert event.ts_event == 1_700_000_001_000_000_000


def test_book_top_keeps_best_levels_in_order_and_limits_depth() -> None:
    bids = {D(str(100 - i)): D("1") for i in range(30)}
    asks = {D(str(101 + i)): D(str(i + 1)) for i in range(30)}
    obj = OrderBook("BINANCE", "BTC-USDT", bids=bids, asks=asks)
    obj.sequence_number = 42
    events: list[Event] = []
    dispatcher = Dispatcher()
    dispatcher.attach(events.append)
    ingest = FeedIngest(VENUES["binance"], (Channel.BOOK,), 10, dispatcher, ReceiveClock())
    asyncio.run(ingest.on_book(obj, 1_700_000_000.0))
    (event,) = events
    assert isinstance(event, BookTop)
    assert len(event.bids) == len(event.asks) == 10
    assert event.bids[0] == (100.0, 1.0) and event.bids[-1] == (91.0, 1.0)
    assert event.asks[0] == (101.0, 1.0) and event.asks[-1] == (110.0, 10.0)
    assert event.sequence == 42 and event.ts_event == event.ts_recv == 1_700_000_000 * 1_000_000_000
    assert not event.crossed


def test_book_side_of_a_thin_book_has_fewer_levels_and_is_complete() -> None:
    obj = OrderBook("BYBIT", "BTC-USDT", bids={D("1"): D("1")}, asks={})
    bids, asks = read_side(obj.book.bids, 10, 10, True), read_side(obj.book.asks, 10, 10, False)
    assert bids.levels == ((1.0, 1.0),) and asks.levels == ()
    assert bids.complete_to is None


def test_exchange_timestamps_in_milliseconds_or_finer_are_recognised() -> None:
    seconds = 1_786_310_817.25  # float seconds carry ~0.2 us of precision at this date
    assert abs(normalize.to_ns(seconds, RECV) - 1_786_310_817_250_000_000) < 1_000
    assert normalize.to_ns(1_786_310_817_250, RECV) == 1_786_310_817_250_000_000  # Bybit's ms
    assert normalize.to_ns(1_786_310_817_250_000, RECV) == 1_786_310_817_250_000_000
    assert normalize.to_ns(1_786_310_817_250_000_000, RECV) == 1_786_310_817_250_000_000
    assert normalize.to_ns(None, RECV) == RECV
