"""The trader's view of the market: the latest top-N book per venue and symbol, whether it can be traded
on, and the realized volatility of each symbol. Pure and synchronous: the service feeds it events and
connection notices and passes the time in; nothing here reads a clock.

A venue/symbol is untradeable until fresh data arrives when its book is older than `max_book_age_ns`,
after a `disconnected`/`gap` status not yet followed by `connected`/`resync` (a status without a symbol
covers the whole venue), after the trader's own stream lost frames or reconnected, and after a book that
makes no sense (empty or crossed, a price or size that is NaN, infinite or not positive, levels out of
order), which is also reported. "Fresh" means received after the event that made it untradeable.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import overload

from shared.events import BookTop, Event, Level, Status, StatusKind, Ticker
from shared.trading import to_decimal

DecimalLevel = tuple[Decimal, Decimal]
DecimalLevels = Sequence[DecimalLevel]  # one side of a book, best first
_BPS = 10_000
_DOWN = frozenset({StatusKind.DISCONNECTED, StatusKind.GAP})


class Untradeable(StrEnum):
    NO_DATA = "no_data"  # no book yet
    STALE = "stale"  # the latest book is older than the bound
    FEED_DOWN = "feed_down"  # the collector reported disconnected/gap and no recovery yet
    AWAITING_DATA = "awaiting_data"  # recovered (or our stream lost frames), no book since
    BAD_DATA = "bad_data"  # the latest book made no sense


@dataclass(frozen=True, slots=True)
class Tradability:
    reason: Untradeable | None  # None: tradeable
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


TRADEABLE = Tradability(None)


@dataclass(frozen=True, slots=True)
class DataProblem:
    venue: str
    symbol: str
    detail: str
    ts_recv: int


@dataclass(frozen=True, slots=True)
class MarketViewConfig:
    max_book_age_ns: int = 2_000_000_000
    volatility_window_ns: int = 300_000_000_000  # 5 minutes
    volatility_sample_ns: int = 1_000_000_000  # mids sampled at most once a second, so microstructure noise does not dominate
    problems_kept: int = 200


class _Mids:
    """The (ts_recv, log mid) samples in the volatility window and the sum of their squared returns, kept as
    samples come and go: the risk manager reads it for every proposal."""

    __slots__ = ("samples", "squares")

    def __init__(self) -> None:
        self.samples: deque[tuple[int, float]] = deque()
        self.squares = 0.0

    def add(self, ts: int, log_mid: float) -> None:
        if self.samples:
            self.squares += (log_mid - self.samples[-1][1]) ** 2
        self.samples.append((ts, log_mid))

    def drop_before(self, cutoff: int) -> None:
        samples = self.samples
        while samples and samples[0][0] < cutoff:
            _, first = samples.popleft()
            if len(samples) < 2:
                self.squares = 0.0  # exact again whenever the window holds one return or none
            else:
                self.squares = max(0.0, self.squares - (samples[0][1] - first) ** 2)


@dataclass(slots=True)
class _Stream:
    book: BookTop | None = None
    book_tick: int = 0  # the view's event counter when the book arrived
    fresh_after: int = 0  # a book counts only if it arrived after this tick
    down: str = ""  # detail of an unrecovered disconnected/gap status for this symbol
    bad: str = ""  # why the latest book made no sense
    ticker: Ticker | None = None
    decimal_sides: tuple[DecimalLevels, DecimalLevels] | None = None
    mids: _Mids = field(default_factory=_Mids)


@dataclass(slots=True)
class _Venue:
    down: str = ""
    fresh_after: int = 0


class MarketView:
    def __init__(self, config: MarketViewConfig | None = None) -> None:
        self.config = config or MarketViewConfig()
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._venues: dict[str, _Venue] = {}
        self._venues_of: dict[str, list[str]] = {}  # symbol -> venues with a stream for it
        self._tick = 0
        self._fresh_after = 0  # for every stream: after our own connection lost frames or reconnected
        self._problems: deque[DataProblem] = deque(maxlen=self.config.problems_kept)
        self.problem_count = 0

    # input --------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        if isinstance(event, BookTop):
            self.on_book(event)
        elif isinstance(event, Status):
            self.on_status(event)
        elif isinstance(event, Ticker):
            self._stream(event.exchange, event.symbol).ticker = event
        # Trades change nothing here: books carry the liquidity, and the paper executor reads trades itself.

    def on_book(self, book: BookTop) -> None:
        self._tick += 1
        stream = self._stream(book.exchange, book.symbol)
        problem = nonsense(book)
        if problem:
            stream.bad = problem
            self.problem_count += 1
            self._problems.append(DataProblem(book.exchange, book.symbol, problem, book.ts_recv))
            return
        stream.bad = ""
        stream.book = book
        stream.book_tick = self._tick
        stream.decimal_sides = None
        self._sample_mid(stream, book)

    def on_status(self, status: Status) -> None:
        self._tick += 1
        venue = self._venue(status.exchange)
        down = status.kind in _DOWN
        detail = f"{status.kind.value}: {status.detail}" if down else ""
        if status.symbol is None:
            if down or venue.down:
                venue.fresh_after = self._tick
            venue.down = detail
            if not down:  # the feed is back: every symbol resubscribes and gets a fresh snapshot
                for (name, _), stream in self._streams.items():
                    if name == status.exchange:
                        stream.down = ""
        else:
            stream = self._stream(status.exchange, status.symbol)
            stream.down = detail
            stream.fresh_after = self._tick

    def stream_gap(self) -> None:
        """Our connection to the collector lost frames: any book may have missed an update."""
        self._tick += 1
        self._fresh_after = self._tick

    def reconnected(self) -> None:
        """Our connection to the collector was re-established; the snapshot that follows is the fresh data."""
        self.stream_gap()

    # queries ------------------------------------------------------------------

    def tradability(self, venue: str, symbol: str, now: int) -> Tradability:
        stream = self._streams.get((venue, symbol))
        state = self._venues.get(venue)
        if state and state.down:
            return Tradability(Untradeable.FEED_DOWN, f"{venue}: {state.down}")
        if stream is None or (stream.book is None and not stream.bad):
            return Tradability(Untradeable.NO_DATA, f"{venue} {symbol}: no book yet")
        if stream.down:
            return Tradability(Untradeable.FEED_DOWN, f"{venue} {symbol}: {stream.down}")
        if stream.bad:
            return Tradability(Untradeable.BAD_DATA, f"{venue} {symbol}: {stream.bad}")
        assert stream.book is not None
        if stream.book_tick <= max(self._fresh_after, stream.fresh_after, state.fresh_after if state else 0):
            return Tradability(Untradeable.AWAITING_DATA, f"{venue} {symbol}: no book since the feed recovered")
        age = now - stream.book.ts_recv
        if age > self.config.max_book_age_ns:
            return Tradability(Untradeable.STALE, f"{venue} {symbol}: book is {age / 1e9:.3f}s old")
        return TRADEABLE

    def tradeable(self, venue: str, symbol: str, now: int) -> bool:
        return self.tradability(venue, symbol, now).ok

    def book(self, venue: str, symbol: str) -> BookTop | None:
        """The latest sane book, tradeable or not (for display); strategies use `tradeable_book`."""
        stream = self._streams.get((venue, symbol))
        return stream.book if stream else None

    def tradeable_book(self, venue: str, symbol: str, now: int) -> BookTop | None:
        return self.book(venue, symbol) if self.tradeable(venue, symbol, now) else None

    def decimal_sides(self, venue: str, symbol: str) -> tuple[DecimalLevels, DecimalLevels]:
        """The latest book's (bids, asks) as Decimals, converted once per book however many strategies read it."""
        stream = self._streams[(venue, symbol)]
        if stream.decimal_sides is None:
            assert stream.book is not None
            stream.decimal_sides = (LazyLevels(stream.book.bids), LazyLevels(stream.book.asks))
        return stream.decimal_sides

    def ticker(self, venue: str, symbol: str) -> Ticker | None:
        stream = self._streams.get((venue, symbol))
        return stream.ticker if stream else None

    def age_ns(self, venue: str, symbol: str, now: int) -> int | None:
        book = self.book(venue, symbol)
        return now - book.ts_recv if book else None

    def latency_ns(self, venue: str, symbol: str) -> int | None:
        """Exchange-to-receive latency of the latest book; None when the venue sends no timestamp."""
        book = self.book(venue, symbol)
        if book is None or book.ts_event is None:
            return None
        return book.ts_recv - book.ts_event

    def mid(self, venue: str, symbol: str) -> float | None:
        book = self.book(venue, symbol)
        return (book.bids[0][0] + book.asks[0][0]) / 2 if book else None

    def price(self, asset: str, in_asset: str) -> float | None:
        """One `asset` in `in_asset` from the most recent book of the direct or the inverse symbol, or None."""
        if asset == in_asset:
            return 1.0
        direct = self._latest_mid(f"{asset}-{in_asset}")
        if direct:
            return direct
        inverse = self._latest_mid(f"{in_asset}-{asset}")
        return 1 / inverse if inverse else None

    def volatility_bps(self, symbol: str, now: int) -> float | None:
        """Realized volatility of the mid over the window, in bps: the square root of the sum of squared log
        returns between samples, averaged (as variance) over the venues quoting the symbol. None before
        any venue has two samples in the window."""
        cutoff = now - self.config.volatility_window_ns
        variances = []
        for venue in self._venues_of.get(symbol, ()):
            mids = self._streams[(venue, symbol)].mids
            mids.drop_before(cutoff)
            if len(mids.samples) >= 2:
                variances.append(mids.squares)
        if not variances:
            return None
        return math.sqrt(sum(variances) / len(variances)) * _BPS

    def keys(self) -> Iterator[tuple[str, str]]:
        return iter(self._streams)

    def problems(self) -> tuple[DataProblem, ...]:
        """Recent nonsensical books, oldest first (`problem_count` counts them all)."""
        return tuple(self._problems)

    # internals ----------------------------------------------------------------

    def _stream(self, venue: str, symbol: str) -> _Stream:
        stream = self._streams.get((venue, symbol))
        if stream is None:
            stream = self._streams[(venue, symbol)] = _Stream()
            self._venues_of.setdefault(symbol, []).append(venue)
        return stream

    def _venue(self, venue: str) -> _Venue:
        state = self._venues.get(venue)
        if state is None:
            state = self._venues[venue] = _Venue()
        return state

    def _latest_mid(self, symbol: str) -> float | None:
        books = [b for v in self._venues_of.get(symbol, ()) if (b := self._streams[(v, symbol)].book)]
        if not books:
            return None
        book = max(books, key=lambda b: b.ts_recv)
        return (book.bids[0][0] + book.asks[0][0]) / 2

    def _sample_mid(self, stream: _Stream, book: BookTop) -> None:
        mids = stream.mids
        if mids.samples and book.ts_recv - mids.samples[-1][0] < self.config.volatility_sample_ns:
            return
        mids.add(book.ts_recv, math.log((book.bids[0][0] + book.asks[0][0]) / 2))
        mids.drop_before(book.ts_recv - self.config.volatility_window_ns)


