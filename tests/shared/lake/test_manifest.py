"""The snapshot rule: every row once, whatever step a compaction (or its vacuum) is at."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from shared.events import Channel
from shared.lake.layout import FileKind, FileName, Partition
from shared.lake.manifest import (
    CompactionRecord,
    DataFile,
    TxnLog,
    TxnState,
    list_records,
    new_txid,
    read_log,
    snapshot,
    txid_created_ns,
    visible,
    write_record,
)
from shared.lake.schema import schema_for
from shared.lake.storage import Lake, delete_file, open_lake, write_table
from shared.settings.lake import LakeSettings

PART = Partition(Channel.TRADE, dt.date(2026, 1, 1), "binance")
T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
TX = "t0000000000000000001abcd"
W1 = DataFile(PART, FileName(T0 + 1, T0 + 2, FileKind.WRITTEN, "r1", 1), 10)
W2 = DataFile(PART, FileName(T0 + 3, T0 + 4, FileKind.WRITTEN, "r1", 2), 10)
W3 = DataFile(PART, FileName(T0 + 5, T0 + 6, FileKind.WRITTEN, "r1", 3), 10)  # written after the compaction planned
OUT = DataFile(PART, FileName(T0 + 1, T0 + 4, FileKind.COMPACTED, TX, 0), 20)
RECORD = CompactionRecord(TX, Channel.TRADE, PART.date, PART.exchange, 1, inputs=(str(W1.name), str(W2.name)), outputs=(str(OUT.name),))
NOTHING = TxnLog(frozenset(), {})


def rows(files: list[DataFile]) -> set[str]:
    return {str(f.name) for f in files}


def test_without_compaction_everything_is_visible() -> None:
    assert visible([W1, W2, W3], NOTHING, ()) == [W1, W2, W3]


def test_outputs_of_a_running_compaction_are_hidden() -> None:
    log = TxnLog(frozenset({TX}), {})
    assert rows(visible([W1, W2, W3, OUT], log, {TX})) == rows([W1, W2, W3])


def test_committed_compaction_replaces_its_inputs() -> None:
    log = TxnLog(frozenset({TX}), {TX: RECORD})
    assert rows(visible([W1, W2, W3, OUT], log, {TX})) == rows([W3, OUT])


def test_compaction_that_started_while_listing_is_hidden_even_if_committed_by_the_second_listing() -> None:
    # R1 saw nothing; the data listing caught both inputs and outputs; R2 sees the transaction.
    assert rows(visible([W1, W2, W3, OUT], NOTHING, {TX})) == rows([W1, W2, W3])


def test_finished_compaction_leaves_plain_files() -> None:
    # Vacuum done: inputs and records gone, the outputs are ordinary data.
    assert rows(visible([W3, OUT], NOTHING, ())) == rows([W3, OUT])


def test_mid_vacuum_states_still_count_each_row_once() -> None:
    # Pending record gone, inputs partly deleted, commit record still there.
    log = TxnLog(frozenset(), {TX: RECORD})
    assert rows(visible([W2, W3, OUT], log, {TX})) == rows([W3, OUT])


def test_txid_carries_its_start_time() -> None:
    assert txid_created_ns(new_txid(1_767_225_600_000_000_123)) == 1_767_225_600_000_000_123
    assert new_txid(5) != new_txid(5)


def _file(lake: Lake, f: DataFile) -> None:
    table = pa.Table.from_pylist([], schema=schema_for(Channel.TRADE))
    write_table(lake, f.partition.path, str(f.name), table, f"w-{f.name.seq}.tmp", 10_000, 1)


def test_snapshot_reads_records_and_files_from_the_lake(tmp_path: Path) -> None:
    lake = open_lake(LakeSettings(root=str(tmp_path), fsync=False))
    for f in (W1, W2, W3, OUT):
        _file(lake, f)
    assert rows(snapshot(lake, Channel.TRADE)) == rows([W1, W2, W3, OUT])
    write_record(lake, RECORD, TxnState.PENDING)
    assert rows(snapshot(lake, Channel.TRADE)) == rows([W1, W2, W3])
    write_record(lake, RECORD, TxnState.COMMIT)
    assert rows(snapshot(lake, Channel.TRADE)) == rows([W3, OUT])
    assert read_log(lake, Channel.TRADE).committed[TX] == RECORD
    assert list_records(lake, Channel.TRADE) == {TxnState.PENDING: {TX}, TxnState.COMMIT: {TX}}
    # Pruning by time and exchange uses names only.
    assert rows(snapshot(lake, Channel.TRADE, start_ns=T0 + 5, end_ns=T0 + 6)) == rows([W3])
    assert snapshot(lake, Channel.TRADE, exchanges=["bybit"]) == []
    assert snapshot(lake, Channel.TICKER) == []


def test_snapshot_ignores_foreign_files(tmp_path: Path) -> None:
    lake = open_lake(LakeSettings(root=str(tmp_path), fsync=False))
    _file(lake, W1)
    (tmp_path / PART.path / "notes.txt").write_text("x")
    (tmp_path / PART.path / "part-0.parquet").write_bytes(b"")
    assert rows(snapshot(lake, Channel.TRADE)) == rows([W1])
    delete_file(lake, W1.rel_path)
    assert snapshot(lake, Channel.TRADE) == []
