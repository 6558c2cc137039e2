"""Compaction merges closed small files into sorted target-size files: no row lost or duplicated, readers
exact throughout, idempotent, and safe to kill at any moment."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from analyzer.lake.compaction import compact, plan
from shared.clock import seconds_to_ns
from shared.events import Channel
from shared.lake.layout import TMP_DIR, TXN_DIR, FileKind, Partition
from shared.lake.manifest import DataFile, TxnState, list_records, snapshot
from shared.lake.reader import LakeReader
from shared.lake.storage import open_lake
from shared.settings.lake import CompactionSettings, LakeSettings
from tests.analyzer.lake.conftest import DAY, LATER, ROWS, lake_settings, write_small_files
from tests.shared.lake.synthetic import T0

COMPACTOR = Path(__file__).with_name("compactor.py")


def exact(settings: LakeSettings) -> tuple[int, int]:
    """(rows, distinct trade ids) through the consistent reader."""
    rows = LakeReader(settings).fetch(duckdb.connect(), Channel.TRADE, "SELECT count(*), count(DISTINCT trade_id) FROM lake")
    return rows[0]


def raw_count(root: Path) -> int:
    """What a plain glob over the directory sees (no snapshot rules)."""
    return duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{root}/market_data/trade/**/*.parquet')").fetchall()[0][0]


def data_files(root: Path) -> list[Path]:
    return sorted(root.glob("market_data/trade/*/*/*.parquet"))


def keys(table: pa.Table) -> list[tuple[str, int]]:
    return list(zip(table.column("symbol").to_pylist(), table.column("ts_recv").cast(pa.int64()).to_pylist(), strict=True))


def test_small_files_become_few_sorted_files_with_every_row_once(small_files: LakeSettings, tmp_path: Path) -> None:
    before = len(data_files(tmp_path))
    assert exact(small_files) == (ROWS, ROWS)
    report = compact(small_files, lambda: LATER)
    assert report.partitions == 4 and report.files_in == before and report.files_out == 4 and report.rows == ROWS and not report.errors
    assert exact(small_files) == (ROWS, ROWS)
    lake = open_lake(small_files)
    visible = snapshot(lake, Channel.TRADE)
    assert len(visible) == 4 and {f.name.kind for f in visible} == {FileKind.COMPACTED}
    for f in visible:
        parquet = pq.ParquetFile(tmp_path / f.rel_path)
        assert keys(parquet.read()) == sorted(keys(parquet.read()))
        assert max(parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)) <= 2_000


def test_running_again_changes_nothing(small_files: LakeSettings, tmp_path: Path) -> None:
    compact(small_files, lambda: LATER)
    files = data_files(tmp_path)
    again = compact(small_files, lambda: LATER)
    assert again.partitions == 0 and data_files(tmp_path) == files
    assert exact(small_files) == (ROWS, ROWS)


def test_outputs_are_cut_near_the_target_size_and_stay_sorted_across_files(tmp_path: Path) -> None:
    settings = lake_settings(tmp_path, compaction=CompactionSettings(target_file_mb=0.02, small_file_mb=0.02))
    write_small_files(settings)
    report = compact(settings, lambda: LATER)
    assert report.files_out > report.partitions
    for partition_files in _by_partition(settings):
        tables = [pq.read_table(tmp_path / f.rel_path) for f in partition_files]
        assert keys(pa.concat_tables(tables)) == sorted(keys(pa.concat_tables(tables)))
        assert all(f.size >= 0.02 * 1024 * 1024 for f in partition_files[:-1])
    assert exact(settings) == (ROWS, ROWS)


def _by_partition(settings: LakeSettings) -> list[list[DataFile]]:
    groups: dict[Partition, list[DataFile]] = {}
    for f in snapshot(open_lake(settings), Channel.TRADE):
        groups.setdefault(f.partition, []).append(f)
    return [sorted(g, key=lambda f: f.name.seq) for g in groups.values()]


def test_files_younger_than_the_closed_age_are_left_alone(small_files: LakeSettings) -> None:
    files = snapshot(open_lake(small_files), Channel.TRADE)
    oldest = min(f.name.max_ts for f in files)
    assert plan(files, oldest + seconds_to_ns(small_files.compaction.min_age_s), small_files) == []
    first_day_only = plan(files, T0 + DAY + seconds_to_ns(small_files.compaction.min_age_s) + 1, small_files)
    assert {p.partition.date.isoformat() for p in first_day_only} == {"2026-01-01"}


def test_replaced_files_are_deleted_only_after_the_grace_period(small_files: LakeSettings, tmp_path: Path) -> None:
    compact(small_files, lambda: LATER)
    assert raw_count(tmp_path) == 2 * ROWS  # inputs kept for readers that listed them
    grace = seconds_to_ns(small_files.compaction.grace_s)
    assert compact(small_files, lambda: LATER + grace // 2).vacuumed == 0
    report = compact(small_files, lambda: LATER + grace)
    assert report.vacuumed == 4 and report.partitions == 0
    assert raw_count(tmp_path) == ROWS and exact(small_files) == (ROWS, ROWS)
    assert list_records(open_lake(small_files), Channel.TRADE) == {TxnState.PENDING: set(), TxnState.COMMIT: set()}


def _compactor(settings: LakeSettings, now: int, block_at: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(COMPACTOR), settings.model_dump_json(), str(now), str(block_at)], stdout=subprocess.PIPE, text=True)


def test_readers_during_compaction_and_vacuum_never_miss_or_double_a_row(tmp_path: Path) -> None:
    settings = lake_settings(tmp_path, compaction=CompactionSettings(grace_s=0, target_file_mb=0.05, small_file_mb=0.05))
    write_small_files(settings)
    reader = LakeReader(settings)
    con = duckdb.connect()
    counts = []
    for now in (LATER, LATER + 1):  # compaction, then (grace 0) its vacuum deleting the inputs
        process = _compactor(settings, now)
        while process.poll() is None:
            counts.append(reader.count(Channel.TRADE))
            counts.append(reader.fetch(con, Channel.TRADE, "SELECT count(DISTINCT trade_id) FROM lake")[0][0])
        out, _ = process.communicate()
        assert process.returncode == 0, out
    assert len(counts) >= 4 and set(counts) == {ROWS}
    assert raw_count(tmp_path) == ROWS


def test_compaction_killed_before_its_commit_is_invisible_and_undone_later(small_files: LakeSettings, tmp_path: Path) -> None:
    # One partition to compact: the clock's third call stamps the commit record.
    settings = small_files.model_copy(update={"compaction": CompactionSettings(min_age_s=0)})
    lake = open_lake(settings)
    only = [p for p in plan(snapshot(lake, Channel.TRADE), LATER, settings)][:1]
    assert only
    for f in snapshot(lake, Channel.TRADE):  # keep just one partition in the lake
        if f.partition != only[0].partition:
            (tmp_path / f.rel_path).unlink()
    rows = exact(settings)
    process = _compactor(settings, LATER, block_at=3)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "started"
    assert process.stdout.readline().strip() == "blocked"
    process.kill()
    process.communicate()
    outputs = [p for p in data_files(tmp_path) if p.name.startswith("c-")]
    assert outputs, "the outputs were published"
    assert list_records(lake, Channel.TRADE)[TxnState.COMMIT] == set()
    assert exact(settings) == rows  # readers ignore the uncommitted outputs
    abandon = seconds_to_ns(settings.compaction.abandon_after_s)
    assert compact(settings, lambda: LATER + abandon // 2).partitions == 0  # maybe still running: left alone
    assert exact(settings) == rows
    report = compact(settings, lambda: LATER + abandon)
    assert report.abandoned == 1 and report.partitions == 1
    assert exact(settings) == rows
    assert not any(p.exists() for p in outputs)


def test_compaction_killed_at_random_moments_never_disturbs_readers_and_finishes_later(tmp_path: Path) -> None:
    settings = lake_settings(tmp_path, compaction=CompactionSettings(target_file_mb=0.05, small_file_mb=0.05))
    write_small_files(settings)
    rng = random.Random(7)
    for _ in range(4):
        process = _compactor(settings, LATER)
        assert process.stdout is not None and process.stdout.readline().strip() == "started"
        time.sleep(rng.uniform(0.0, 0.6))
        process.kill()
        process.communicate()
        assert exact(settings) == (ROWS, ROWS)
        for path in data_files(tmp_path):
            pq.read_metadata(path)  # no partial file is ever visible
    much_later = LATER + seconds_to_ns(max(settings.compaction.abandon_after_s, settings.compaction.grace_s))
    compact(settings, lambda: much_later)
    compact(settings, lambda: much_later + seconds_to_ns(settings.compaction.grace_s))
    assert exact(settings) == (ROWS, ROWS)
    assert raw_count(tmp_path) == ROWS  # everything replaced is gone, nothing orphaned
    assert not list((tmp_path / TMP_DIR).glob("c-*"))
    assert list((tmp_path / TXN_DIR / "trade").glob("*.pending.json")) == []


def test_a_vacuum_interrupted_halfway_is_finished_by_the_next_run(small_files: LakeSettings, tmp_path: Path) -> None:
    compact(small_files, lambda: LATER)
    lake = open_lake(small_files)
    commit = next(iter(list_records(lake, Channel.TRADE)[TxnState.COMMIT]))
    pending = tmp_path / TXN_DIR / "trade" / f"{commit}.pending.json"
    pending.unlink()  # vacuum's first step done...
    inputs = [p for p in data_files(tmp_path) if p.name.startswith("w-")]
    for path in inputs[: len(inputs) // 8]:
        path.unlink()  # ...and part of the second
    assert exact(small_files) == (ROWS, ROWS)
    compact(small_files, lambda: LATER + seconds_to_ns(small_files.compaction.grace_s))
    assert exact(small_files) == (ROWS, ROWS) and raw_count(tmp_path) == ROWS
