"""The simulator and the collector end to end: all four venues, all three channels, through
cryptofeed's real feed classes, with reconnection after dropped connections and resync after gaps."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from collector.service import CollectorService
from shared.events import BookTop, Event, Status, StatusKind, Ticker, Trade, channel_of
from shared.settings import Settings, settings_from_mapping
from shared.symbols import is_normalized
from sim.runner import SimulatorThread
from tests.e2e.market import VENUES, market_config

CHANNELS = ("ticker", "trade", "book")


def run_collector(settings: Settings, done: Callable[[list[Event]], bool], timeout_s: float) -> list[Event]:
    """Run the collector until `done(events)` or the timeout; return every dispatched event."""
    events: list[Event] = []

    async def main() -> None:
        service = CollectorService(settings)
        service.dispatcher.attach(events.append)
        stop = asyncio.Event()
        runner = asyncio.create_task(service.run(stop))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline and not done(events) and not runner.done():
            await asyncio.sleep(0.2)
        stop.set()
        await runner

    asyncio.run(main())
    return events


def per_venue_channel(events: list[Event]) -> Counter[tuple[str, str]]:
    return Counter((e.exchange, channel_of(e).value) for e in events)


def statuses(events: list[Event], kind: StatusKind) -> Counter[str]:
    return Counter(e.exchange for e in events if isinstance(e, Status) and e.kind is kind)


def test_all_venues_deliver_all_channels_normalized_and_uncrossed(tmp_path: Path) -> None:
    settings = settings_from_mapping(market_config(tmp_path))

    def enough(events: list[Event]) -> bool:
        counts = per_venue_channel(events)
        return all(counts[(v, c)] >= 20 for v in VENUES for c in CHANNELS)

    with SimulatorThread(settings.sim):
        events = run_collector(settings, enough, timeout_s=45)

    counts = per_venue_channel(events)
    missing = [(v, c, counts[(v, c)]) for v in VENUES for c in CHANNELS if counts[(v, c)] < 20]
    assert not missing, f"too few events: {missing}"
    assert set(statuses(events, StatusKind.CONNECTED)) == set(VENUES)
    symbols = {e.symbol for e in events if not isinstance(e, Status)}
    assert symbols == {"BTC-USDT", "ETH-USDT", "ETH-BTC"}
    assert all(is_normalized(s) for s in symbols)
    books = [e for e in events if isinstance(e, BookTop)]
    assert not [b for b in books if b.crossed], "a book was crossed"
    assert all(len(b.bids) <= 10 and len(b.asks) <= 10 for b in books)
    assert all(b.bids == tuple(sorted(b.bids, reverse=True)) and b.asks == tuple(sorted(b.asks)) for b in books)
    tickers = [e for e in events if isinstance(e, Ticker)]
    assert all(t.bid < t.ask for t in tickers)
    trades = [e for e in events if isinstance(e, Trade)]
    assert all(t.price > 0 and t.amount > 0 for t in trades)
    recv = [e.ts_recv for e in events]
    assert recv == sorted(recv), "receive timestamps went backwards"
    # prices follow one market: every venue's BTC-USDT mid sits within 1% of the others'
    mids: dict[str, list[float]] = defaultdict(list)
    for t in tickers:
        if t.symbol == "BTC-USDT":
            mids[t.exchange].append((t.bid + t.ask) / 2)
    last = [m[-1] for m in mids.values()]
    assert max(last) / min(last) < 1.01


def data_after_first(events: list[Event], venue: str, kind: StatusKind) -> bool:
    """Market data of `venue` arrived after its first status of `kind`."""
    seen = False
    for e in events:
        if isinstance(e, Status):
            seen = seen or (e.exchange == venue and e.kind is kind)
        elif seen and e.exchange == venue:
            return True
    return False


def test_dropped_connections_are_reported_and_reconnected(tmp_path: Path) -> None:
    settings = settings_from_mapping(market_config(tmp_path, faults={"drop_every_s": 3.0}))

    def recovered_everywhere(events: list[Event]) -> bool:
        return all(data_after_first(events, v, StatusKind.DISCONNECTED) for v in VENUES)

    with SimulatorThread(settings.sim):
        events = run_collector(settings, recovered_everywhere, timeout_s=45)

    assert all(statuses(events, StatusKind.DISCONNECTED)[v] >= 1 for v in VENUES), statuses(events, StatusKind.DISCONNECTED)
    assert all(statuses(events, StatusKind.CONNECTED)[v] >= 2 for v in VENUES), statuses(events, StatusKind.CONNECTED)
    assert recovered_everywhere(events), "a venue sent no data after it was reconnected"
    assert not [e for e in events if isinstance(e, BookTop) and e.crossed]


def test_sequence_gaps_are_reported_and_books_resynced(tmp_path: Path) -> None:
    settings = settings_from_mapping(market_config(tmp_path, faults={"skip_sequence_every": 40}))

    def resynced_everywhere(events: list[Event]) -> bool:
        return all(statuses(events, StatusKind.GAP)[v] >= 1 and data_after_first(events, v, StatusKind.RESYNC) for v in VENUES)

    with SimulatorThread(settings.sim):
        events = run_collector(settings, resynced_everywhere, timeout_s=60)

    assert resynced_everywhere(events), (statuses(events, StatusKind.GAP), statuses(events, StatusKind.RESYNC))
    assert not [e for e in events if isinstance(e, BookTop) and e.crossed]


def test_rest_errors_from_the_exchange_are_retried_and_data_still_flows(tmp_path: Path) -> None:
    # A third of REST calls (symbol lists, tokens, book snapshots) answer HTTP 500 with the exchange's error body.
    settings = settings_from_mapping(market_config(tmp_path, faults={"rest_error_rate": 0.3}))

    def books_everywhere(events: list[Event]) -> bool:
        counts = per_venue_channel(events)
        return all(counts[(v, "book")] >= 20 for v in VENUES)

    with SimulatorThread(settings.sim) as sim:
        events = run_collector(settings, books_everywhere, timeout_s=60)
        errors = {venue: stats.rest_errors for venue, stats in sim.stats().items()}

    assert books_everywhere(events), per_venue_channel(events)
    assert sum(errors.values()) > 0, "the fault was not exercised"
    assert not [e for e in events if isinstance(e, BookTop) and e.crossed]


def test_a_stalled_stream_is_dropped_and_reopened(tmp_path: Path) -> None:
    config = market_config(tmp_path, faults={"stall_every_s": 4.0, "stall_s": 6.0}, collector={"stale_timeout_s": 2})
    settings = settings_from_mapping(config)

    def recovered_everywhere(events: list[Event]) -> bool:
        return all(data_after_first(events, v, StatusKind.DISCONNECTED) for v in VENUES)

    with SimulatorThread(settings.sim):
        events = run_collector(settings, recovered_everywhere, timeout_s=60)

    assert recovered_everywhere(events), statuses(events, StatusKind.DISCONNECTED)
    assert all(statuses(events, StatusKind.CONNECTED)[v] >= 2 for v in VENUES)
