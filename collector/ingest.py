"""One feed's callbacks: cryptofeed objects in, normalized events out to the dispatcher.

Also where feed health becomes status events (connect, disconnect, gap, resync) and where the
per-venue hooks (ticker sizes, tickers derived from the book, book continuity) apply.

Books are published only from synchronized state: after a detected gap a symbol's book (and any
ticker derived from it) is withheld until a full book arrives for it (a REST snapshot or the
venue's snapshot frame); `gap` and `resync` status events bracket the hole.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from collector import normalize
from collector.booktop import SideTop, apply_changes, read_side
from collector.dispatch import Dispatcher
from collector.venues.base import Venue
from shared.events import BookTop, Channel, Event, Status, StatusKind, Ticker, channel_of

LOG = logging.getLogger(__name__)


class ReceiveClock:
    """Receive timestamps in ns that never go backwards, across every feed of the process."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self.last = 0  # read and advanced inline by the ingest hot path

    def stamp(self, receipt: float | None = None) -> int:
        ns = int((receipt if receipt is not None else self._wall()) * 1_000_000_000)
        if ns < self.last:
            ns = self.last
        self.last = ns
        return ns


class FeedIngest:
    def __init__(
        self,
        venue: Venue,
        channels: tuple[Channel, ...],
        book_depth: int,
        dispatcher: Dispatcher,
        clock: ReceiveClock,
    ) -> None:
        self.venue = venue
        self.exchange = venue.name
        self.channels = channels
        self.book_depth = book_depth
        self.dispatcher = dispatcher
        self.clock = clock
        self._counts: dict[str, int] = {c.value: 0 for c in Channel if c is not Channel.BOOK}
        self.books = 0  # the book count lives apart: a plain attribute is cheaper on the hot path
        self._book_sequence: dict[str, int | None] = {}
        self._last_top: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}
        self._sides: dict[str, tuple[SideTop, SideTop]] = {}
        self._snapshots: dict[str, int] = {}
        # Symbols whose book broke (a gap) and has not been rebuilt from a full book since.
        self._unsynced: set[str] = set()
        self._resync_announced: set[str] = set()  # resyncs already reported by `on_book`, not again by `snapshot_fetched`
        # cryptofeed names some events by the exchange's own symbol (KuCoin's BCHSV-USDT for the
        # normalized BSV-USDT); filled by the feed wiring with exchange name -> our name where they differ.
        self.symbol_names: dict[str, str] = {}
        self._publish = dispatcher.publish
        self._ticker_sizes = venue.ticker_sizes
        self._keep = 2 * book_depth  # levels kept per side, so deletions rarely force a read of the whole book
        self._emit_books = Channel.BOOK in channels
        self._tickers_from_book = venue.ticker_from_book and Channel.TICKER in channels
        self._check_continuity = venue.book_continuity is not None
        self._sequence_of = venue.book_sequence
        # Set by the feed wiring: closes this feed's connections so cryptofeed reconnects and resubscribes.
        self.force_resubscribe: Callable[[str], None] = lambda reason: None

    # cryptofeed callbacks -------------------------------------------------

    async def on_ticker(self, obj: Any, receipt: float) -> None:
        symbol = obj.symbol
        if self.symbol_names:
            symbol = self.symbol_names.get(symbol, symbol)
        event = normalize.ticker(self.exchange, symbol, obj, self.clock.stamp(receipt), self._ticker_sizes(obj.raw))
        self._counts["ticker"] += 1
        self._publish(event)

    async def on_trade(self, obj: Any, receipt: float) -> None:
        symbol = obj.symbol
        if self.symbol_names:
            symbol = self.symbol_names.get(symbol, symbol)
        event = normalize.trade(self.exchange, symbol, obj, self.clock.stamp(receipt))
        self._counts["trade"] += 1
        self._publish(event)

    async def on_book(self, obj: Any, receipt: float) -> None:
        # The hot path of ingest (most frames are book updates): kept flat, calls inlined, on purpose.
        clock = self.clock
        ts = int(receipt * 1_000_000_000)
        if ts < clock.last:
            ts = clock.last
        clock.last = ts
        symbol = obj.symbol
        if self.symbol_names:
            symbol = self.symbol_names.get(symbol, symbol)
        delta = obj.delta
        if self._unsynced and symbol in self._unsynced:
            if delta:
                return  # a change to a book that is known to be broken
            self._synchronized(symbol)
        sequence = obj.sequence_number
        if self._check_continuity and obj.raw is not None:
            if not self._continuous(obj, symbol):
                return
            sequence = self._book_sequence.get(symbol)
        elif sequence is None and self._sequence_of is not None and obj.raw is not None:
            sequence = self._sequence_of(obj.raw)
        sides = self._sides
        previous = sides.get(symbol)
        if previous is None or not delta:
            book = obj.book
            bids = read_side(book.bids, self.book_depth, self._keep, True)
            asks = read_side(book.asks, self.book_depth, self._keep, False)
            sides[symbol] = (bids, asks)
        else:
            bids, asks = previous
            changes = delta.get("bid")
            if changes:
                bids = apply_changes(bids, changes, True, self.book_depth, self._keep, obj.book.bids)
            changes = delta.get("ask")
            if changes:
                asks = apply_changes(asks, changes, False, self.book_depth, self._keep, obj.book.asks)
            if bids is not previous[0] or asks is not previous[1]:
                sides[symbol] = (bids, asks)
        stamp = obj.timestamp
        if stamp is None:
            ts_event = None
        elif stamp.__class__ is float and 0.0 <= stamp < 8_589_934_592.0 and (micros := round(stamp * 1e6)) / 1e6 == stamp:
            ts_event = micros * 1_000  # `normalize.to_ns`'s common cases, inlined: seconds with at most 6 decimals...
        elif stamp.__class__ is int and 100_000_000_000 <= stamp < 100_000_000_000_000:
            ts_event = stamp * 1_000_000  # ...and integer milliseconds (Bybit)
        else:
            ts_event = normalize.to_ns(stamp, ts)
        top = BookTop(self.exchange, symbol, ts_event, ts, bids.top, asks.top, sequence)
        if self._emit_books:
            self.books += 1
            self._publish(top)
        if self._tickers_from_book:
            self._ticker_from_book(top)

    # health -----------------------------------------------------------------

    def status(self, kind: StatusKind, symbol: str | None = None, detail: str = "") -> None:
        ts = self.clock.stamp()
        LOG.log(logging.INFO if kind in (StatusKind.CONNECTED, StatusKind.RESYNC) else logging.WARNING,
                "%s %s %s %s", self.exchange, kind.value, symbol or "", detail)
        self._emit(Status(exchange=self.exchange, symbol=symbol, ts_event=ts, ts_recv=ts, kind=kind, detail=detail))

    def snapshot_fetched(self, symbol: str) -> None:
        """A REST book snapshot: the first per symbol is the initial sync, later ones are resyncs."""
        seen = self._snapshots.get(symbol, 0)
        self._snapshots[symbol] = seen + 1
        if symbol in self._resync_announced:
            self._resync_announced.discard(symbol)
        elif seen:
            self.status(StatusKind.RESYNC, symbol, "book snapshot re-fetched")

    def gap(self, symbol: str | None, detail: str) -> None:
        """A detected gap in `symbol`'s book updates (None: every book of the venue was reset).

        The affected books stay unpublished until each is rebuilt from a full book."""
        self._unsynced.update(self._sides if symbol is None else (symbol,))
        for name in self._unsynced:
            self._sides.pop(name, None)
            self._last_top.pop(name, None)
        self.status(StatusKind.GAP, symbol, detail)

    @property
    def unsynchronized(self) -> frozenset[str]:
        """Symbols whose book is withheld until it is synchronized again."""
        return frozenset(self._unsynced)

    # internals --------------------------------------------------------------

    @property
    def counts(self) -> dict[str, int]:
        """Events emitted so far, by channel."""
        return {"ticker": self._counts["ticker"], "trade": self._counts["trade"], "book": self.books,
                "status": self._counts["status"]}

    def _emit(self, event: Event) -> None:
        self._counts[channel_of(event).value] += 1
        self.dispatcher.publish(event)

    def _synchronized(self, symbol: str) -> None:
        self._unsynced.discard(symbol)
        self._resync_announced.add(symbol)
        self.status(StatusKind.RESYNC, symbol, "book rebuilt from a full snapshot")

    def _continuous(self, obj: Any, symbol: str) -> bool:
        assert self.venue.book_continuity is not None
        previous = self._book_sequence.get(symbol)
        is_snapshot = obj.delta is None
        sequence, gap = self.venue.book_continuity(obj.raw, previous)
        if gap:
            self._book_sequence.pop(symbol, None)
            self.gap(symbol, f"book update id {sequence} after {previous}")
            self.force_resubscribe(f"book gap on {symbol}")
            return False
        if is_snapshot:
            self.snapshot_fetched(symbol)
        self._book_sequence[symbol] = sequence
        return True

    def _ticker_from_book(self, top: BookTop) -> None:
        if not top.bids or not top.asks:
            return
        key = (top.bids[0], top.asks[0])
        if self._last_top.get(top.symbol) == key:
            return
        self._last_top[top.symbol] = key
        (bid, bid_size), (ask, ask_size) = key
        self._counts["ticker"] += 1
        self._publish(Ticker(top.exchange, top.symbol, top.ts_event, top.ts_recv, bid, bid_size, ask, ask_size))
