"""A real process with the real writer: SIGTERM loses nothing; SIGKILL at random moments loses at most
about a flush interval and never leaves an unreadable or partial file; the next start cleans up."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from shared.lake.layout import TMP_DIR

PRODUCER = Path(__file__).with_name("producer.py")
RATE = 4_000.0


def start(root: Path, first_id: int, flush_interval_s: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(PRODUCER), str(root), str(first_id), str(RATE), str(flush_interval_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def wait_emitted(process: subprocess.Popen[str], at_least: int) -> int:
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        assert line, "producer exited early"
        if line.startswith("emitted ") and int(line.split()[1]) >= at_least:
            return int(line.split()[1])


def ids_in_lake(root: Path) -> list[int]:
    files = f"{root}/market_data/trade/**/*.parquet"
    if not list(root.glob("market_data/trade/*/*/*.parquet")):
        return []
    query = f"SELECT CAST(trade_id AS BIGINT) FROM read_parquet('{files}', hive_partitioning = true)"
    return [row[0] for row in duckdb.connect().execute(query).fetchall()]


def test_sigterm_writes_every_emitted_event(tmp_path: Path) -> None:
    process = start(tmp_path, 0, flush_interval_s=30.0)  # nothing is flushed before the signal
    wait_emitted(process, 3_000)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    final = int(out.strip().splitlines()[-1].split()[1])
    ids = ids_in_lake(tmp_path)
    assert len(ids) == final >= 3_000
    assert sorted(ids) == list(range(final))


def test_repeated_sigkill_loses_at_most_a_flush_interval_and_leaves_a_readable_lake(tmp_path: Path) -> None:
    flush_interval_s = 0.25
    rng = random.Random(20261121)
    for run in range(5):
        first = run * 1_000_000
        process = start(tmp_path, first, flush_interval_s)
        time.sleep(rng.uniform(0.2, 1.2))
        process.kill()
        out, _ = process.communicate(timeout=10)
        reported = int([line for line in out.splitlines() if line.startswith("emitted ")][-1].split()[1])
        for path in tmp_path.glob("market_data/**/*.parquet"):
            pq.read_table(path)  # every visible file is complete
        ids = [i - first for i in ids_in_lake(tmp_path) if first <= i < first + 1_000_000]
        assert sorted(ids) == list(range(len(ids))), "the lake holds a prefix of each run's ids, once each"
        # Lost: what was buffered since the last flush, plus the flush being written.
        assert len(ids) <= reported + RATE * 0.05  # it printed `reported` at most 20 ms before it died
        assert reported - len(ids) <= RATE * (2 * flush_interval_s + 0.5), (run, reported, len(ids))
    process = start(tmp_path, 9_000_000, flush_interval_s)
    assert not [p for p in (tmp_path / TMP_DIR).glob("w-*")], "the next start removes leftover temporary files"
    wait_emitted(process, 100)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    final = int(out.strip().splitlines()[-1].split()[1])
    assert sorted(i - 9_000_000 for i in ids_in_lake(tmp_path) if i >= 9_000_000) == list(range(final))
