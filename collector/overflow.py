"""Counting what a memory bound turns away, and saying so in the log without flooding it.

A full buffer drops items at the rate they arrive (thousands a second): each drop is counted (the
count goes to /health and /metrics), and a warning is logged at the first drop and then at most
once per `interval_s`, with how many were dropped since the last warning. Thread-safe: the raw
capture counts from whichever thread cryptofeed reports on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class OverflowCounter:
    def __init__(self, log: logging.Logger, what: str, interval_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = 0
        self._log = log
        self._what = what  # e.g. "lake: memory bound (lake.max_buffered_bytes, 512 MiB) reached, rows"
        self._interval_s = interval_s
        self._clock = clock
        self._unreported = 0
        self._next_log = float("-inf")
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.total += n
            self._unreported += n
            now = self._clock()
            if now < self._next_log:
                return
            unreported, self._unreported = self._unreported, 0
            self._next_log = now + self._interval_s
            total = self.total
        self._log.warning("%s: %d dropped since the last warning, %d in all", self._what, unreported, total)
