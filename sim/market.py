"""The market model: every venue's book, trades and quotes in every symbol, stepped by the caller's clock.

Pure and synchronous: `advance(now)` processes every arrival up to `now` and returns the
venue-neutral events in time order. Book updates and trades arrive as Poisson processes per
venue and symbol; each venue quotes around the common fair price seen `lag_ms` late, plus its own
slowly varying noise, plus any dislocation in force. Every random stream (fair prices,
dislocations, each venue/symbol) has its own generator derived from the seed, and arrivals are
processed in a fixed order, so the output depends only on the seed and the times passed in, not
on how finely the caller slices time.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from random import Random

from shared.settings.sim import SimSettings, SimVenueSettings
from sim.book import ASK, BID, VenueBook
from sim.dislocation import Dislocations
from sim.fair_price import FairPrices, Regime
from sim.instruments import Instrument
from sim.model_events import BookDelta, BookSnapshot, MarketEvent, SessionStats, TakerSide, TickerEvent, TradeEvent

BOOK_SHARE = 0.7  # of arrivals: book updates; the rest are trades
# Frames an arrival produces on average (measured): a book update gives a delta and usually a ticker,
# a trade gives one or more fills, a delta and a ticker. `rate` counts frames, so arrivals are fewer.
FRAMES_PER_ARRIVAL = 2.2
NOISE_TAU_S = 3.0  # how quickly a venue's own noise decorrelates
TRADE_TO_LEVEL = 0.3  # mean trade size, as a fraction of the typical level size
_BOOK, _TRADE = 0, 1


@dataclass
class _Stream:
    """One venue's market in one symbol."""

    venue: str
    instrument: Instrument
    settings: SimVenueSettings
    book: VenueBook
    rng: Random
    mean_trade_lots: float
    noise_bps: float = 0.0
    noise_t: float = 0.0
    next_trade_id: int = 1
    stats: SessionStats | None = None


def sub_rng(seed: int, *names: object) -> Random:
    # String seeds are hashed with SHA-512, so streams are stable across runs and Python processes.
    return Random(":".join([str(seed), *map(str, names)]))


