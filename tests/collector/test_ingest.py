"""Feed callbacks produce events and health statuses; per-venue hooks apply."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from cryptofeed.types import OrderBook, Ticker

from collector.dispatch import Dispatcher
from collector.ingest import FeedIngest, ReceiveClock
from collector.venues import VENUES
from shared.events import BookTop, Channel, Event, Status, StatusKind
from shared.events import Ticker as TickerEvent

ALL = (Channel.TICKER, Channel.TRADE, Channel.BOOK)


def make(venue: str, channels: tuple[Channel, ...] = ALL) -> tuple[FeedIngest, list[Event]]:
    dispatcher = Dispatcher()
    events: list[Event] = []
    dispatcher.attach(events.append)
    return FeedIngest(VENUES[venue], channels, 5, dispatcher, ReceiveClock()), events


def bybit_book(u: int, kind: str, bid: str = "100", ask: str = "101", bid_size: str = "1") -> OrderBook:
    book = OrderBook("BYBIT", "BTC-USDT", bids={D(bid): D(bid_size)}, asks={D(ask): D("2")})
    book.raw = {"topic": "orderbook.200.BTCUSDT", "type": kind, "data": {"s": "BTCUSDT", "u": u}}
    book.delta = None if kind == "snapshot" else {"bid": [(D(bid), D(bid_size))], "ask": []}
    return book


def test_receive_clock_never_goes_backwards() -> None:
    readings = iter([10.0, 9.0, 11.0])
    clock = ReceiveClock(wall=lambda: next(readings))
    stamps = [clock.stamp(), clock.stamp(), clock.stamp()]
    assert stamps == sorted(stamps)
    assert stamps[1] == stamps[0]
    assert clock.stamp(5.0) == stamps[2]


def test_binance_ticker_reads_sizes_from_the_raw_frame() -> None:
    ingest, events = make("binance")
    obj = Ticker("BINANCE", "BTC-USDT", D("1"), D("2"), None, raw={"B": "0.5", "A": "0.75"})
    asyncio.run(ingest.on_ticker(obj, 1.0))
    (event,) = events
    assert isinstance(event, TickerEvent) and (event.bid_size, event.ask_size) == (0.5, 0.75)
    assert ingest.counts["ticker"] == 1


def test_bybit_tickers_are_derived_from_the_book_top_only_when_it_changes() -> None:
    ingest, events = make("bybit")

    async def feed() -> None:
        await ingest.on_book(bybit_book(1, "snapshot"), 1.0)
        await ingest.on_book(bybit_book(2, "delta"), 1.1)  # same top: no new ticker
        await ingest.on_book(bybit_book(3, "delta", bid_size="3"), 1.2)

    asyncio.run(feed())
    tickers = [e for e in events if isinstance(e, TickerEvent)]
    books = [e for e in events if isinstance(e, BookTop)]
    assert len(books) == 3
    assert [(t.bid, t.bid_size, t.ask, t.ask_size) for t in tickers] == [(100.0, 1.0, 101.0, 2.0), (100.0, 3.0, 101.0, 2.0)]


def test_bybit_ticker_only_subscription_emits_no_book_events() -> None:
    ingest, events = make("bybit", (Channel.TICKER,))
    asyncio.run(ingest.on_book(bybit_book(1, "snapshot"), 1.0))
    assert [type(e) for e in events] == [TickerEvent]


def test_bybit_book_gap_emits_gap_status_forces_resubscribe_and_drops_the_update() -> None:
    ingest, events = make("bybit")
    reasons: list[str] = []
    ingest.force_resubscribe = reasons.append

    async def feed() -> None:
        await ingest.on_book(bybit_book(10, "snapshot"), 1.0)
        await ingest.on_book(bybit_book(11, "delta"), 1.1)
        await ingest.on_book(bybit_book(13, "delta"), 1.2)  # 12 is missing
        await ingest.on_book(bybit_book(500, "snapshot"), 1.3)  # after resubscribing

    asyncio.run(feed())
    statuses = [e for e in events if isinstance(e, Status)]
    assert [s.kind for s in statuses] == [StatusKind.GAP, StatusKind.RESYNC]
    assert statuses[0].symbol == "BTC-USDT" and "13 after 11" in statuses[0].detail
    assert reasons == ["book gap on BTC-USDT"]
    assert [e.sequence for e in events if isinstance(e, BookTop)] == [None, None, None]
    assert len([e for e in events if isinstance(e, BookTop)]) == 3


def test_second_rest_snapshot_of_a_symbol_is_reported_as_resync() -> None:
    ingest, events = make("binance")
    ingest.snapshot_fetched("BTC-USDT")
    ingest.snapshot_fetched("ETH-USDT")
    assert events == []
    ingest.snapshot_fetched("BTC-USDT")
    (status,) = events
    assert isinstance(status, Status) and status.kind is StatusKind.RESYNC and status.symbol == "BTC-USDT"
