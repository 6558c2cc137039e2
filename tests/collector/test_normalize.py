"""cryptofeed's parsed objects become spreadlake events with float64 values and int64 ns timestamps."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

from cryptofeed.types import OrderBook, Ticker, Trade

from collector import normalize
from collector.booktop import read_side
from collector.dispatch import Dispatcher
from collector.ingest import FeedIngest, ReceiveClock
from collector.venues import VENUES
from shared.events import BookTop, Channel, Event, Side, decode_json, encode_json

RECV = 1_700_000_000_123_456_789


def test_ticker_carries_sizes_and_exchange_timestamp_in_ns() -> None:
    obj = Ticker("BINANCE", "BTC-USDT", D("64999.5"), D("65000.25"), 1_700_000_000.5, raw=None)
    event = normalize.ticker("binance", "BTC-USDT", obj, RECV, (1.5, 2.25))
    assert (event.exchange, event.symbol, event.bid, event.ask) == ("binance", "BTC-USDT", 64999.5, 65000.25)
    assert (event.bid_size, event.ask_size) == (1.5, 2.25)
    assert event.ts_event == 1_700_000_000_500_000_000
    assert event.ts_recv == RECV


def test_ticker_without_exchange_time_or_sizes_leaves_them_unknown_and_encodes_null() -> None:
    event = normalize.ticker("gateio", "ETH-BTC", Ticker("GATEIO", "ETH-BTC", D("0.049"), D("0.0491"), None, raw=None), RECV, None)
    assert event.ts_event is None
    assert event.bid_size is None and event.ask_size is None
    wire = encode_json(event)
    assert b'"ts_event":null' in wire and b'"bid_size":null' in wire and b"NaN" not in wire
    assert decode_json(wire) == event


def test_trade_without_an_exchange_id_has_no_id_rather_than_the_text_none() -> None:
    obj = Trade("BITHUMB", "BTC-KRW", "buy", D("0.5"), D("1"), 1_700_000_001.0, id=None)
    event = normalize.trade("bithumb", "BTC-KRW", obj, RECV)
    assert event.trade_id is None
    assert b'"trade_id":null' in encode_json(event)


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
    assert event.sequence == 42 and event.ts_event is None and event.ts_recv == 1_700_000_000 * 1_000_000_000
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


def test_float_seconds_give_exactly_the_nanoseconds_they_print_as() -> None:
    # int(stamp * 1e9) gives 1626916403871000064 for the first (a Binance ms stamp / 1000).
    assert normalize.to_ns(1_626_916_403.871, RECV) == 1_626_916_403_871_000_000
    assert normalize.to_ns(1_634_000_000.123456, RECV) == 1_634_000_000_123_456_000
    assert normalize.to_ns(1_639_350_330.137145, RECV) == 1_639_350_330_137_145_000
    assert normalize.to_ns(1_639_350_330.1371453, RECV) == 1_639_350_330_137_145_300  # finer than a microsecond
    assert normalize.to_ns(1_786_310_817_250.5, RECV) == 1_786_310_817_250_500_000  # float milliseconds
    assert normalize.to_ns(1.634000000123456e18, RECV) == 1_634_000_000_123_456_000  # float nanoseconds


def test_datetime_stamps_convert_exactly_and_a_naive_one_is_utc() -> None:
    aware = datetime(2021, 12, 12, 23, 5, 30, 137145, tzinfo=UTC)
    assert normalize.to_ns(aware, RECV) == 1_639_350_330_137_145_000
    assert normalize.to_ns(aware.replace(tzinfo=None), RECV) == 1_639_350_330_137_145_000
    tokyo = aware.astimezone(timezone(timedelta(hours=9)))
    assert normalize.to_ns(tokyo, RECV) == 1_639_350_330_137_145_000


def test_decimal_and_int_stamps_keep_every_digit_and_unusable_ones_fall_back() -> None:
    assert normalize.to_ns(D("1634000000.123456789"), RECV) == 1_634_000_000_123_456_789
    assert normalize.to_ns(D("1786310817250.5"), RECV) == 1_786_310_817_250_500_000  # milliseconds
    assert normalize.to_ns(1_634_000_000, RECV) == 1_634_000_000_000_000_000
    for unusable in (None, math.nan, math.inf, -math.inf, D("NaN")):
        assert normalize.to_ns(unusable, RECV) == RECV
