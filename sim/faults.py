"""Injected faults for one venue: connection drops, stalls, sequence gaps and REST errors.

The schedule is pure (times in, decisions out); `sim.server` acts on it. Drops and stalls repeat
on a fixed period from the start, gaps every N book updates, REST errors at random (seeded).
"""

from __future__ import annotations

import math
from random import Random

from shared.settings.sim import FaultSettings


class Faults:
    def __init__(self, settings: FaultSettings, rng: Random, start: float) -> None:
        self._settings = settings
        self._rng = rng
        self._start = start
        self._book_updates = 0

    @property
    def drops(self) -> bool:
        return self._settings.drop_every_s > 0

    @property
    def stalls(self) -> bool:
        return self._settings.stall_every_s > 0 and self._settings.stall_s > 0

    def next_drop(self, now: float) -> float:
        """When every websocket connection is next cut (strictly after `now`)."""
        return self._next_period(now, self._settings.drop_every_s)

    def next_stall(self, now: float) -> tuple[float, float]:
        """The next stall window (start, end) that has not ended by `now`."""
        period, length = self._settings.stall_every_s, self._settings.stall_s
        elapsed = now - self._start
        k = max(1, math.floor(elapsed / period))
        begin = self._start + k * period
        if begin + length <= now:
            begin += period
        return begin, begin + length

    def stalled(self, now: float) -> bool:
        if not self.stalls:
            return False
        begin, end = self.next_stall(now)
        return begin <= now < end

    def skip_book_update(self) -> bool:
        """Whether to withhold this book update (counted over all the venue's symbols)."""
        every = self._settings.skip_sequence_every
        if not every:
            return False
        self._book_updates += 1
        return self._book_updates % every == 0

    def rest_error(self) -> bool:
        rate = self._settings.rest_error_rate
        return rate > 0 and self._rng.random() < rate

    def _next_period(self, now: float, period: float) -> float:
        k = math.floor((now - self._start) / period) + 1
        return self._start + max(1, k) * period
