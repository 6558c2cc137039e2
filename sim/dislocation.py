"""Dislocations: one venue's price for one symbol jumps away from the others, then snaps back.

They arrive as a Poisson process (mean gap `every_s`), each moves a random venue/symbol by
`size_bps` up or down for `duration_s`: a cross-venue arbitrage that appears and vanishes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

from shared.settings.sim import DislocationSettings

_KEEP_S = 600.0  # how long ended dislocations stay queryable (for tests and diagnostics)


@dataclass(frozen=True, slots=True)
class Dislocation:
    venue: str
    symbol: str
    start: float
    end: float
    offset_bps: float  # signed: + lifts the venue's prices above fair

    def active(self, t: float) -> bool:
        return self.start <= t < self.end


class Dislocations:
    def __init__(
        self,
        settings: DislocationSettings,
        venues: Sequence[str],
        symbols: Sequence[str],
        rng: Random,
        start: float,
    ) -> None:
        self._settings = settings
        self._venues = list(venues)
        self._symbols = list(symbols)
        self._rng = rng
        self._enabled = settings.every_s > 0 and settings.duration_s > 0 and settings.size_bps > 0
        self._events: list[Dislocation] = []
        self._next = start + self._gap() if self._enabled else float("inf")

    def offset_bps(self, venue: str, symbol: str, t: float) -> float:
        return sum(d.offset_bps for d in self.active(t) if d.venue == venue and d.symbol == symbol)

    def active(self, t: float) -> list[Dislocation]:
        self._extend(t)
        return [d for d in self._events if d.active(t)]

    def until(self, t: float) -> list[Dislocation]:
        """Every dislocation that started by `t` and is still remembered."""
        self._extend(t)
        return [d for d in self._events if d.start <= t]

    def _extend(self, t: float) -> None:
        while self._next <= t:
            venue = self._venues[self._rng.randrange(len(self._venues))]
            symbol = self._symbols[self._rng.randrange(len(self._symbols))]
            sign = 1.0 if self._rng.random() < 0.5 else -1.0
            start = self._next
            self._events.append(Dislocation(venue, symbol, start, start + self._settings.duration_s, sign * self._settings.size_bps))
            self._next = start + self._gap()
        horizon = t - _KEEP_S
        if self._events and self._events[0].end < horizon:
            self._events = [d for d in self._events if d.end >= horizon]

    def _gap(self) -> float:
        return self._rng.expovariate(1.0 / self._settings.every_s)
