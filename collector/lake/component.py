"""The lake writer as a collector component: buffers events on the loop, writes them on its own thread.

On the event loop the consumer only appends to a list. Every `flush_interval_s` (or as soon as a
channel holds `flush_rows`, or the buffers hold half of `max_buffered_bytes`) the buffers are
swapped out and handed to one writer thread, which encodes, sorts and writes a file per partition.
Memory is bounded in bytes: rows buffered, being written and waiting for a retry count against
`max_buffered_bytes` (events by the estimate of collector/lake/sizes.py, encoded rows by their Arrow
size); past it new rows are dropped, counted (`rows_overflowed`, also in `rows_unwritten`) and
logged at most every 10 s, while the collector keeps streaming to its other consumers. A failed
write (disk full, unwritable lake) keeps its rows for the next flush, so writing resumes by itself.
`stop()` writes everything it holds before returning.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from collector.dispatch import Dispatcher
from collector.lake.sizes import event_bytes
from collector.lake.writer import PartitionWriter, PendingFile, remove_leftover_temp_files
from collector.overflow import OverflowCounter
from shared.clock import Clock, now_ns
from shared.events import Channel, Event, channel_of
from shared.lake.storage import open_lake
from shared.settings import Settings
from shared.settings.lake import LakeSettings

LOG = logging.getLogger(__name__)

_FINAL_ATTEMPTS = 3  # at stop, a failing lake gets this many tries before the rows are given up
_FINAL_RETRY_S = 0.2


@dataclass(frozen=True)
class LakeStats:
    rows_written: int
    files_written: int
    bytes_written: int
    rows_buffered: int  # held in memory: buffered, being written or waiting for a retry
    bytes_buffered: int  # the memory those rows hold, as counted against max_buffered_bytes
    rows_overflowed: int  # dropped because max_buffered_bytes was reached
    rows_unwritten: int  # dropped for good (memory bound reached, unstorable, or still failing at stop)
    write_errors: int  # failed file writes (each is retried)
    last_error: str | None
    last_error_ns: int | None
    last_write_ns: int | None
    failing: bool  # the last write attempt failed and rows are waiting for a retry

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LakeWriterComponent:
    name = "lake"

    def __init__(self, settings: LakeSettings, dispatcher: Dispatcher, clock: Clock = now_ns) -> None:
        self.settings = settings
        self.dispatcher = dispatcher
        self.clock = clock
        self._buffers: dict[Channel, list[Event]] = {channel: [] for channel in Channel}
        self._channel_bytes: dict[Channel, int] = dict.fromkeys(Channel, 0)  # of the events in _buffers
        self._buffer_bytes = 0  # their sum
        self._full: set[Channel] = set()
        self._failed: list[PendingFile] = []
        self._failed_bytes = 0
        self._held = 0
        self._held_bytes = 0  # buffered, being written and failed
        self._overflow = OverflowCounter(
            LOG, f"lake: memory bound (lake.max_buffered_bytes, {settings.max_buffered_bytes / 2**20:g} MiB) reached, rows")
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._detach: Callable[[], None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._writer: PartitionWriter | None = None
        self._rows_written = 0
        self._files_written = 0
        self._bytes_written = 0
        self._unwritten = 0
        self._write_errors = 0
        self._last_error: str | None = None
        self._last_error_ns: int | None = None
        self._last_write_ns: int | None = None

    # component ------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lake-writer")
        lake = await loop.run_in_executor(self._executor, open_lake, self.settings)
        self._writer = PartitionWriter(lake, self.settings)
        try:
            removed = await loop.run_in_executor(self._executor, remove_leftover_temp_files, lake)
            if removed:
                LOG.info("removed %d temporary files left by an earlier run", removed)
        except Exception as exc:  # an unwritable lake must not stop the collector
            self._error(f"cleaning temporary files: {type(exc).__name__}: {exc}")
        self._detach = self.dispatcher.attach(self._consume)
        self._task = asyncio.create_task(self._run(), name="lake-flush")
        LOG.info("lake writer on %s (run %s)", lake.root, self._writer.run_id)

    async def stop(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        for attempt in range(_FINAL_ATTEMPTS):
            await self._flush(None)
            if not self._failed:
                break
            if attempt < _FINAL_ATTEMPTS - 1:
                await asyncio.sleep(_FINAL_RETRY_S)
        if self._failed:
            lost = sum(p.rows for p in self._failed)
            LOG.error("lake: %d rows could not be written before exit: %s", lost, self._last_error)
            self._give_up(lost, self._failed_bytes)
            self._failed, self._failed_bytes = [], 0
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._writer is not None:
            self._writer.close()

    # health and metrics -----------------------------------------------------------

    def stats(self) -> LakeStats:
        return LakeStats(
            rows_written=self._rows_written,
            files_written=self._files_written,
            bytes_written=self._bytes_written,
            rows_buffered=self._held,
            bytes_buffered=self._held_bytes,
            rows_overflowed=self._overflow.total,
            rows_unwritten=self._unwritten,
            write_errors=self._write_errors,
            last_error=self._last_error,
            last_error_ns=self._last_error_ns,
            last_write_ns=self._last_write_ns,
            failing=bool(self._failed),
        )

    # the event loop side ----------------------------------------------------------

    def _consume(self, event: Event) -> None:
        size = event_bytes(event)
        if self._held_bytes + size > self.settings.max_buffered_bytes:
            self._unwritten += 1
            self._overflow.add()
            return
        channel = channel_of(event)
        buffer = self._buffers[channel]
        buffer.append(event)
        self._held += 1
        self._held_bytes += size
        self._channel_bytes[channel] += size
        self._buffer_bytes += size
        if len(buffer) >= self.settings.flush_rows:
            self._full.add(channel)
            self._wake.set()
        elif self._buffer_bytes * 2 >= self.settings.max_buffered_bytes and not self._full:
            # Hand the rows to the writer while there is room left for the ones arriving meanwhile.
            self._full.update(c for c, rows in self._buffers.items() if rows)
            self._wake.set()

    async def _run(self) -> None:
        interval = self.settings.flush_interval_s
        deadline = time.monotonic() + interval
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                break
            if time.monotonic() >= deadline:
                deadline = time.monotonic() + interval
                await self._flush(None)
            elif self._full:
                await self._flush(set(self._full))

    async def _flush(self, channels: Iterable[Channel] | None) -> None:
        """Hand the buffers of `channels` (all if None) and every earlier failure to the writer thread."""
        batches = {}
        batch_bytes = 0
        for channel in Channel if channels is None else channels:
            self._full.discard(channel)
            if self._buffers[channel]:
                batches[channel], self._buffers[channel] = self._buffers[channel], []
                batch_bytes += self._channel_bytes[channel]
                self._channel_bytes[channel] = 0
        self._buffer_bytes -= batch_bytes
        retry, self._failed = self._failed, []
        retry_bytes, self._failed_bytes = self._failed_bytes, 0
        if not batches and not retry:
            return
        assert self._executor is not None and self._writer is not None
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._executor, self._writer.flush, batches, retry)
        except Exception as exc:  # a bug in encoding: these rows are lost, the writer goes on
            LOG.exception("lake: encoding a batch failed")
            self._error(f"encoding: {type(exc).__name__}: {exc}")
            self._give_up(sum(map(len, batches.values())) + sum(p.rows for p in retry), batch_bytes + retry_bytes)
            return
        self._failed_bytes = sum(p.table.nbytes for p in result.failed)
        self._held_bytes += self._failed_bytes - batch_bytes - retry_bytes
        self._held -= result.rows_written + result.rows_rejected
        self._unwritten += result.rows_rejected
        self._rows_written += result.rows_written
        self._files_written += result.files_written
        self._bytes_written += result.bytes_written
        if result.files_written:
            self._last_write_ns = self.clock()
        self._failed = result.failed
        if result.failed:
            self._write_errors += len(result.failed)
        if result.error is not None:
            self._error(result.error)
        elif retry and not result.failed:
            LOG.warning("lake: writing again after %d failed writes", self._write_errors)

    def _give_up(self, rows: int, size: int) -> None:
        self._held -= rows
        self._held_bytes -= size
        self._unwritten += rows

    def _error(self, message: str) -> None:
        if message != self._last_error:
            LOG.warning("lake: %s", message)
        self._last_error = message
        self._last_error_ns = self.clock()


def lake_component(settings: Settings, dispatcher: Dispatcher) -> LakeWriterComponent:
    """The collector's lake writer (the caller decides whether `settings.lake.enabled`)."""
    return LakeWriterComponent(settings.lake, dispatcher)
