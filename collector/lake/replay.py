"""replay-lake: re-publish a time range of the lake, in receive-time order across channels, at X times
real time or as fast as possible, to a Dispatcher (behind which the fan-out server streams it).

Events keep their recorded timestamps. The range is half-open [start_ns, end_ns) on `ts_recv`.
Reading goes window by window of recorded time (starting at `window_s`, then sized to hold about
100k events) through `shared.lake.events`, which the trader's backtest reads with too: each window
is read on a thread from one consistent snapshot, turned into events and merged across channels
while the previous window is being published; memory holds about two windows.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from collector.dispatch import Dispatcher
from shared.clock import seconds_to_ns
from shared.events import Channel, Event, channel_of
from shared.lake.events import EventSource, Windows, parse_instant, read_window, to_events
from shared.lake.storage import open_lake
from shared.settings import Settings

__all__ = ["Pacer", "ReplayReport", "Windows", "due_offset_s", "parse_instant", "read_window", "replay_lake", "to_events"]

_YIELD_EVERY = 1000  # events published between two yields to the loop when not waiting
_MIN_SLEEP_S = 0.001


def due_offset_s(ts_ns: int, first_ts_ns: int, speed: float | None) -> float | None:
    """When an event recorded at `ts_ns` is due, in seconds after the first one; None: no pacing."""
    if speed is None or speed <= 0 or math.isinf(speed):
        return None
    return (ts_ns - first_ts_ns) / 1e9 / speed


class Pacer:
    """Seconds to wait before each event: the first is due at once, the rest `speed` times faster than recorded."""

    def __init__(self, speed: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.speed = speed
        self.clock = clock
        self._first_ts: int | None = None
        self._started = 0.0

    def delay(self, ts_ns: int) -> float:
        if self._first_ts is None:
            self._first_ts, self._started = ts_ns, self.clock()
        offset = due_offset_s(ts_ns, self._first_ts, self.speed)
        return 0.0 if offset is None else self._started + offset - self.clock()


@dataclass
class ReplayReport:
    published: dict[Channel, int] = field(default_factory=lambda: {channel: 0 for channel in Channel})
    first_ts: int | None = None
    last_ts: int | None = None
    stopped: bool = False  # `stop` was set before the range was done

    @property
    def total(self) -> int:
        return sum(self.published.values())


async def replay_lake(
    settings: Settings,
    start_ns: int | None,
    end_ns: int | None,
    speed: float | None,
    dispatcher: Dispatcher,
    stop: asyncio.Event | None = None,
    *,
    channels: Sequence[Channel] = tuple(Channel),
    exchanges: Iterable[str] | None = None,
    window_s: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
) -> ReplayReport:
    """Publish the range to `dispatcher`, paced at `speed` x real time (None, 0 or inf: as fast as possible)."""
    stop = stop or asyncio.Event()
    report = ReplayReport()
    lake = open_lake(settings.lake)
    source = await asyncio.to_thread(EventSource, lake, channels, start_ns, end_ns, exchanges)
    plan = source.windows(seconds_to_ns(window_s))
    pacer = Pacer(speed, clock)
    window = plan.next()
    pending = asyncio.ensure_future(asyncio.to_thread(source.read, *window)) if window else None
    while pending is not None:
        events = await pending
        window = plan.next(len(events))
        pending = asyncio.ensure_future(asyncio.to_thread(source.read, *window)) if window else None
        if not await _publish(events, report, dispatcher, stop, pacer):
            report.stopped = True
            break
    if pending is not None:
        await pending  # let the read in flight finish; its events are not published
    return report


async def _publish(events: list[Event], report: ReplayReport, dispatcher: Dispatcher, stop: asyncio.Event, pacer: Pacer) -> bool:
    """Publish one window's events on schedule; False if `stop` was set."""
    since_yield = 0
    for event in events:
        delay = pacer.delay(event.ts_recv)
        if delay > _MIN_SLEEP_S:
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass
            since_yield = 0
        elif since_yield >= _YIELD_EVERY:
            await asyncio.sleep(0)
            since_yield = 0
        if stop.is_set():
            return False
        dispatcher.publish(event)
        report.published[channel_of(event)] += 1
        if report.first_ts is None:
            report.first_ts = event.ts_recv
        report.last_ts = event.ts_recv
        since_yield += 1
    return True
