"""The synchronous half of the lake writer: batches of events in, one atomic file per partition out.

Runs on the writer's own thread. A partition that cannot be written (disk full, lake unwritable)
comes back as a `PendingFile` holding its already-encoded rows, to be retried by the next flush; the
caller bounds how many rows it keeps.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from collector.lake.encode import Encoded, encode, split
from shared.events import Channel, Event
from shared.lake.layout import TMP_DIR, FileKind, FileName, Partition, tmp_name
from shared.lake.storage import Lake, delete_file, list_dir, write_table
from shared.settings.lake import LakeSettings

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingFile:
    partition: Partition
    table: pa.Table

    @property
    def rows(self) -> int:
        return self.table.num_rows


@dataclass
class FlushResult:
    rows_written: int = 0
    files_written: int = 0
    bytes_written: int = 0
    rows_rejected: int = 0  # rows that can never be stored (their exchange cannot name a partition)
    failed: list[PendingFile] = field(default_factory=list)
    error: str | None = None


def new_run_id() -> str:
    return "r" + secrets.token_hex(6)


class PartitionWriter:
    def __init__(self, lake: Lake, settings: LakeSettings, run_id: str | None = None) -> None:
        self.lake = lake
        self.row_group_rows = settings.row_group_rows
        self.zstd_level = settings.zstd_level
        self.run_id = run_id or new_run_id()
        self._seq = 0
        # pyarrow encodes, compresses and writes without the GIL: a flush's partition files go out in parallel.
        self._files = ThreadPoolExecutor(settings.write_threads, "lake-file") if settings.write_threads > 1 else None

    def close(self) -> None:
        if self._files is not None:
            self._files.shutdown(wait=True)

    def write_file(self, partition: Partition, table: pa.Table) -> int:
        """Write one partition's sorted rows as a new file; returns its size in bytes."""
        return self._write(partition, table, self._name(table))

    def write_files(self, todo: Sequence[PendingFile]) -> list[int | Exception]:
        """Write each pending file (in parallel with `write_threads` > 1): its size, or why it failed."""
        names = [self._name(pending.table) for pending in todo]  # numbered here, in order, not by the threads

        def one(i: int) -> int | Exception:
            try:
                return self._write(todo[i].partition, todo[i].table, names[i])
            except Exception as exc:  # any failure: the caller keeps the rows for a retry
                return exc

        if self._files is None or len(todo) < 2:
            return [one(i) for i in range(len(todo))]
        return list(self._files.map(one, range(len(todo))))

    def _name(self, table: pa.Table) -> str:
        bounds = pc.min_max(table.column("ts_recv"))
        self._seq += 1
        return str(FileName(bounds["min"].value, bounds["max"].value, FileKind.WRITTEN, self.run_id, self._seq))

    def _write(self, partition: Partition, table: pa.Table, name: str) -> int:
        return write_table(self.lake, partition.path, name, table, tmp_name(name), self.row_group_rows, self.zstd_level)

    def flush(self, batches: Mapping[Channel, Sequence[Event]], retry: Sequence[PendingFile] = ()) -> FlushResult:
        """Write earlier failures first (oldest rows first), then the new batches."""
        result = FlushResult()
        todo = list(retry)
        for channel, events in batches.items():
            if events:
                encoded, unencodable = encode_salvaging(channel, events)
                parts, rejected = split(encoded) if encoded is not None else ([], 0)
                if unencodable:
                    result.error = f"{unencodable} {channel.value} rows have values the lake schema cannot hold"
                if rejected:
                    result.error = f"{rejected} {channel.value} rows name an exchange that cannot be a partition"
                result.rows_rejected += rejected + unencodable
                todo.extend(PendingFile(partition, table) for partition, table in parts)
        for pending, outcome in zip(todo, self.write_files(todo), strict=True):
            if isinstance(outcome, Exception):  # keep the rows, report, retry on the next flush
                result.failed.append(pending)
                result.error = f"{pending.partition.path}: {type(outcome).__name__}: {outcome}"
            else:
                result.bytes_written += outcome
                result.rows_written += pending.rows
                result.files_written += 1
        return result


def encode_salvaging(channel: Channel, events: Sequence[Event]) -> tuple[Encoded | None, int]:
    """The batch encoded; if one row cannot be (a value out of range for its column), the batch is
    encoded row by row so that only the bad rows are left out (and counted), never the whole batch."""
    try:
        return encode(channel, events), 0
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        pass
    good = []
    for event in events:
        try:
            encode(channel, [event])
        except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
            LOG.error("lake: %s row left out, it does not fit the lake schema (%s): %r", channel.value, exc, event)
        else:
            good.append(event)
    return (encode(channel, good) if good else None), len(events) - len(good)


def remove_leftover_temp_files(lake: Lake) -> int:
    """Delete the collector's temporary files left by a crash (at start; one collector per lake)."""
    removed = 0
    for info in list_dir(lake, TMP_DIR):
        if info.base_name.startswith(f"{FileKind.WRITTEN.value}-") and delete_file(lake, lake.rel(info.path)):
            removed += 1
    return removed
