"""The consistent reader: files, DuckDB relations and Arrow tables for a channel and time range, exact."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from analyzer.lake.compaction import compact
from shared.events import Channel
from shared.lake.dataset import full_schema
from shared.lake.reader import LakeReader, lake_view, retrying, time_filter, ts_literal
from shared.settings.lake import LakeSettings
from tests.analyzer.lake.conftest import DAY, LATER, ROWS, STEP
from tests.shared.lake.synthetic import T0


def test_relation_has_lake_types_and_the_exact_range(small_files: LakeSettings) -> None:
    con = duckdb.connect()
    start, end = T0 + DAY // 2, T0 + DAY + DAY // 3
    rel = LakeReader(small_files).relation(con, Channel.TRADE, start, end)
    types = dict(zip(rel.columns, map(str, rel.types), strict=True))
    assert types == {
        "symbol": "VARCHAR",
        "ts_event": "TIMESTAMPTZ_NS",
        "ts_recv": "TIMESTAMPTZ_NS",
        "trade_id": "VARCHAR",
        "side": "VARCHAR",
        "price": "DOUBLE",
        "amount": "DOUBLE",
        "date": "DATE",
        "exchange": "VARCHAR",
    }
    expected = sum(1 for i in range(ROWS) if start <= T0 + i * STEP < end)
    assert rel.aggregate("count(*), min(epoch_ns(ts_recv)), max(epoch_ns(ts_recv))").fetchall() == [
        (expected, min(T0 + i * STEP for i in range(ROWS) if T0 + i * STEP >= start), max(T0 + i * STEP for i in range(ROWS) if T0 + i * STEP < end))
    ]


def test_the_range_prunes_files_by_name(small_files: LakeSettings) -> None:
    reader = LakeReader(small_files)
    every = reader.files(Channel.TRADE)
    some = reader.files(Channel.TRADE, T0 + DAY, T0 + DAY + DAY // 10)
    assert 0 < len(some) < len(every) / 5
    assert reader.files(Channel.TRADE, exchanges=["bybit"]) == [f for f in every if f.partition.exchange == "bybit"]


def test_fetch_count_and_table_agree(small_files: LakeSettings) -> None:
    reader = LakeReader(small_files)
    start, end = T0 + 1000 * STEP, T0 + 3000 * STEP
    assert reader.count(Channel.TRADE, start, end) == 2000
    assert reader.fetch(duckdb.connect(), Channel.TRADE, "SELECT count(DISTINCT trade_id) FROM lake", start, end) == [(2000,)]
    table = reader.table(Channel.TRADE, start, end, columns=["trade_id", "exchange"])
    assert table.num_rows == 2000 and table.schema.names == ["trade_id", "exchange"]
    assert sorted(map(int, table.column("trade_id").to_pylist())) == list(range(1000, 3000))


def test_an_empty_range_is_an_empty_relation_with_the_full_schema(small_files: LakeSettings) -> None:
    rel = LakeReader(small_files).relation(duckdb.connect(), Channel.BOOK, T0, T0 + DAY)
    assert rel.columns == full_schema(Channel.BOOK).names
    assert rel.aggregate("count(*)").fetchall() == [(0,)]


def test_timestamp_literal_is_exact_whatever_the_session_time_zone() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    assert con.execute(f"SELECT epoch_ns({ts_literal(T0 + 123_456_789)})").fetchall() == [(T0 + 123_456_789,)]
    assert time_filter(None, None) is None
    assert time_filter(T0, None) == f"ts_recv >= {ts_literal(T0)}"


def test_a_read_that_lost_a_file_starts_over_from_a_new_snapshot() -> None:
    attempts = []

    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise FileNotFoundError("vacuumed meanwhile")
        return 7

    assert retrying(flaky) == 7 and len(attempts) == 2
    with pytest.raises(ValueError):
        retrying(lambda: (_ for _ in ()).throw(ValueError("not about files")))


def glob_count(root: Path) -> int:
    """What the plain-glob query (the way not to read the lake) counts."""
    sql = f"SELECT count(*) FROM read_parquet('{root}/market_data/trade/**/*.parquet', hive_partitioning = true)"
    return int(duckdb.connect().execute(sql).fetchall()[0][0])


def test_lake_view_counts_every_row_once_during_and_after_a_compaction_where_a_glob_double_counts(
    small_files: LakeSettings, tmp_path: Path
) -> None:
    compactor = Path(__file__).with_name("compactor.py")
    # During: the first partition's outputs are published and its commit is not written yet.
    process = subprocess.Popen([sys.executable, str(compactor), small_files.model_dump_json(), str(LATER), "3"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "started"
        assert process.stdout.readline().strip() == "blocked"
        con = duckdb.connect()
        lake_view(con, str(tmp_path), "trade")
        assert con.execute("SELECT count(*), count(DISTINCT trade_id) FROM trade").fetchall() == [(ROWS, ROWS)]
        assert glob_count(tmp_path) > ROWS
    finally:
        process.kill()
        process.communicate()
    # After: the other partitions committed, their replaced files kept for compaction.grace_s.
    assert compact(small_files, lambda: LATER + 1).partitions == 3
    con = duckdb.connect()
    lake_view(con, small_files, Channel.TRADE)
    assert con.execute("SELECT count(*), count(DISTINCT trade_id) FROM trade").fetchall() == [(ROWS, ROWS)]
    assert glob_count(tmp_path) == 2 * ROWS


def test_lake_view_prunes_by_range_and_exchange_under_the_name_given(small_files: LakeSettings) -> None:
    con = duckdb.connect()
    start, end = T0 + 1000 * STEP, T0 + 3000 * STEP
    relation = lake_view(con, small_files, "trade", start, end, exchanges=["bybit"], name="bybit_trades")
    expected = sum(1 for i in range(1000, 3000) if i % 2)  # the synthetic trades alternate binance, bybit
    assert con.execute("SELECT count(*), min(exchange), max(exchange) FROM bybit_trades").fetchall() == [(expected, "bybit", "bybit")]
    assert relation.aggregate("count(*)").fetchall() == [(expected,)]
