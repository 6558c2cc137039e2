"""Compaction: merge a partition's small, closed files into sorted files of about the target size.

A run, per channel: first `recover` (clean up compactions that died before committing, vacuum
committed ones whose grace has passed, delete stale temporary files), then plan from a consistent
snapshot and compact each partition as one transaction (pending record, outputs, verified row
count, commit record; see shared/lake/manifest.py). Every step is safe to interrupt: until the
commit the inputs are what readers use; after it the outputs are. Running again is idempotent:
committed inputs are no longer visible, so they are never merged twice.
"""

from __future__ import annotations

import logging
import posixpath
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from shared.clock import Clock, now_ns, seconds_to_ns
from shared.events import Channel
from shared.lake.dataset import open_dataset
from shared.lake.layout import TMP_DIR, FileKind, FileName, Partition
from shared.lake.manifest import (
    CompactionRecord,
    DataFile,
    TxnState,
    list_records,
    new_txid,
    read_record,
    record_path,
    snapshot,
    txid_created_ns,
    write_record,
)
from shared.lake.schema import check_file_schema, schema_for
from shared.lake.storage import Lake, TempParquet, delete_file, list_dir, open_lake, sync_dir
from shared.settings.lake import LakeSettings

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    partition: Partition
    inputs: tuple[DataFile, ...]


@dataclass
class CompactionReport:
    partitions: int = 0
    files_in: int = 0
    files_out: int = 0
    rows: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    abandoned: int = 0  # dead compactions cleaned up
    vacuumed: int = 0  # committed compactions whose replaced files were deleted
    temp_files_removed: int = 0
    errors: list[str] = field(default_factory=list)


class CompactionError(RuntimeError):
    pass


def plan(files: Iterable[DataFile], now: int, settings: LakeSettings, busy: Iterable[Partition] = ()) -> list[Plan]:
    """Partitions with at least two small files whose newest row is older than `min_age_s`."""
    cutoff = now - seconds_to_ns(settings.compaction.min_age_s)
    skip = set(busy)
    groups: dict[Partition, list[DataFile]] = defaultdict(list)
    for f in files:
        if f.partition not in skip and f.size < settings.small_file_bytes and f.name.max_ts < cutoff:
            groups[f.partition].append(f)
    return [Plan(partition, tuple(sorted(group))) for partition, group in sorted(groups.items()) if len(group) >= 2]


class _Outputs:
    """Sorted rows in, files of about `target_bytes` out, with row groups of `row_group_rows`."""

    def __init__(self, lake: Lake, channel: Channel, txid: str, settings: LakeSettings, partition: Partition) -> None:
        self.lake = lake
        self.schema = schema_for(channel)
        self.txid = txid
        self.settings = settings
        self.partition = partition
        self.names: list[str] = []
        self.rows = 0
        self.bytes = 0
        self._held: list[pa.Table] = []
        self._held_rows = 0
        self._sink: TempParquet | None = None
        self._bounds: tuple[int, int] | None = None

    def add(self, table: pa.Table) -> None:
        self._held.append(table)
        self._held_rows += table.num_rows
        while self._held_rows >= self.settings.row_group_rows:
            merged = pa.concat_tables(self._held)
            size = self.settings.row_group_rows
            self._write(merged.slice(0, size))
            rest = merged.slice(size)
            self._held, self._held_rows = [rest], rest.num_rows

    def finish(self) -> None:
        if self._held_rows:
            self._write(pa.concat_tables(self._held))
        self._held, self._held_rows = [], 0
        self._publish()

    def discard(self) -> None:
        if self._sink is not None:
            self._sink.discard()
            self._sink = None

    def _write(self, table: pa.Table) -> None:
        if self._sink is None:
            tmp = f"{FileKind.COMPACTED.value}-{self.txid}_{len(self.names)}.tmp"
            self._sink = TempParquet(self.lake, self.schema, tmp, self.settings.row_group_rows, self.settings.zstd_level)
            self._bounds = None
        self._sink.write(table.replace_schema_metadata(self.schema.metadata))
        bounds = pc.min_max(table.column("ts_recv"))
        low, high = bounds["min"].value, bounds["max"].value
        self._bounds = (low, high) if self._bounds is None else (min(self._bounds[0], low), max(self._bounds[1], high))
        if self._sink.bytes_written >= self.settings.target_file_bytes:
            self._publish()

    def _publish(self) -> None:
        if self._sink is None or self._bounds is None:
            return
        name = str(FileName(self._bounds[0], self._bounds[1], FileKind.COMPACTED, self.txid, len(self.names)))
        self.rows += self._sink.rows
        self.bytes += self._sink.publish(self.partition.path, name)
        self.names.append(name)
        self._sink = None


def _symbols(dataset: ds.Dataset) -> list[str | None]:
    values = pc.unique(dataset.to_table(columns=["symbol"]).column("symbol")).to_pylist()
    return sorted(v for v in values if v is not None) + ([None] if None in values else [])


