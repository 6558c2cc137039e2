"""Events -> lake files -> DuckDB and Polars read the whole lake back with exact counts, values and types."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from collector.lake.writer import PartitionWriter, remove_leftover_temp_files
from shared.events import Channel, Event, channel_of
from shared.lake.layout import TMP_DIR
from shared.lake.schema import SCHEMA_VERSION, VERSION_KEY
from shared.lake.storage import open_lake
from shared.settings.lake import LakeSettings
from tests.shared.lake.synthetic import T0, mixed

N = 6_000


def _write(root: Path, events: list[Event], batches: int = 3) -> PartitionWriter:
    settings = LakeSettings(root=str(root), fsync=False, row_group_rows=1_000)
    writer = PartitionWriter(open_lake(settings), settings)
    size = len(events) // batches
    for start in range(0, len(events), size):
        batch: dict[Channel, list[Event]] = {}
        for event in events[start : start + size]:
            batch.setdefault(channel_of(event), []).append(event)
        result = writer.flush(batch)
        assert result.failed == [] and result.error is None
    return writer


def _glob(root: Path, channel: Channel) -> str:
    return f"{root}/market_data/{channel.value}/**/*.parquet"


def test_duckdb_reads_every_channel_with_exact_counts_and_types(tmp_path: Path) -> None:
    events = mixed(N, t0=T0 - N // 2 * 1_000_000)  # crosses midnight: two dates
    _write(tmp_path, events)
    expected: dict[Channel, int] = {}
    for event in events:
        expected[channel_of(event)] = expected.get(channel_of(event), 0) + 1
    con = duckdb.connect()
    for channel, count in expected.items():
        rel = con.sql(f"SELECT * FROM read_parquet('{_glob(tmp_path, channel)}', hive_partitioning = true)")
        types = dict(zip(rel.columns, map(str, rel.types), strict=True))
        assert types["ts_event"] == types["ts_recv"] == "TIMESTAMPTZ_NS"
        assert types["date"] == "DATE" and types["exchange"] == "VARCHAR" and types["symbol"] == "VARCHAR"
        assert rel.aggregate("count(*)").fetchall() == [(count,)]
        assert con.sql(f"SELECT count(DISTINCT date) FROM read_parquet('{_glob(tmp_path, channel)}', hive_partitioning = true)").fetchall() == [(2,)]
    trade_ids = con.sql(f"SELECT count(DISTINCT trade_id) FROM read_parquet('{_glob(tmp_path, Channel.TRADE)}')").fetchall()
    assert trade_ids == [(expected[Channel.TRADE],)]
    best = con.sql(
        f"SELECT bids[1].price, epoch_ns(ts_recv) FROM read_parquet('{_glob(tmp_path, Channel.BOOK)}') WHERE len(bids) = 3 ORDER BY ts_recv LIMIT 1"
    ).fetchall()
    first_book = next(e for e in events if channel_of(e) is Channel.BOOK and len(e.bids) == 3)  # type: ignore[union-attr]
    assert best == [(first_book.bids[0][0], first_book.ts_recv)]  # type: ignore[union-attr]


def test_polars_scans_the_whole_lake_with_the_right_types(tmp_path: Path) -> None:
    events = mixed(N)
    _write(tmp_path, events)
    tickers = [e for e in events if channel_of(e) is Channel.TICKER]
    frame = pl.scan_parquet(_glob(tmp_path, Channel.TICKER), hive_partitioning=True).collect()
    assert frame.height == len(tickers)
    assert frame.schema["ts_recv"] == pl.Datetime("ns", "UTC") and frame.schema["date"] == pl.Date
    assert frame.schema["exchange"] == pl.String and frame.schema["bid"] == pl.Float64
    ns = sorted(frame.select(pl.col("ts_recv").dt.epoch("ns")).to_series().to_list())
    assert ns == [e.ts_recv for e in tickers]
    books = pl.scan_parquet(f"{tmp_path}/market_data/book/", hive_partitioning=True).collect()
    assert books.schema["bids"] == pl.List(pl.Struct({"price": pl.Float64, "size": pl.Float64}))


def test_files_carry_the_schema_version_and_zstd(tmp_path: Path) -> None:
    _write(tmp_path, mixed(600), batches=1)
    files = sorted(tmp_path.glob("market_data/*/*/*/*.parquet"))
    assert len(files) == 4 * 2  # one per channel and exchange
    for path in files:
        parquet = pq.ParquetFile(path)
        assert parquet.schema_arrow.metadata[VERSION_KEY] == str(SCHEMA_VERSION).encode()
        assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
        table = parquet.read()
        keys = list(zip(table.column("symbol").to_pylist(), table.column("ts_recv").cast(pa.int64()).to_pylist(), strict=True))
        assert keys == sorted(keys, key=lambda k: (k[0] is None, k[0] or "", k[1]))


def test_unwritable_partition_comes_back_for_a_retry(tmp_path: Path) -> None:
    settings = LakeSettings(root=str(tmp_path), fsync=False)
    writer = PartitionWriter(open_lake(settings), settings)
    events = [e for e in mixed(60) if channel_of(e) is Channel.TICKER]
    (tmp_path / "market_data").write_text("not a directory")
    result = writer.flush({Channel.TICKER: events})
    assert result.rows_written == 0 and sum(p.rows for p in result.failed) == len(events)
    assert result.error is not None and "market_data" in result.error
    (tmp_path / "market_data").unlink()
    again = writer.flush({}, result.failed)
    assert again.rows_written == len(events) and again.failed == []


def test_leftover_temporary_files_of_the_writer_are_removed(tmp_path: Path) -> None:
    lake = open_lake(LakeSettings(root=str(tmp_path)))
    (tmp_path / TMP_DIR).mkdir(parents=True)
    (tmp_path / TMP_DIR / "w-1-2-rdead_1.parquet.tmp").write_bytes(b"PAR1 partial")
    (tmp_path / TMP_DIR / "c-tsomething_0.tmp").write_bytes(b"compaction's own")
    assert remove_leftover_temp_files(lake) == 1
    assert [p.name for p in (tmp_path / TMP_DIR).iterdir()] == ["c-tsomething_0.tmp"]


def test_a_row_the_schema_cannot_hold_is_counted_and_the_rest_of_its_batch_is_written(tmp_path: Path) -> None:
    from collector.lake.writer import encode_salvaging
    from shared.events import Side, Trade

    good = [Trade(exchange="bybit", symbol="BTC-USDT", ts_event=1_700_000_000_000_000_000 + i, ts_recv=1_700_000_000_000_000_000 + i,
                  trade_id=str(i), side=Side.BUY, price=1.0, amount=1.0) for i in range(3)]
    bad = Trade(exchange="bybit", symbol="BTC-USDT", ts_event=10**30, ts_recv=1_700_000_000_000_000_001,
                trade_id="x", side=Side.SELL, price=1.0, amount=1.0)
    encoded, unencodable = encode_salvaging(Channel.TRADE, [good[0], bad, good[1], good[2]])
    assert unencodable == 1
    assert encoded is not None and encoded.table.num_rows == 3


def test_partition_files_written_in_parallel_are_numbered_in_order_and_fail_alone(tmp_path: Path) -> None:
    from shared.events import Side, Trade

    settings = LakeSettings(root=str(tmp_path), fsync=False, write_threads=2)
    writer = PartitionWriter(open_lake(settings), settings)
    trades = [Trade(exchange=exchange, symbol="BTC-USDT", ts_event=T0 + i, ts_recv=T0 + i, trade_id=str(i),
                    side=Side.BUY, price=1.0, amount=1.0) for i, exchange in enumerate(["binance", "bybit", "gateio", "kucoin"] * 5)]
    # An unwritable partition: a file stands where the kucoin partition directory must go.
    blocked = tmp_path / "market_data" / "trade" / "date=2026-01-01"
    blocked.mkdir(parents=True)
    (blocked / "exchange=kucoin").write_text("not a directory")
    result = writer.flush({Channel.TRADE: trades})
    writer.close()
    assert [p.partition.exchange for p in result.failed] == ["kucoin"]
    assert result.rows_written == 15 and result.files_written == 3
    names = sorted(p.name for p in blocked.glob("exchange=*/*.parquet"))
    sequences = sorted(int(name.rsplit("_", 1)[-1].split(".")[0]) for name in names)
    assert len(set(sequences)) == 3, names
    assert pq.read_table(next(blocked.glob("exchange=bybit/*.parquet"))).num_rows == 5
