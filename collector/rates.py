"""Per-venue event rates, logged every few seconds: the demo's heartbeat line."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

from shared.events import Event, Status


class RateReporter:
    name = "rates"

    def __init__(self, report: Callable[[str], None], interval_s: float = 5.0) -> None:
        self._report = report
        self._interval_s = interval_s
        self._counts: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    def __call__(self, event: Event) -> None:
        if not isinstance(event, Status):
            self._counts[event.exchange] += 1

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _loop(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self._interval_s)
            now = time.monotonic()
            counts, self._counts = self._counts, Counter()
            elapsed = now - last
            last = now
            self._report(format_rates(counts, elapsed))


def format_rates(counts: Counter[str], elapsed_s: float) -> str:
    if not counts:
        return "events/s: (none yet)"
    total = sum(counts.values())
    parts = [f"{venue} {n / elapsed_s:,.0f}" for venue, n in sorted(counts.items())]
    return f"events/s: {' | '.join(parts)} | total {total / elapsed_s:,.0f}"
