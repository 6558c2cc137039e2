"""Which files a reader may use: the compaction log and the consistent snapshot built on it.

The collector only ever adds files. Compaction replaces a set of files of one partition with new
ones, and records that in two small files under `_lake/txn/<channel>/`:

1. `<txid>.pending.json` is written before any output exists;
2. the outputs are published (`c-...-<txid>_<n>.parquet`);
3. `<txid>.commit.json` (inputs, outputs, row count) is written: the switch-over;
4. after `grace_s`, vacuum deletes the pending record, then the inputs, then the commit record.

A snapshot lists the records (R1), then the data files, then the record names again (R2), and keeps
every data file except the inputs of transactions committed in R1, and the outputs of every
transaction that is not committed in R1 but appears in R1 or R2 (running, or committed while we
listed: its inputs are still there). A transaction seen in neither listing has finished its vacuum
(its inputs are gone, its outputs are plain data) or has not started. So a snapshot holds each row
exactly once, provided listing takes less than `grace_s`; see docs/lake.md for the full argument.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import msgspec

from shared.events import Channel
from shared.lake.layout import (
    TXN_DIR,
    FileKind,
    FileName,
    Partition,
    channel_dir,
    days_overlapping,
    parse_date_dir,
    parse_exchange_dir,
)
from shared.lake.storage import Lake, list_dir, read_bytes, write_bytes


class TxnState(StrEnum):
    PENDING = "pending"
    COMMIT = "commit"


class CompactionRecord(msgspec.Struct, frozen=True):
    txid: str
    channel: Channel
    date: dt.date
    exchange: str
    created_ns: int
    inputs: tuple[str, ...]  # file names inside the partition
    outputs: tuple[str, ...] = ()
    rows: int = 0
    bytes: int = 0  # total size of the outputs
    committed_ns: int | None = None  # when the commit record was written; vacuum waits grace_s from it

    @property
    def partition(self) -> Partition:
        return Partition(self.channel, self.date, self.exchange)


@dataclass(frozen=True, order=True)
class DataFile:
    partition: Partition
    name: FileName
    size: int

    @property
    def rel_path(self) -> str:
        return f"{self.partition.path}/{self.name}"


@dataclass(frozen=True)
class TxnLog:
    """The compaction records of one channel, as one listing saw them."""

    pending: frozenset[str]
    committed: dict[str, CompactionRecord]

    @property
    def known(self) -> frozenset[str]:
        return self.pending | self.committed.keys()


_STATES = frozenset(state.value for state in TxnState)


def new_txid(now_ns: int) -> str:
    return f"t{now_ns:019d}{secrets.token_hex(4)}"


def txid_created_ns(txid: str) -> int:
    return int(txid[1:20])


def record_path(channel: Channel, txid: str, state: TxnState) -> str:
    return f"{TXN_DIR}/{channel.value}/{txid}.{state.value}.json"


def write_record(lake: Lake, record: CompactionRecord, state: TxnState) -> None:
    data = msgspec.json.encode(record)
    write_bytes(lake, record_path(record.channel, record.txid, state), data, f"r-{record.txid}.{state.value}.tmp")


def read_record(lake: Lake, channel: Channel, txid: str, state: TxnState) -> CompactionRecord | None:
    try:
        data = read_bytes(lake, record_path(channel, txid, state))
    except FileNotFoundError:
        return None  # removed by vacuum or cleanup since it was listed
    return msgspec.json.decode(data, type=CompactionRecord)


def list_records(lake: Lake, channel: Channel) -> dict[TxnState, set[str]]:
    """Transaction ids by record kind, from names only."""
    found: dict[TxnState, set[str]] = {state: set() for state in TxnState}
    for info in list_dir(lake, f"{TXN_DIR}/{channel.value}"):
        parts = info.base_name.split(".")
        if len(parts) == 3 and parts[2] == "json" and parts[1] in _STATES:
            found[TxnState(parts[1])].add(parts[0])
    return found


def read_log(lake: Lake, channel: Channel) -> TxnLog:
    names = list_records(lake, channel)
    committed = {}
    for txid in names[TxnState.COMMIT]:
        record = read_record(lake, channel, txid, TxnState.COMMIT)
        if record is not None:
            committed[txid] = record
    return TxnLog(frozenset(names[TxnState.PENDING]), committed)


def visible(files: Iterable[DataFile], before: TxnLog, after_known: Iterable[str]) -> list[DataFile]:
    """The consistent subset of `files` (listed after `before` and before `after_known`)."""
    replaced = {(record.partition, name) for record in before.committed.values() for name in record.inputs}
    hidden = (before.pending | frozenset(after_known)) - before.committed.keys()
    return [f for f in files if (f.partition, str(f.name)) not in replaced and not (f.name.kind is FileKind.COMPACTED and f.name.owner in hidden)]


def list_data_files(
    lake: Lake,
    channel: Channel,
    start_ns: int | None = None,
    end_ns: int | None = None,
    exchanges: Iterable[str] | None = None,
) -> list[DataFile]:
    """Every data file of `channel` whose name says it meets [start_ns, end_ns), sorted by partition and time."""
    wanted = set(exchanges) if exchanges is not None else None
    found = []
    for day in list_dir(lake, channel_dir(channel)):
        date = parse_date_dir(day.base_name)
        if date is None or not days_overlapping(date, start_ns, end_ns):
            continue
        for info in list_dir(lake, lake.rel(day.path), recursive=True):
            name = FileName.parse(info.base_name)
            exchange = parse_exchange_dir(info.path.rsplit("/", 2)[-2])
            if name is None or exchange is None or (wanted is not None and exchange not in wanted):
                continue
            if name.overlaps(start_ns, end_ns):
                found.append(DataFile(Partition(channel, date, exchange), name, int(info.size or 0)))
    return sorted(found)


def snapshot(
    lake: Lake,
    channel: Channel,
    start_ns: int | None = None,
    end_ns: int | None = None,
    exchanges: Iterable[str] | None = None,
) -> list[DataFile]:
    """The files to read for `channel` in [start_ns, end_ns): each row once, even while compaction runs."""
    before = read_log(lake, channel)
    files = list_data_files(lake, channel, start_ns, end_ns, exchanges)
    after = list_records(lake, channel)
    return visible(files, before, after[TxnState.PENDING] | after[TxnState.COMMIT])
