"""Analyzer benchmark: cross-exchange spread statistics over a 10M-row ticker lake, the analyzer
against a straightforward pandas implementation of the same computation, measured in the same run.

    .venv/bin/python bench/analyze.py [--rows 10000000] [--hours 4] [--cache DIR] [--repeats 3]

1. A ticker lake of `--rows` rows over `--hours` hours (4 venues x 3 symbols; each venue quotes a
   common random-walk fair price seen with its own lag, plus its own slow noise, plus a 30 bps
   dislocation of one venue/symbol for 3 s about every 15 s), generated with numpy and written
   through the collector's write stage (real file names and partitions). It is cached under
   `--cache` (default: <tmp>/spreadlake-bench-analyze), so reruns skip this step.
2. `analyzer.spreads.spreads` over every hour chunk (the scheduled flow's default chunk), then the
   pandas version over the same chunks: read the chunk (with the staleness lookback), and for each
   symbol and venue pair line the two venues' quotes up with `pd.merge_asof`, then the same
   states, hourly statistics and opportunity runs. Best of `--repeats` runs each, interleaved.
3. Both results compared column by column (floats to 1e-9 relative), and the figures printed.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import spreadlake  # noqa: F401  # first: the process settings the command line runs the analyzer with (Polars' allocator)
from analyzer.analysis import Scope
from analyzer.spreads import SPREAD_SCHEMA, spreads
from collector.lake.encode import Encoded, encode, split
from collector.lake.writer import PartitionWriter
from shared.events import Channel
from shared.lake.reader import LakeReader
from shared.lake.storage import open_lake
from shared.settings import Settings
from shared.settings.analyzer import AnalyzerSettings
from shared.settings.lake import LakeSettings

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
S = 1_000_000_000
HOUR = 3_600 * S
EXCHANGES = ("binance", "bybit", "gateio", "kucoin")
LAG_MS = (40, 70, 120, 90)
NOISE_BPS = (0.8, 1.0, 1.5, 1.2)
SYMBOLS = ("BTC-USDT", "ETH-USDT", "ETH-BTC")
PRICES = (65_000.0, 3_200.0, 0.04923)
TICKS = (0.01, 0.01, 0.00001)
FEES = {"binance": 7.5, "bybit": 10.0, "gateio": 10.0, "kucoin": 10.0}
GRID_NS = 100_000_000  # the fair price moves every 100 ms
VERSION = 1  # bump when the generated data changes


# --- the lake ------------------------------------------------------------------------------------


def generate(rows: int, hours: int, seed: int = 11) -> tuple[pa.Table, pa.Array]:
    rng = np.random.default_rng(seed)
    span = hours * HOUR
    ts = np.sort(rng.integers(T0, T0 + span, rows, dtype=np.int64))
    venue = rng.integers(0, len(EXCHANGES), rows)
    symbol = rng.integers(0, len(SYMBOLS), rows)
    steps = span // GRID_NS + 10
    # Fair prices: correlated random walks in log space, 1.5 bps per 100 ms step.
    walks = np.cumsum(rng.normal(0, 1.5e-4, (len(SYMBOLS), steps)), axis=1)
    seconds = span // S + 10
    # Each venue/symbol's own noise: an AR(1) on a 1 s grid (decorrelating over ~3 s), in bps.
    noise = np.zeros((len(EXCHANGES), len(SYMBOLS), seconds))
    shocks = rng.normal(0, 1, (len(EXCHANGES), len(SYMBOLS), seconds))
    decay = math.exp(-1 / 3)
    for i in range(1, seconds):
        noise[:, :, i] = decay * noise[:, :, i - 1] + math.sqrt(1 - decay * decay) * shocks[:, :, i]
    noise *= np.array(NOISE_BPS)[:, None, None]
    # Dislocations: one venue/symbol 30 bps off for 3 s, about every 15 s.
    at = 0.0
    while True:
        at += rng.exponential(15.0)
        if at + 3 >= seconds:
            break
        v, s, sign = rng.integers(len(EXCHANGES)), rng.integers(len(SYMBOLS)), rng.choice((-1.0, 1.0))
        noise[v, s, int(at) : int(at) + 3] += sign * 30.0
    lag = np.array(LAG_MS, dtype=np.int64)[venue] * 1_000_000
    grid = np.clip((ts - T0 - lag) // GRID_NS, 0, steps - 1)
    second = (ts - T0) // S
    log_mid = walks[symbol, grid] + noise[venue, symbol, second] * 1e-4
    tick = np.array(TICKS)[symbol]
    mid = np.array(PRICES)[symbol] * np.exp(log_mid)
    half = rng.integers(1, 3, rows)
    bid = np.round(np.round(mid / tick) - half) * tick
    ask = bid + tick * rng.integers(1, 4, rows)
    stamp = pa.timestamp("ns", tz="UTC")
    table = pa.Table.from_arrays(
        [
            pc.take(pa.array(SYMBOLS), pa.array(symbol)),
            pa.array(ts - rng.integers(0, 1_000_000, rows)).cast(stamp),
            pa.array(ts).cast(stamp),
            pa.array(bid),
            pa.array(rng.uniform(0.01, 3, rows)),
            pa.array(ask),
            pa.array(rng.uniform(0.01, 3, rows)),
        ],
        schema=encode(Channel.TICKER, []).table.schema,
    )
    return table, pc.take(pa.array(EXCHANGES), pa.array(venue))


def build_lake(root: Path, rows: int, hours: int) -> LakeSettings:
    settings = LakeSettings(root=str(root), fsync=False)
    done = root / "_complete"
    if done.exists():
        return settings
    started = time.perf_counter()
    table, exchange = generate(rows, hours)
    writer = PartitionWriter(open_lake(settings), settings)
    ts = table.column("ts_recv").cast(pa.int64()).to_numpy()
    for hour in range(hours):  # one file per venue and hour, as a long flush interval would give
        lo, hi = np.searchsorted(ts, [T0 + hour * HOUR, T0 + (hour + 1) * HOUR])
        parts, _ = split(Encoded(Channel.TICKER, table.slice(lo, hi - lo), exchange.slice(lo, hi - lo)))
        for partition, part in parts:
            writer.write_file(partition, part)
    done.write_text("ok\n")
    print(f"generated {rows:,} ticker rows into {root} in {time.perf_counter() - started:.1f} s")
    return settings


# --- the pandas version --------------------------------------------------------------------------


def pandas_spreads(reader: LakeReader, scope: Scope, settings: Settings) -> pd.DataFrame:
    """The same statistics (analyzer/spreads.py) the straightforward way: an as-of join per venue pair."""
    stale = settings.analyzer.staleness_ms * 1_000_000
    start, end = scope.start_ns, scope.end_ns
    table = reader.table(Channel.TICKER, start - stale, end, columns=["exchange", "symbol", "ts_recv", "bid", "ask"])
    df = table.to_pandas()
    df["ts"] = df["ts_recv"].astype("int64")
    df = df.drop(columns="ts_recv").sort_values(["ts", "exchange", "ask", "bid"], kind="stable")
    out = []
    for symbol, quotes in df.groupby("symbol", sort=True):
        venues = sorted(quotes["exchange"].unique())
        for i, a in enumerate(venues):
            for b in venues[i + 1 :]:
                qa = quotes[quotes["exchange"] == a][["ts", "bid", "ask"]]
                qb = quotes[quotes["exchange"] == b][["ts", "bid", "ask"]]
                times = pd.DataFrame({"ts": np.unique(np.concatenate([qa["ts"].to_numpy(), qb["ts"].to_numpy()]))})
                times["next"] = times["ts"].shift(-1, fill_value=end)  # int64 throughout: ns do not fit a float
                j = pd.merge_asof(times, qa.rename(columns={"bid": "bid_a", "ask": "ask_a"}).assign(at_a=qa["ts"].astype("Int64")), on="ts")
                j = pd.merge_asof(j, qb.rename(columns={"bid": "bid_b", "ask": "ask_b"}).assign(at_b=qb["ts"].astype("Int64")), on="ts")
                j["t"] = j["ts"].clip(lower=start)
                ok = (j["next"] > j["t"]) & (j["t"] - j["at_a"] <= stale) & (j["t"] - j["at_b"] <= stale)
                ok &= (j["bid_a"] > 0) & (j["ask_a"] >= j["bid_a"]) & (j["bid_b"] > 0) & (j["ask_b"] >= j["bid_b"])
                j = j[ok.fillna(False).astype(bool)].astype({"at_a": "int64", "at_b": "int64"})
                j["end"] = np.minimum(j["next"], np.minimum(j["at_a"], j["at_b"]) + stale)
                j["sample"] = j["ts"] >= start
                j["hour"] = j["t"] - j["t"] % HOUR
                j["seconds"] = (j["end"] - j["t"]) / S
                fee = settings.taker_fee_bps(a) + settings.taker_fee_bps(b)
                for buy, sell, bps in (
                    (a, b, (j["bid_b"] - j["ask_a"]) / j["ask_a"] * 10_000),
                    (b, a, (j["bid_a"] - j["ask_b"]) / j["ask_b"] * 10_000),
                ):
                    out.append(_pandas_statistics(j.assign(bps=bps), fee, end).assign(symbol=symbol, buy_exchange=buy, sell_exchange=sell))
    if not out:
        return pd.DataFrame(columns=SPREAD_SCHEMA.names)
    result = pd.concat(out, ignore_index=True)
    result["kind"] = "top"
    return result


def _pandas_statistics(j: pd.DataFrame, fee: float, end: int) -> pd.DataFrame:
    sampled = j[j["sample"]]
    stats = pd.DataFrame(
        {
            "samples": j.groupby("hour")["sample"].sum(),
            "mean_bps": sampled.groupby("hour")["bps"].mean(),
            "p50_bps": sampled.groupby("hour")["bps"].quantile(0.5),
            "p95_bps": sampled.groupby("hour")["bps"].quantile(0.95),
            "max_bps": sampled.groupby("hour")["bps"].max(),
            "valid_s": j.groupby("hour")["seconds"].sum(),
            "above_s": j[j["bps"] > fee].groupby("hour")["seconds"].sum(),
        }
    )
    above = j["bps"] > fee
    joins = above.shift(1, fill_value=False) & (j["end"].shift(1, fill_value=-1) == j["t"])
    run = (above & ~joins).cumsum()
    runs = j[above].assign(run=run[above]).groupby("run").agg(start=("t", "first"), end=("end", "last"), hour=("hour", "first"))
    runs["duration_s"] = (runs["end"] - runs["start"]) / S
    by_hour = runs.groupby("hour")["duration_s"]
    stats["opportunities"] = by_hour.size()
    stats["opportunity_p50_s"] = by_hour.quantile(0.5)
    stats["opportunity_p95_s"] = by_hour.quantile(0.95)
    stats["opportunity_max_s"] = by_hour.max()
    stats["opportunities"] = stats["opportunities"].fillna(0).astype("int64")
    stats["above_s"] = stats["above_s"].fillna(0.0)
    stats["share_above_fees"] = (stats["above_s"] / stats["valid_s"]).where(stats["valid_s"] > 0)
    stats["fee_bps"] = fee
    return stats.drop(columns="above_s").rename_axis("ts").reset_index()


# --- comparing -----------------------------------------------------------------------------------


def same(analyzer: pa.Table, reference: pd.DataFrame) -> list[str]:
    """Differences between the two results (empty: the same numbers)."""
    keys = ["ts", "symbol", "buy_exchange", "sell_exchange", "kind"]
    ours = analyzer.to_pandas()
    ours["ts"] = analyzer.column("ts").cast(pa.int64()).to_numpy()
    ours = ours.sort_values(keys).reset_index(drop=True)
    theirs = reference.sort_values(keys).reset_index(drop=True)
    if len(ours) != len(theirs):
        return [f"{len(ours)} rows against {len(theirs)}"]
    problems = []
    for name in SPREAD_SCHEMA.names:
        x, y = ours[name].to_numpy(), theirs[name].to_numpy()
        if name in keys or name in ("samples", "opportunities"):
            if not (x.astype(str) == y.astype(str)).all():
                problems.append(name)
            continue
        x, y = x.astype(float), y.astype(float)
        both_null = np.isnan(x) & np.isnan(y)
        close = np.isclose(x, y, rtol=1e-9, atol=1e-9) | both_null
        if not close.all():
            problems.append(f"{name}: {int((~close).sum())} rows differ")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--hours", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "spreadlake-bench-analyze")
    args = parser.parse_args()
    root = args.cache / f"lake-v{VERSION}-{args.rows}-{args.hours}h"
    lake = build_lake(root, args.rows, args.hours)
    settings = Settings(lake=lake, analyzer=AnalyzerSettings(taker_fee_bps=FEES))
    reader = LakeReader(lake)
    rows = reader.count(Channel.TICKER)
    chunks = [Scope(T0 + h * HOUR, T0 + (h + 1) * HOUR) for h in range(args.hours)]
    timings: dict[str, float] = {"analyzer": math.inf, "pandas": math.inf}
    cpu: dict[str, float] = {}
    results: dict[str, object] = {}
    for _ in range(args.repeats):  # interleaved: machine load hits both alike
        started, cpu_started = time.perf_counter(), time.process_time()
        results["analyzer"] = pa.concat_tables([spreads(reader, chunk, settings) for chunk in chunks])
        if time.perf_counter() - started < timings["analyzer"]:
            timings["analyzer"], cpu["analyzer"] = time.perf_counter() - started, time.process_time() - cpu_started
        started, cpu_started = time.perf_counter(), time.process_time()
        results["pandas"] = pd.concat([pandas_spreads(reader, chunk, settings) for chunk in chunks], ignore_index=True)
        if time.perf_counter() - started < timings["pandas"]:
            timings["pandas"], cpu["pandas"] = time.perf_counter() - started, time.process_time() - cpu_started
    analyzer, reference = results["analyzer"], results["pandas"]
    assert isinstance(analyzer, pa.Table) and isinstance(reference, pd.DataFrame)
    problems = same(analyzer, reference)
    opportunities = int(pc.sum(analyzer.column("opportunities")).as_py())
    print(
        f"analyze spreads: {rows:,} ticker rows ({len(EXCHANGES)} venues x {len(SYMBOLS)} symbols, {args.hours} hour chunks), "
        f"{analyzer.num_rows} result rows, {opportunities:,} opportunities; best of {args.repeats}"
    )
    print(
        f"analyze spreads: analyzer {timings['analyzer']:.2f} s (CPU {cpu['analyzer']:.2f} s) | "
        f"pandas {timings['pandas']:.2f} s (CPU {cpu['pandas']:.2f} s) | "
        f"ratio {timings['pandas'] / timings['analyzer']:.1f}x (target >= 10x; analyzer target < 5 s)"
    )
    print("analyze spreads: results equal" if not problems else f"analyze spreads: results DIFFER: {problems}")
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