class Market:
    def __init__(self, settings: SimSettings, venues: Sequence[str], start: float) -> None:
        if not venues:
            raise ValueError("the market needs at least one venue")
        unknown = [v for v in venues if v not in settings.venues]
        if unknown:
            raise ValueError(f"venues {unknown} are not configured under sim.venues")
        self.venues = tuple(venues)
        self.symbols = tuple(settings.symbols)
        self.instruments = {s: Instrument.from_settings(s, spec) for s, spec in settings.symbols.items()}
        max_lag = max(settings.venues[v].lag_ms for v in venues) / 1000
        self._fair = FairPrices(settings.symbols, settings.regimes, sub_rng(settings.seed, "fair"), start, max_lag + 2.0)
        self.dislocations = Dislocations(settings.dislocation, venues, self.symbols, sub_rng(settings.seed, "dislocation"), start)
        self._now = start
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._queue: list[tuple[float, int, int, int]] = []
        per_symbol = settings.rate / FRAMES_PER_ARRIVAL / len(self.symbols)
        self._intensity = (per_symbol * BOOK_SHARE, per_symbol * (1 - BOOK_SHARE))
        for vi, venue in enumerate(self.venues):
            for si, symbol in enumerate(self.symbols):
                stream = self._make_stream(settings, venue, symbol, start)
                self._streams[(venue, symbol)] = stream
                for kind in (_BOOK, _TRADE):
                    self._schedule(stream, start, vi, si, kind)

    # --- queries -------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self._now

    def fair_price(self, symbol: str, t: float) -> float:
        return self._fair.price(symbol, t)

    def regime(self, t: float) -> Regime:
        return self._fair.regime(t)

    def snapshot(self, venue: str, symbol: str, depth: int | None = None) -> BookSnapshot:
        book = self._streams[(venue, symbol)].book
        return BookSnapshot(
            venue, symbol, self._now, book.update_id, book.seq,
            tuple(book.levels(BID, depth)), tuple(book.levels(ASK, depth)),
        )

    # --- stepping ------------------------------------------------------------------------------

    def advance(self, now: float) -> list[MarketEvent]:
        events: list[MarketEvent] = []
        queue = self._queue
        while queue and queue[0][0] <= now:
            t, vi, si, kind = heapq.heappop(queue)
            stream = self._streams[(self.venues[vi], self.symbols[si])]
            before = stream.book.top()
            if kind == _BOOK:
                self._book_update(stream, t, events)
            else:
                self._trade(stream, t, events)
            if stream.book.top() != before:
                ticker = self._ticker(stream, t)
                if ticker is not None:
                    events.append(ticker)
            self._schedule(stream, t, vi, si, kind)
        self._now = max(self._now, now)
        return events

    def _book_update(self, stream: _Stream, t: float, events: list[MarketEvent]) -> None:
        changes = stream.book.requote(self._target_ticks(stream, t))
        if changes:
            events.append(BookDelta(stream.venue, stream.instrument.symbol, t, stream.book.seq, tuple(changes)))

    def _trade(self, stream: _Stream, t: float, events: list[MarketEvent]) -> None:
        top = stream.book.top()
        if top is None:
            return
        bid, _, ask, _ = top
        # Aggressors lean towards where the venue's price is heading, which helps the book get there.
        pull = math.tanh((self._target_ticks(stream, t) - (bid + ask) / 2) / max(1, ask - bid))
        taker = TakerSide.BUY if stream.rng.random() < 0.5 + 0.35 * pull else TakerSide.SELL
        lots = max(1, round(stream.mean_trade_lots * stream.rng.expovariate(1.0)))
        fills, changes = stream.book.take(taker, lots)
        if not fills:
            return
        symbol = stream.instrument.symbol
        for price, size, update_id in fills:
            events.append(TradeEvent(stream.venue, symbol, t, stream.next_trade_id, taker, price, size, update_id))
            stream.next_trade_id += 1
            stream.stats = _traded(stream.stats, stream.instrument, price, size)
        events.append(BookDelta(stream.venue, symbol, t, stream.book.seq, tuple(changes)))

    def _ticker(self, stream: _Stream, t: float) -> TickerEvent | None:
        top = stream.book.top()
        if top is None or stream.stats is None:
            return None
        bid, bid_size, ask, ask_size = top
        return TickerEvent(stream.venue, stream.instrument.symbol, t, stream.book.update_id, bid, bid_size, ask, ask_size, stream.stats)

    def _target_ticks(self, stream: _Stream, t: float) -> float:
        """Where this venue wants its mid: lagged fair price, its own noise, any dislocation."""
        decay = math.exp(-(t - stream.noise_t) / NOISE_TAU_S)
        stream.noise_bps = decay * stream.noise_bps + math.sqrt(1 - decay * decay) * stream.settings.noise_bps * stream.rng.gauss(0, 1)
        stream.noise_t = t
        symbol = stream.instrument.symbol
        fair = self._fair.price(symbol, t - stream.settings.lag_ms / 1000)
        offset = stream.noise_bps + self.dislocations.offset_bps(stream.venue, symbol, t)
        return fair * math.exp(offset * 1e-4) / stream.instrument.tick.to_float(1)

    def _schedule(self, stream: _Stream, t: float, vi: int, si: int, kind: int) -> None:
        heapq.heappush(self._queue, (t + stream.rng.expovariate(self._intensity[kind]), vi, si, kind))

    def _make_stream(self, settings: SimSettings, venue: str, symbol: str, start: float) -> _Stream:
        spec = settings.symbols[symbol]
        instrument = self.instruments[symbol]
        rng = sub_rng(settings.seed, "venue", venue, symbol)
        tick = instrument.tick.to_float(1)
        level_lots = max(1.0, spec.level_size / instrument.lot.to_float(1))
        mid_ticks = self._fair.price(symbol, start) / tick
        book = VenueBook(
            depth_levels=spec.depth_levels,
            spread_ticks=settings.venues[venue].spread_ticks,
            mean_gap_ticks=max(1.0, mid_ticks * spec.depth_span_bps * 1e-4 / spec.depth_levels),
            mean_level_lots=level_lots,
            rng=rng,
            # Ids start somewhere realistic (exchanges have been running for years), per venue.
            update_id=rng.randrange(10**8, 10**10),
            seq=rng.randrange(10**6, 10**8),
        )
        stream = _Stream(venue, instrument, settings.venues[venue], book, rng, level_lots * TRADE_TO_LEVEL, noise_t=start)
        stream.next_trade_id = rng.randrange(10**6, 10**9)
        book.seed(self._target_ticks(stream, start))
        bid, _, ask, _ = book.top() or (0, 0, 0, 0)
        opening = (bid + ask) // 2
        stream.stats = SessionStats(opening, opening, opening, opening, 0, 0, 0.0)
        return stream


def _traded(stats: SessionStats | None, instrument: Instrument, price: int, size: int) -> SessionStats:
    assert stats is not None
    return replace(
        stats,
        high=max(stats.high, price),
        low=min(stats.low, price),
        last=price,
        last_size=size,
        volume=stats.volume + size,
        quote_volume=stats.quote_volume + instrument.notional(price, size),
    )