def compact_partition(lake: Lake, job: Plan, settings: LakeSettings, clock: Clock = now_ns) -> CompactionRecord:
    """One transaction: the plan's inputs replaced by sorted outputs with exactly the same rows."""
    channel = job.partition.channel
    rows_in = 0
    for f in job.inputs:
        metadata = pq.read_metadata(lake.path(f.rel_path), filesystem=lake.fs)
        check_file_schema(channel, metadata.schema.to_arrow_schema(), f.rel_path)
        rows_in += metadata.num_rows
    started = clock()
    txid = new_txid(started)
    record = CompactionRecord(
        txid=txid,
        channel=channel,
        date=job.partition.date,
        exchange=job.partition.exchange,
        created_ns=started,
        inputs=tuple(str(f.name) for f in job.inputs),
    )
    write_record(lake, record, TxnState.PENDING)
    outputs = _Outputs(lake, channel, txid, settings, job.partition)
    try:
        dataset = open_dataset(lake, channel, job.inputs)
        columns = schema_for(channel).names
        for symbol in _symbols(dataset):
            match = ds.field("symbol").is_null() if symbol is None else ds.field("symbol") == symbol
            rows = dataset.to_table(columns=columns, filter=match)
            outputs.add(rows.sort_by([("ts_recv", "ascending")]))
        outputs.finish()
        if outputs.rows != rows_in:
            raise CompactionError(f"{job.partition.path}: wrote {outputs.rows} rows from {rows_in}; not committed")
        committed = msgspec.structs.replace(record, outputs=tuple(outputs.names), rows=rows_in, bytes=outputs.bytes, committed_ns=clock())
        write_record(lake, committed, TxnState.COMMIT)
    except BaseException:
        _undo(lake, record, outputs)
        raise
    return committed


def _undo(lake: Lake, record: CompactionRecord, outputs: _Outputs) -> None:
    """Best effort after a failure before the commit; what is left, `recover` removes later."""
    try:
        if read_record(lake, record.channel, record.txid, TxnState.COMMIT) is not None:
            return  # the commit landed after all (the move raised afterwards): the outputs are live
        outputs.discard()
        for name in outputs.names:
            delete_file(lake, f"{record.partition.path}/{name}")
        sync_dir(lake, record.partition.path)  # outputs gone for good before the record that hides them
        delete_file(lake, record_path(record.channel, record.txid, TxnState.PENDING))
    except Exception:
        LOG.warning("could not undo compaction %s; a later run cleans it up", record.txid, exc_info=True)


def recover(lake: Lake, channel: Channel, settings: LakeSettings, now: int, report: CompactionReport) -> set[Partition]:
    """Finish or undo earlier compactions of `channel`; returns partitions with a compaction still running."""
    grace = seconds_to_ns(settings.compaction.grace_s)
    abandon = seconds_to_ns(settings.compaction.abandon_after_s)
    names = list_records(lake, channel)
    busy = set()
    for txid in sorted(names[TxnState.PENDING] - names[TxnState.COMMIT]):
        record = read_record(lake, channel, txid, TxnState.PENDING)
        if record is None:
            continue
        if now - txid_created_ns(txid) < abandon:
            busy.add(record.partition)  # another compactor may be working on it
            continue
        # Outputs first, then the record: while the record exists, readers ignore the outputs. Each
        # step is made durable before the next, or a power cut could keep the later one only.
        for info in list_dir(lake, record.partition.path):
            name = FileName.parse(info.base_name)
            if name is not None and name.kind is FileKind.COMPACTED and name.owner == txid:
                delete_file(lake, lake.rel(info.path))
        sync_dir(lake, record.partition.path)
        delete_file(lake, record_path(channel, txid, TxnState.PENDING))
        report.abandoned += 1
    for txid in sorted(names[TxnState.COMMIT]):
        record = read_record(lake, channel, txid, TxnState.COMMIT)
        if record is None or now - (record.committed_ns or record.created_ns) < grace:
            continue
        # Pending record, then inputs, then the commit record (see shared/lake/manifest.py), each step
        # durable before the next: a commit record gone while an input survived would count rows twice.
        delete_file(lake, record_path(channel, txid, TxnState.PENDING))
        sync_dir(lake, posixpath.dirname(record_path(channel, txid, TxnState.PENDING)))
        for input_name in record.inputs:
            delete_file(lake, f"{record.partition.path}/{input_name}")
        sync_dir(lake, record.partition.path)
        delete_file(lake, record_path(channel, txid, TxnState.COMMIT))
        report.vacuumed += 1
    return busy


def remove_stale_temp_files(lake: Lake, settings: LakeSettings, now: int) -> int:
    """Compaction's own temporary files (`c-<txid>_<n>.tmp`, `r-<txid>.<state>.tmp`) of transactions
    older than `abandon_after_s`; the age comes from the transaction id, the same clock as the records."""
    abandon = seconds_to_ns(settings.compaction.abandon_after_s)
    removed = 0
    for info in list_dir(lake, TMP_DIR):
        txid = _temp_txid(info.base_name)
        if txid is not None and now - txid_created_ns(txid) >= abandon:
            removed += delete_file(lake, lake.rel(info.path))
    return removed


def _temp_txid(name: str) -> str | None:
    if not name.startswith(("c-", "r-")):
        return None
    txid = name[2:].split("_")[0].split(".")[0]
    return txid if len(txid) > 20 and txid[0] == "t" and txid[1:20].isdigit() else None


def compact(
    settings: LakeSettings,
    clock: Clock = now_ns,
    channels: Sequence[Channel] = tuple(Channel),
    lake: Lake | None = None,
) -> CompactionReport:
    """One compaction run over the lake (one compactor at a time; see docs/lake.md)."""
    lake = lake or open_lake(settings)
    now = clock()
    report = CompactionReport()
    report.temp_files_removed = remove_stale_temp_files(lake, settings, now)
    for channel in channels:
        busy = recover(lake, channel, settings, now, report)
        for job in plan(snapshot(lake, channel), now, settings, busy):
            try:
                record = compact_partition(lake, job, settings, clock)
            except Exception as exc:  # this partition stays as it was; the others go on
                LOG.exception("compacting %s failed", job.partition.path)
                report.errors.append(f"{job.partition.path}: {type(exc).__name__}: {exc}")
                continue
            report.partitions += 1
            report.files_in += len(job.inputs)
            report.files_out += len(record.outputs)
            report.rows += record.rows
            report.bytes_in += sum(f.size for f in job.inputs)
            report.bytes_out += record.bytes
    return report
