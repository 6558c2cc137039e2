"""Simulator -> collector process -> Parquet lake -> DuckDB and Polars, with zero loss on SIGTERM.

The collector runs as a real process stopped with a real signal. The simulator runs in this test
(a thread) so the test can read which trade ids it put on the wire.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import polars as pl

from shared.settings import settings_from_mapping
from sim.runner import SimulatorThread
from tests.e2e.market import VENUES, market_config, write_config

CHANNELS = ("ticker", "trade", "book", "status")


def scan(lake: Path, channel: str) -> str:
    return f"read_parquet('{lake}/market_data/{channel}/**/*.parquet', hive_partitioning=true)"


def test_sigterm_loses_nothing_and_the_lake_reads_back_with_exact_counts_and_types(tmp_path: Path) -> None:
    config = market_config(tmp_path, rate=300.0, lake={"flush_interval_s": 1.0})
    settings = settings_from_mapping(config)
    path = write_config(tmp_path, config)
    lake = Path(settings.lake.root)
    with SimulatorThread(settings.sim) as sim:
        collector = subprocess.Popen([sys.executable, "-m", "spreadlake", "collector", "--config", str(path)],
                                     stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len({p.parent.name for p in lake.glob("market_data/trade/*/*/*.parquet")}) < 4:
            time.sleep(0.5)
        time.sleep(1)
        sent = {venue: list(stats.trade_ids) for venue, stats in sim.stats().items()}
        # Everything recorded in `sent` left the simulator before this point; on loopback it has reached
        # the collector well within the pause. The market keeps going while the collector is stopped.
        time.sleep(2)
        collector.send_signal(signal.SIGTERM)
        _, err = collector.communicate(timeout=60)
    log = err.decode()
    assert collector.returncode == 0, log[-3000:]

    match = re.search(r"collector stopped; events per venue: (\{.*\})", log)
    assert match, log[-3000:]
    dispatched: dict[str, dict[str, int]] = ast.literal_eval(match.group(1))

    con = duckdb.connect()
    for channel in CHANNELS:
        in_lake = dict(con.execute(f"select exchange, count(*) from {scan(lake, channel)} group by exchange").fetchall())
        for venue in VENUES:
            assert in_lake.get(venue, 0) == dispatched[venue][channel], (channel, venue, in_lake, dispatched[venue])

    stored = Counter(con.execute(f"select exchange, symbol, trade_id from {scan(lake, 'trade')}").fetchall())
    assert stored and max(stored.values()) == 1, "a trade was stored twice"
    for venue, trades in sent.items():
        by_symbol: dict[str, list[str]] = defaultdict(list)
        for symbol, trade_id in trades:
            by_symbol[symbol].append(str(trade_id))
        for symbol, ids in by_symbol.items():
            # From the first trade the collector saw on (its subscription started it), none is missing.
            present = [(venue, symbol, i) in stored for i in ids]
            assert any(present), (venue, symbol)
            first = present.index(True)
            missing = [i for i, ok in zip(ids[first:], present[first:], strict=True) if not ok]
            assert not missing, f"{venue} {symbol}: {len(missing)} of {len(ids) - first} trades sent are not in the lake"

    types = {row[0]: row[1] for row in con.execute(f"describe select * from {scan(lake, 'ticker')}").fetchall()}
    assert types["ts_recv"] == types["ts_event"] == "TIMESTAMPTZ_NS"  # nanoseconds, UTC
    assert (types["bid"], types["ask_size"], types["symbol"]) == ("DOUBLE", "DOUBLE", "VARCHAR")
    frame = pl.scan_parquet(f"{lake}/market_data/book/**/*.parquet", hive_partitioning=True).collect()
    assert frame.schema["ts_event"] == pl.Datetime("ns", "UTC")
    assert frame.height == sum(dispatched[v]["book"] for v in VENUES)
    assert set(frame["exchange"].unique()) == set(VENUES)
    assert set(frame["symbol"].unique()) == {"BTC-USDT", "ETH-USDT", "ETH-BTC"}