def nonsense(book: BookTop) -> str:
    """Why a book cannot be right, or "" if it can."""
    if not book.bids or not book.asks:
        return "empty book side" if book.bids or book.asks else "empty book"
    problem = _side_problem("bid", book.bids, descending=True) or _side_problem("ask", book.asks, descending=False)
    if problem:
        return problem
    if book.crossed:
        return f"crossed book: best bid {book.bids[0][0]} >= best ask {book.asks[0][0]}"
    return ""


def _side_problem(name: str, levels: tuple[Level, ...], descending: bool) -> str:
    previous = None
    for price, size in levels:
        # `0 < x < inf` is False for NaN too.
        if not 0 < price < math.inf:
            return f"{name} price {price} is not a positive number"
        if not 0 < size < math.inf:
            return f"{name} size {size} at {price} is not a positive number"
        if previous is not None and (price >= previous if descending else price <= previous):
            return f"{name} levels out of order: {price} after {previous}"
        previous = price
    return ""


def _decimal(level: Level) -> DecimalLevel:
    return to_decimal(level[0]), to_decimal(level[1])


class LazyLevels(Sequence[DecimalLevel]):
    """One side of a book as Decimals, each level converted when first read: a walk for a trade's size reads
    the first few levels of ten, and most books are replaced before a strategy walks them at all."""

    __slots__ = ("_done", "_raw")

    def __init__(self, raw: tuple[Level, ...]) -> None:
        self._raw = raw
        self._done: list[DecimalLevel] = []

    def __len__(self) -> int:
        return len(self._raw)

    def __bool__(self) -> bool:
        return bool(self._raw)

    @overload
    def __getitem__(self, index: int) -> DecimalLevel: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[DecimalLevel, ...]: ...
    def __getitem__(self, index: int | slice) -> DecimalLevel | tuple[DecimalLevel, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self._raw))))
        done = self._done
        if 0 <= index < len(done):
            return done[index]
        if index < 0:
            index += len(self._raw)
        if not 0 <= index < len(self._raw):
            raise IndexError("book level out of range")
        while len(done) <= index:
            done.append(_decimal(self._raw[len(done)]))
        return done[index]

    def __iter__(self) -> Iterator[DecimalLevel]:
        done, raw = self._done, self._raw
        for i in range(len(raw)):
            if i == len(done):
                done.append(_decimal(raw[i]))
            yield done[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=False))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LazyLevels({tuple(self)!r})"
