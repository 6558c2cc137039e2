"""The consistent reader: files, DuckDB relations and Arrow tables for a channel and time range, exact."""

from __future__ import annotations

import duckdb
import pytest

from analyzer.lake.reader import LakeReader, time_filter, ts_literal
from shared.events import Channel
from shared.lake.dataset import full_schema
from shared.settings.lake import LakeSettings
from tests.analyzer.lake.conftest import DAY, ROWS, STEP
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

    assert LakeReader._retrying(flaky) == 7 and len(attempts) == 2
    with pytest.raises(ValueError):
        LakeReader._retrying(lambda: (_ for _ in ()).throw(ValueError("not about files")))
