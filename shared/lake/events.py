"""The lake read back as events, in receive-time order across channels: what `replay-lake` publishes
and what the trader's backtest trades on.

Ranges are half-open [start_ns, end_ns) on `ts_recv`. Reading goes window by window of recorded
time: each window is read from one consistent snapshot (row-group statistics skip the rest of each
file), turned into events and merged across channels. Window widths adapt to the data (`Windows`),
so memory holds about one window (two while the next is read ahead, `read_events(prefetch=True)`).
A file that vanishes under a read (compaction's vacuum, retention) makes the window be read again
from a fresh snapshot: the same rows, from other files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain, pairwise
from operator import attrgetter

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from shared.events import BookTop, Channel, Event, Level, Side, Status, StatusKind, Ticker, Trade
from shared.lake.dataset import open_dataset
from shared.lake.manifest import DataFile, snapshot
from shared.lake.schema import TIMESTAMP
from shared.lake.storage import Lake

__all__ = ["EventSource", "Windows", "parse_instant", "read_events", "read_window", "to_events"]

READ_ATTEMPTS = 3
TARGET_ROWS = 100_000  # events per window the width adapts towards
MAX_WIDTH_NS = 86_400 * 1_000_000_000
DEFAULT_WINDOW_NS = 60 * 1_000_000_000


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


# rows -> events ---------------------------------------------------------------------------


def _ints(table: pa.Table, name: str) -> list[int]:
    return table.column(name).cast(pa.int64()).to_pylist()


def _levels(column: pa.ChunkedArray) -> list[tuple[Level, ...]]:
    """A list<struct<price, size>> column as tuples of (price, size) per row, from flat value arrays
    (much faster than converting every struct to a dict)."""
    out: list[tuple[Level, ...]] = []
    for chunk in column.chunks:
        if chunk.null_count:  # the writer never writes a null side; read one as empty
            out += [tuple((level["price"], level["size"]) for level in levels or ()) for levels in chunk.to_pylist()]
            continue
        offsets = pc.subtract(chunk.offsets, chunk.offsets[0]).to_pylist()
        values = chunk.flatten()
        pairs = list(zip(values.field("price").to_pylist(), values.field("size").to_pylist(), strict=True))
        out += [tuple(pairs[lo:hi]) for lo, hi in pairwise(offsets)]
    return out


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
        levels = (_levels(table.column("bids")), _levels(table.column("asks")))
        return [BookTop(*row) for row in zip(*head, *levels, col("sequence"), strict=True)]
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
    # A stable sort of the channels' sorted runs, one after another, merges them as heapq.merge does (ties in
    # channel order), in C: 8 ms against 60 ms for 100k events, on the thread that holds the GIL.
    return sorted(chain.from_iterable(streams), key=attrgetter("ts_recv"))


# windows -----------------------------------------------------------------------------------


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
        target_rows: int = TARGET_ROWS,
        max_width_ns: int = MAX_WIDTH_NS,
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


class EventSource:
    """The snapshot of a range and its window reads, retried from a fresh snapshot if a file vanished."""

    def __init__(
        self,
        lake: Lake,
        channels: Sequence[Channel] = tuple(Channel),
        start_ns: int | None = None,
        end_ns: int | None = None,
        exchanges: Iterable[str] | None = None,
    ) -> None:
        self.lake = lake
        self.channels = tuple(channels)
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.exchanges = list(exchanges) if exchanges is not None else None
        self.files = self.refresh()

    def refresh(self) -> dict[Channel, list[DataFile]]:
        self.files = {c: snapshot(self.lake, c, self.start_ns, self.end_ns, self.exchanges) for c in self.channels}
        return self.files

    def windows(self, width_ns: int = DEFAULT_WINDOW_NS, target_rows: int = TARGET_ROWS) -> Windows:
        return Windows([f for files in self.files.values() for f in files], self.start_ns, self.end_ns, width_ns, target_rows)

    def read(self, lo: int, hi: int) -> list[Event]:
        for attempt in range(READ_ATTEMPTS):
            try:
                return read_window(self.lake, self.files, lo, hi)
            except FileNotFoundError:
                if attempt == READ_ATTEMPTS - 1:
                    raise
                self.refresh()  # compaction's vacuum or retention removed a file: same rows, other files
        raise AssertionError("unreachable")


def read_events(source: EventSource, width_ns: int = DEFAULT_WINDOW_NS, *, prefetch: bool = True,
                target_rows: int = TARGET_ROWS) -> Iterator[list[Event]]:
    """The range window by window, each window's events in receive-time order. With `prefetch`, the
    next window is read on a thread while the caller handles the current one (pyarrow releases the GIL)."""
    plan = source.windows(width_ns, target_rows)
    if not prefetch:
        rows = None
        while (window := plan.next(rows)) is not None:
            events = source.read(*window)
            rows = len(events)
            yield events
        return
    with ThreadPoolExecutor(1, thread_name_prefix="lake-read") as pool:
        window = plan.next()
        pending: Future[list[Event]] | None = pool.submit(source.read, *window) if window else None
        while pending is not None:
            events = pending.result()
            window = plan.next(len(events))
            pending = pool.submit(source.read, *window) if window else None
            yield events
