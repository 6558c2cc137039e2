"""Lake benchmark: writer throughput against pyarrow alone, bytes per row, DuckDB over 10M ticker rows.

    .venv/bin/python bench/lake.py [--rows 1000000] [--duckdb-rows 10000000] [--dir DIR]

1. Tickers and trades, `--rows` each (4 exchanges x 3 symbols, receive times increasing, prices a
   random walk on a tick grid):
   - pyarrow: `pq.write_table` of the writer's own encoded Arrow table to one file, same zstd level
     and row group size, once with the writer's Parquet options (dictionary encoding on name and
     enum columns only) and once with pyarrow's defaults (dictionary encoding everywhere);
   - writer, write stage: the same Arrow table through the writer (split into (date, exchange)
     partitions, sorted by symbol and time, temp file + rename, the partition files written on
     `write_threads` (2) threads; with the default fsync, without it, and with the files written
     in turn) -> ratio to pyarrow;
   - writer, end to end: events (msgspec objects) -> encode -> write stage -> ratio to pyarrow;
   each timing is the best of 5 runs, interleaved so machine load hits all alike.
2. Bytes per row of the files the writer made.
3. A 10M-row ticker lake (generated as Arrow tables, written through the writer's write stage),
   then DuckDB through the consistent reader: count(*), a count over a time range (which reads
   ts_recv), and a per-(exchange, symbol) aggregate.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.lake.encode import Encoded, encode, split
from collector.lake.writer import PartitionWriter, PendingFile
from shared.events import Channel, Event, Side, Ticker, Trade
from shared.lake.reader import LakeReader
from shared.lake.schema import dictionary_columns
from shared.lake.storage import open_lake
from shared.settings.lake import LakeSettings

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
EXCHANGES = ("binance", "bybit", "gateio", "kucoin")
SYMBOLS = ("BTC-USDT", "ETH-USDT", "ETH-BTC")
STEP_NS = 50_000  # 20k events per second of recorded time
REPEATS = 5


def _prices(n: int, seed: int) -> list[float]:
    """A random walk on a 0.01 tick grid, one per event (symbols share it: only the values' shape matters)."""
    rng = random.Random(seed)
    price, out = 65_000.0, []
    for _ in range(n):
        price += rng.choice((-0.02, -0.01, 0.0, 0.0, 0.01, 0.02))
        out.append(round(price, 2))
    return out


def tickers(n: int) -> list[Event]:
    rng = random.Random(1)
    out: list[Event] = []
    for i, bid in enumerate(_prices(n, 2)):
        ts = T0 + i * STEP_NS
        ask = round(bid + 0.01 * rng.randint(1, 3), 2)
        out.append(
            Ticker(
                EXCHANGES[i % 4],
                SYMBOLS[(i // 4) % 3],
                ts - rng.randint(0, 10**6),
                ts,
                bid,
                round(rng.uniform(0, 3), 5),
                ask,
                round(rng.uniform(0, 3), 5),
            )
        )
    return out


def trades(n: int) -> list[Event]:
    rng = random.Random(3)
    out: list[Event] = []
    for i, price in enumerate(_prices(n, 4)):
        ts = T0 + i * STEP_NS
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        out.append(
            Trade(
                EXCHANGES[i % 4], SYMBOLS[(i // 4) % 3], ts - rng.randint(0, 10**6), ts, str(10_000_000 + i), side, price, round(rng.uniform(0, 1), 5)
            )
        )
    return out


def best(fn: Callable[[], object]) -> float:
    took = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        fn()
        took = min(took, time.perf_counter() - started)
    return took


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*.parquet"))


def writer_vs_pyarrow(channel: Channel, events: list[Event], work: Path) -> dict[str, float]:
    settings = LakeSettings(root=str(work / f"lake-{channel.value}"))
    writer = PartitionWriter(open_lake(settings), settings)
    unsynced = LakeSettings(root=str(work / f"lake-{channel.value}-nofsync"), fsync=False)
    unsynced_writer = PartitionWriter(open_lake(unsynced), unsynced)
    one_thread = LakeSettings(root=str(work / f"lake-{channel.value}-1thread"), write_threads=1)
    one_thread_writer = PartitionWriter(open_lake(one_thread), one_thread)
    encoded = encode(channel, events)
    rows = len(events)
    baseline_path = work / f"pyarrow-{channel.value}.parquet"
    same_path = work / f"pyarrow-same-{channel.value}.parquet"
    options = {"compression": "zstd", "compression_level": settings.zstd_level, "row_group_size": settings.row_group_rows}

    def pyarrow_defaults() -> None:
        pq.write_table(encoded.table, baseline_path, **options)

    def pyarrow_same_options() -> None:
        pq.write_table(encoded.table, same_path, use_dictionary=dictionary_columns(encoded.table.schema), **options)

    def stage(target: PartitionWriter) -> Callable[[], None]:
        def run() -> None:  # what a flush does with an encoded batch: sort into partitions, write the files
            parts, _ = split(encoded)
            outcomes = target.write_files([PendingFile(partition, table) for partition, table in parts])
            assert not any(isinstance(o, Exception) for o in outcomes), outcomes
        return run

    def end_to_end() -> None:
        result = writer.flush({channel: events})
        assert result.rows_written == rows and not result.failed

    variants: dict[str, Callable[[], object]] = {
        "pyarrow": pyarrow_defaults,
        "pyarrow_same": pyarrow_same_options,
        "stage": stage(writer),
        "stage_nofsync": stage(unsynced_writer),
        "stage_1thread": stage(one_thread_writer),
        "e2e": end_to_end,
        "encode": lambda: encode(channel, events),
    }
    times = dict.fromkeys(variants, float("inf"))
    for _ in range(REPEATS):  # interleaved: machine load hits every variant alike
        for key, fn in variants.items():
            os.sync()  # nobody's fsync pays for another variant's dirty pages
            started = time.perf_counter()
            fn()
            times[key] = min(times[key], time.perf_counter() - started)
    files = list((work / f"lake-{channel.value}").rglob("*.parquet"))
    lake_bytes = dir_bytes(work / f"lake-{channel.value}")
    runs_written = 2 * REPEATS  # the write stage and end to end each wrote every row REPEATS times
    return {
        "rows": rows,
        "pyarrow_rps": rows / times["pyarrow"],
        "pyarrow_same_rps": rows / times["pyarrow_same"],
        "stage_rps": rows / times["stage"],
        "stage_nofsync_rps": rows / times["stage_nofsync"],
        "stage_1thread_rps": rows / times["stage_1thread"],
        "e2e_rps": rows / times["e2e"],
        "encode_rps": rows / times["encode"],
        "bytes_per_row": lake_bytes / (rows * runs_written),
        "pyarrow_bytes_per_row": baseline_path.stat().st_size / rows,
        "pyarrow_same_bytes_per_row": same_path.stat().st_size / rows,
        "files_per_run": len(files) / runs_written,
    }


def generated_tickers(start: int, n: int) -> Encoded:
    """n ticker rows as Arrow arrays directly (no Python objects), receive times increasing."""
    index = pa.array(range(start, start + n), pa.int64())
    ts_recv = pc.add(pc.multiply(index, STEP_NS), T0)
    noise = pc.random(n)
    bid = pc.add(pc.multiply(noise, 5.0), 100.0)
    table = pa.Table.from_arrays(
        [
            pc.take(pa.array(SYMBOLS), pc.cast(pc.floor(pc.multiply(pc.random(n), 3)), pa.int64())),
            pc.subtract(ts_recv, 900).cast(pa.timestamp("ns", tz="UTC")),
            ts_recv.cast(pa.timestamp("ns", tz="UTC")),
            bid,
            pc.add(pc.multiply(pc.random(n), 3.0), 0.1),
            pc.add(bid, pc.add(pc.multiply(pc.random(n), 0.05), 0.01)),
            pc.add(pc.multiply(pc.random(n), 3.0), 0.1),
        ],
        schema=encode(Channel.TICKER, []).table.schema,
    )
    exchange = pc.take(pa.array(EXCHANGES), pc.cast(pc.floor(pc.multiply(pc.random(n), 4)), pa.int64()))
    return Encoded(Channel.TICKER, table, exchange)


def duckdb_over_lake(rows: int, work: Path) -> dict[str, float]:
    settings = LakeSettings(root=str(work / "lake-10m"))
    writer = PartitionWriter(open_lake(settings), settings)
    batch = 1_000_000
    started = time.perf_counter()
    for start in range(0, rows, batch):
        parts, _ = split(generated_tickers(start, min(batch, rows - start)))
        for partition, table in parts:
            writer.write_file(partition, table)
    write_s = time.perf_counter() - started
    reader = LakeReader(settings)
    con = duckdb.connect()
    count_first = time.perf_counter()
    counted = reader.relation(con, Channel.TICKER).aggregate("count(*)").fetchall()[0][0]
    count_first = time.perf_counter() - count_first
    assert counted == rows, counted
    count_s = best(lambda: reader.relation(con, Channel.TICKER).aggregate("count(*)").fetchall())
    # A time range makes DuckDB read ts_recv (a bare count(*) is answered from the footers alone).
    lo, hi = T0 + rows // 10 * STEP_NS, T0 + rows * 9 // 10 * STEP_NS
    range_s = best(lambda: reader.relation(con, Channel.TICKER, lo, hi).aggregate("count(*)").fetchall())
    aggregate_sql = "exchange, symbol, count(*), avg(ask - bid), min(bid), max(ask), max(ts_recv)"
    aggregate_s = best(lambda: reader.relation(con, Channel.TICKER).aggregate(aggregate_sql, "exchange, symbol").fetchall())
    files = list((work / "lake-10m").rglob("*.parquet"))
    return {
        "rows": rows,
        "files": len(files),
        "bytes_per_row": dir_bytes(work / "lake-10m") / rows,
        "write_s": write_s,
        "count_first_s": count_first,
        "count_s": count_s,
        "aggregate_s": aggregate_s,
        "range_count_s": range_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--duckdb-rows", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: a temporary one, removed after)")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="spreadlake-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        print(f"lake benchmark: {args.rows:,} rows per channel, best of {REPEATS}; DuckDB over {args.duckdb_rows:,} ticker rows")
        for channel, make in ((Channel.TICKER, tickers), (Channel.TRADE, trades)):
            r = writer_vs_pyarrow(channel, make(args.rows), work)
            same, default = r["pyarrow_same_rps"], r["pyarrow_rps"]
            print(
                f"{channel.value}: pyarrow.write_table {same / 1e6:.2f} M rows/s with the writer's Parquet options, "
                f"{default / 1e6:.2f} M rows/s with pyarrow's defaults"
            )
            print(
                f"{channel.value}:   writer, Arrow table in: {r['stage_rps'] / 1e6:.2f} M rows/s "
                f"= {r['stage_rps'] / same:.2f} x pyarrow same options, {r['stage_rps'] / default:.2f} x pyarrow defaults "
                f"(without fsync {r['stage_nofsync_rps'] / 1e6:.2f} M rows/s = {r['stage_nofsync_rps'] / same:.2f} x same options; "
                f"files written in turn, write_threads 1: {r['stage_1thread_rps'] / 1e6:.2f} M rows/s = {r['stage_1thread_rps'] / same:.2f} x)"
            )
            print(
                f"{channel.value}:   writer, events in:     {r['e2e_rps'] / 1e6:.2f} M rows/s "
                f"= {r['e2e_rps'] / same:.2f} x pyarrow same options (encoding Python objects alone: {r['encode_rps'] / 1e6:.2f} M rows/s)"
            )
            print(
                f"{channel.value}:   bytes/row on disk: writer {r['bytes_per_row']:.1f} ({r['files_per_run']:.0f} files per flush), "
                f"pyarrow same options {r['pyarrow_same_bytes_per_row']:.1f}, pyarrow defaults {r['pyarrow_bytes_per_row']:.1f}"
            )
        d = duckdb_over_lake(args.duckdb_rows, work)
        print(
            f"duckdb {d['rows']:,} ticker rows in {d['files']} files ({d['bytes_per_row']:.1f} bytes/row, written in {d['write_s']:.1f} s): "
            f"count(*) {d['count_s']:.3f} s (first {d['count_first_s']:.3f} s; from footers), "
            f"count over 80% of the time range {d['range_count_s']:.3f} s, aggregate by exchange+symbol {d['aggregate_s']:.3f} s"
        )
        print(f"total {time.perf_counter() - started:.0f} s")
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
