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
    assert [e.sequence for e in events if isinstance(e, BookTop)] == [10, 11, 500]
    assert len([e for e in events if isinstance(e, BookTop)]) == 3


def test_second_rest_snapshot_of_a_symbol_is_reported_as_resync() -> None:
    ingest, events = make("binance")
    ingest.snapshot_fetched("BTC-USDT")
    ingest.snapshot_fetched("ETH-USDT")
    assert events == []
    ingest.snapshot_fetched("BTC-USDT")
    (status,) = events
    assert isinstance(status, Status) and status.kind is StatusKind.RESYNC and status.symbol == "BTC-USDT"


def test_bybit_deltas_after_a_gap_publish_no_book_or_ticker_until_the_next_snapshot() -> None:
    """Before the fix the continuity check forgot the previous id on a gap and took every later delta as continuous."""
    ingest, events = make("bybit")

    async def feed() -> None:
        await ingest.on_book(bybit_book(10, "snapshot"), 1.0)
        await ingest.on_book(bybit_book(12, "delta", bid="99"), 1.1)  # 11 is missing: the book is broken
        await ingest.on_book(bybit_book(13, "delta", bid="98"), 1.2)
        await ingest.on_book(bybit_book(14, "delta", bid="97"), 1.3)
        assert ingest.unsynchronized == {"BTC-USDT"}
        await ingest.on_book(bybit_book(900, "snapshot", bid="96"), 1.4)
        await ingest.on_book(bybit_book(901, "delta", bid="95.5"), 1.5)

    asyncio.run(feed())
    kinds = [(type(e).__name__, getattr(e, "kind", None)) for e in events]
    assert kinds == [("BookTop", None), ("Ticker", None), ("Status", StatusKind.GAP), ("Status", StatusKind.RESYNC),
                     ("BookTop", None), ("Ticker", None), ("BookTop", None)]
    published_bids = [e.bids[0][0] for e in events if isinstance(e, BookTop)]
    assert published_bids == [100.0, 96.0, 96.0]  # 95.5 joined below the best bid of the fresh book
    assert not ingest.unsynchronized


def test_venue_wide_gap_withholds_every_book_until_each_is_rebuilt_from_a_full_book() -> None:
    ingest, events = make("binance")

    def book(symbol: str, bid: str, delta: bool) -> OrderBook:
        obj = OrderBook("BINANCE", symbol, bids={D(bid): D("1")}, asks={D("200"): D("1")})
        obj.delta = {"bid": [(D(bid), D("1"))], "ask": []} if delta else None
        return obj

    async def feed() -> None:
        await ingest.on_book(book("BTC-USDT", "100", False), 1.0)
        await ingest.on_book(book("ETH-USDT", "10", False), 1.0)
        ingest.gap(None, "every book reset")
        await ingest.on_book(book("BTC-USDT", "101", True), 1.1)  # withheld
        await ingest.on_book(book("ETH-USDT", "11", False), 1.2)  # a full book: ETH-USDT is synchronized
        await ingest.on_book(book("BTC-USDT", "102", True), 1.3)  # still withheld
        ingest.snapshot_fetched("ETH-USDT")  # the REST snapshot that carried it: no second resync
        await ingest.on_book(book("BTC-USDT", "103", False), 1.4)

    asyncio.run(feed())
    summary = [(e.kind.value, e.symbol) if isinstance(e, Status) else (e.symbol, e.bids[0][0]) for e in events if not isinstance(e, TickerEvent)]
    assert summary == [("BTC-USDT", 100.0), ("ETH-USDT", 10.0), ("gap", None), ("resync", "ETH-USDT"), ("ETH-USDT", 11.0),
                       ("resync", "BTC-USDT"), ("BTC-USDT", 103.0)]
