"""replay-lake: re-publish a time range of the lake, in receive-time order across channels, at X times
real time or as fast as possible, to a Dispatcher (behind which the fan-out server streams it).

Events keep their recorded timestamps. The range is half-open [start_ns, end_ns) on `ts_recv`.
Reading goes window by window of recorded time (starting at `window_s`, then sized to hold about
100k events): each window is read on a thread from one consistent snapshot (row-group statistics
skip the rest of each file), turned into events and merged across channels while the previous
window is being published; memory holds about two windows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

import pyarrow as pa
import pyarrow.dataset as ds

from collector.dispatch import Dispatcher
from shared.clock import seconds_to_ns
from shared.events import BookTop, Channel, Event, Side, Status, StatusKind, Ticker, Trade, channel_of
from shared.lake.dataset import open_dataset
from shared.lake.manifest import DataFile, snapshot
from shared.lake.schema import TIMESTAMP
from shared.lake.storage import Lake, open_lake
from shared.settings import Settings

_YIELD_EVERY = 1000  # events published between two yields to the loop when not waiting
_MIN_SLEEP_S = 0.001
_READ_ATTEMPTS = 3
_TARGET_ROWS = 100_000  # events per window the width adapts towards (memory holds about two windows)
_MAX_WIDTH_NS = 86_400 * 1_000_000_000


def parse_instant(text: str) -> int:
    """`--from`/`--to` values: integer ns since the epoch, or ISO 8601 (a date, or a time; UTC unless an offset is given)."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    delta = moment - epoch
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


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


def _ints(table: pa.Table, name: str) -> list[int]:
    return table.column(name).cast(pa.int64()).to_pylist()


def _levels(values: list[list[dict[str, float]]]) -> list[tuple[tuple[float, float], ...]]:
    return [tuple((level["price"], level["size"]) for level in levels) for levels in values]


def to_events(channel: Channel, table: pa.Table) -> list[Event]:
    """Rows read from the lake (with the `exchange` partition column) back into events."""

    def col(name: str) -> list:
        return table.column(name).to_pylist()

    head = (col("exchange"), col("symbol"), _ints(table, "ts_event"), _ints(table, "ts_recv"))
    if channel is Channel.TICKER:
        return [Ticker(*row) for row in zip(*head, col("bid"), col("bid_size"), col("ask"), col("ask_size"), strict=True)]
    if channel is Channel.TRADE:
        sides = [Side(s) for s in col("side")]
        return [Trade(*row) for row in zip(*head, col("trade_id"), sides, col("price"), col("amount"), strict=True)]
    if channel is Channel.BOOK:
        return [BookTop(*row) for row in zip(*head, _levels(col("bids")), _levels(col("asks")), col("sequence"), strict=True)]
    kinds = [StatusKind(k) for k in col("kind")]
    return [Status(*row) for row in zip(*head, kinds, col("detail"), strict=True)]


def read_window(lake: Lake, files: dict[Channel, list[DataFile]], lo: int, hi: int) -> list[Event]:
    """Every event with lo <= ts_recv < hi, in ts_recv order (ties: channel order, then file order)."""
    ts = ds.field("ts_recv")
    window = (ts >= pa.scalar(lo, TIMESTAMP)) & (ts < pa.scalar(hi, TIMESTAMP))
    streams = []
    for channel, channel_files in files.items():
        chosen = [f for f in channel_files if f.name.overlaps(lo, hi)]
        if chosen:
            table = open_dataset(lake, channel, chosen).to_table(filter=window).sort_by([("ts_recv", "ascending")])
            streams.append(to_events(channel, table))
    return list(heapq.merge(*streams, key=attrgetter("ts_recv")))


class Windows:
    """Consecutive [lo, hi) windows over the range, skipping stretches no file covers. The width adapts
    to the data: it grows while windows hold far fewer than `target_rows` events and shrinks when
    they hold far more, so sparse recordings need few reads and dense ones stay within memory."""

    def __init__(
        self,
        files: Iterable[DataFile],
        start_ns: int | None,
        end_ns: int | None,
        width_ns: int,
        target_rows: int = _TARGET_ROWS,
        max_width_ns: int = _MAX_WIDTH_NS,
    ) -> None:
        self.spans = sorted((f.name.min_ts, f.name.max_ts) for f in files)
        self.width = max(1, width_ns)
        self.target_rows = target_rows
        self.max_width = max(max_width_ns, self.width)
        if self.spans:
            last = max(high for _, high in self.spans) + 1
            self.lo = max(start_ns, self.spans[0][0]) if start_ns is not None else self.spans[0][0]
            self.end = min(end_ns, last) if end_ns is not None else last
        else:
            self.lo = self.end = 0

    def next(self, previous_rows: int | None = None) -> tuple[int, int] | None:
        """The next window, sized from how many rows the previous one held."""
        if previous_rows is not None:
            if previous_rows * 4 < self.target_rows:
                self.width = min(self.width * 4, self.max_width)
            elif previous_rows > self.target_rows * 2:
                self.width = max(self.width // 2, 1)
        while self.lo < self.end:
            lo, hi = self.lo, min(self.lo + self.width, self.end)
            if any(low < hi and high >= lo for low, high in self.spans):
                self.lo = hi
                return lo, hi
            later = [low for low, _ in self.spans if low >= hi]
            self.lo = max(hi, min(later)) if later else self.end
        return None


class _Source:
    """The snapshot and the window reads, retried from a fresh snapshot if a file vanished."""

    def __init__(
        self,
        lake: Lake,
        channels: Sequence[Channel],
        start_ns: int | None,
        end_ns: int | None,
        exchanges: Iterable[str] | None,
    ) -> None:
        self.lake = lake
        self.channels = channels
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.exchanges = list(exchanges) if exchanges is not None else None
        self.files = self.refresh()

    def refresh(self) -> dict[Channel, list[DataFile]]:
        self.files = {c: snapshot(self.lake, c, self.start_ns, self.end_ns, self.exchanges) for c in self.channels}
        return self.files

    def read(self, lo: int, hi: int) -> list[Event]:
        for attempt in range(_READ_ATTEMPTS):
            try:
                return read_window(self.lake, self.files, lo, hi)
            except FileNotFoundError:
                if attempt == _READ_ATTEMPTS - 1:
                    raise
                self.refresh()  # compaction's vacuum or retention removed a file: same rows, other files
        raise AssertionError("unreachable")


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
    source = await asyncio.to_thread(_Source, lake, channels, start_ns, end_ns, exchanges)
    plan = Windows([f for files in source.files.values() for f in files], start_ns, end_ns, seconds_to_ns(window_s))
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
