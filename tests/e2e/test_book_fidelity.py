"""The books the collector publishes are the simulator's own books: on every venue, each published
top-N equals the simulator's book at the same update id, also across dropped connections, stalls
and skipped sequence numbers (after which nothing is published until the book is synchronized)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from shared.events import BookTop, Event, Status, StatusKind, Ticker
from shared.settings import settings_from_mapping
from sim.model_events import BookDelta, BookSide, BookSnapshot, MarketEvent
from sim.runner import SimulatorThread
from tests.e2e.market import VENUES, market_config
from tests.e2e.test_sim_collector import run_collector

DEPTH = 10  # collector.book_depth in the demo config
Levels = tuple[tuple[int, int], ...]


class BookFollower:
    """Follows every book of the simulator from a full snapshot through each delta the market emits
    (on the simulator's loop) and keeps the top levels, in ticks and lots, at every wire update id."""

    def __init__(self, sim: SimulatorThread) -> None:
        self._sim = sim
        self.tops: dict[tuple[str, str, int], tuple[Levels, Levels]] = {}
        self._books: dict[tuple[str, str], dict[BookSide, dict[int, int]]] = {}
        for key, snapshot in sim.watch(self._on_event).items():
            self._books[key] = _sides(snapshot)

    def _on_event(self, event: MarketEvent) -> None:
        if not isinstance(event, BookDelta):
            return
        book = self._books[(event.venue, event.symbol)]
        for change in event.changes:
            if change.size:
                book[change.side][change.price] = change.size
            else:
                book[change.side].pop(change.price, None)
        bids = tuple(sorted(book[BookSide.BID].items(), reverse=True)[:DEPTH])
        asks = tuple(sorted(book[BookSide.ASK].items())[:DEPTH])
        self.tops[(event.venue, event.symbol, self._sim.wire_book_id(event))] = (bids, asks)


def _sides(snapshot: BookSnapshot) -> dict[BookSide, dict[int, int]]:
    return {BookSide.BID: dict(snapshot.bids), BookSide.ASK: dict(snapshot.asks)}


def published_in_holes(events: list[Event]) -> list[tuple[str, str, int | None]]:
    """Books (and tickers derived from books) published between a gap and the resync of their symbol."""
    symbols = {e.symbol for e in events if isinstance(e, BookTop)}
    broken: set[tuple[str, str]] = set()
    found = []
    for event in events:
        if isinstance(event, Status):
            affected = symbols if event.symbol is None else {event.symbol}
            if event.kind is StatusKind.GAP:
                broken.update((event.exchange, s) for s in affected)
            elif event.kind is StatusKind.RESYNC:
                broken.difference_update((event.exchange, s) for s in affected)
        elif (event.exchange, event.symbol) in broken and (isinstance(event, BookTop) or (isinstance(event, Ticker) and event.exchange == "bybit")):
            found.append((event.exchange, event.symbol, getattr(event, "sequence", None)))
    return found


def test_published_book_tops_equal_the_simulators_books_across_drops_stalls_and_gaps(tmp_path: Path) -> None:
    faults = {"skip_sequence_every": 60, "drop_every_s": 7.0, "stall_every_s": 9.0, "stall_s": 3.0}
    settings = settings_from_mapping(market_config(tmp_path, faults=faults, collector={"stale_timeout_s": 2}))

    def every_fault_seen(events: list[Event]) -> bool:
        kinds = Counter((e.exchange, e.kind) for e in events if isinstance(e, Status))
        return all(kinds[(v, StatusKind.GAP)] and kinds[(v, StatusKind.RESYNC)] and kinds[(v, StatusKind.DISCONNECTED)] >= 2
                   for v in VENUES)

    with SimulatorThread(settings.sim) as sim:
        follower = BookFollower(sim)
        grids = {symbol: (inst.tick.to_float(1), inst.lot.to_float(1)) for symbol, inst in sim.instruments.items()}
        events = run_collector(settings, every_fault_seen, timeout_s=90)

    assert every_fault_seen(events), Counter((e.exchange, e.kind.value) for e in events if isinstance(e, Status))
    compared: Counter[str] = Counter()
    mismatches = []
    for book in (e for e in events if isinstance(e, BookTop)):
        expected = follower.tops.get((book.exchange, book.symbol, book.sequence or -1))
        if expected is None:
            continue  # published before the follower started
        tick, lot = grids[book.symbol]
        got = tuple(tuple((round(p / tick), round(s / lot)) for p, s in side) for side in (book.bids, book.asks))
        compared[book.exchange] += 1
        if got != expected:
            mismatches.append((book.exchange, book.symbol, book.sequence))
    assert not mismatches, f"{len(mismatches)} published books differ from the simulator's, e.g. {mismatches[:5]}"
    assert all(compared[v] >= 100 for v in VENUES), compared
    assert not published_in_holes(events), published_in_holes(events)[:5]
    books = [e for e in events if isinstance(e, BookTop)]
    unmatched = Counter(b.exchange for b in books if b.sequence is None)
    assert not unmatched, f"books without an update id: {unmatched}"
