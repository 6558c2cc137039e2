"""Time in int64 nanoseconds UTC, the unit of every timestamp in spreadlake."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]


def now_ns() -> int:
    return time.time_ns()


def seconds_to_ns(seconds: float) -> int:
    return round(seconds * 1_000_000_000)
