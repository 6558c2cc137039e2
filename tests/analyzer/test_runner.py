"""The chunk runner on a real lake: epoch-aligned chunks, one stored result per chunk with its manifest,
idempotent re-runs, and memory bounded by one chunk however long the range."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from analyzer.analysis import Scope
from analyzer.runner import check_names, chunk_ranges, code_version, last_closed_chunk, run_analysis
from collector.lake.writer import PartitionWriter
from shared.events import Channel
from shared.lake.layout import Partition, day_of
from shared.lake.reader import LakeReader
from shared.lake.schema import schema_for
from shared.lake.storage import open_lake
from shared.settings import Settings
from shared.settings.loader import settings_from_mapping
from shared.summary import ANALYSES, SummaryStore
from tests.shared.lake.synthetic import T0, mixed, write

S = 1_000_000_000
ROOT = Path(__file__).resolve().parents[2]


def trade_counts(reader: LakeReader, scope: Scope, settings: Settings) -> pa.Table:
    """A stand-in analysis: trades per exchange and symbol in the chunk, from its whole input in memory."""
    trades = reader.table(Channel.TRADE, scope.start_ns, scope.end_ns, scope.exchanges)
    counts = trades.group_by(["exchange", "symbol"]).aggregate([("price", "count")])
    ts = pa.array([scope.start_ns] * counts.num_rows, pa.timestamp("ns", tz="UTC"))
    return counts.append_column("ts", ts).rename_columns(["exchange", "symbol", "trades", "ts"])


def small_settings(root: Path, chunk_s: int = 60) -> Settings:
    return settings_from_mapping({"lake": {"root": str(root)}, "analyzer": {"chunk_s": chunk_s}})


@pytest.fixture
def small_lake(tmp_path: Path) -> Settings:
    """Three minutes of every channel from T0 (a minute boundary), one event per 60 ms."""
    settings = small_settings(tmp_path / "lake")
    write(open_lake(settings.lake), settings.lake, mixed(3_000, step=60_000_000))
    return settings


def test_a_range_is_widened_to_whole_epoch_aligned_chunks() -> None:
    assert chunk_ranges(T0, T0 + 120 * S, 60) == [(T0, T0 + 60 * S), (T0 + 60 * S, T0 + 120 * S)]
    assert chunk_ranges(T0 + 5 * S, T0 + 61 * S, 60) == [(T0, T0 + 60 * S), (T0 + 60 * S, T0 + 120 * S)]
    assert chunk_ranges(T0 + 1, T0 + 2, 3600) == [(T0, T0 + 3600 * S)]
    assert last_closed_chunk(T0 + 3600 * S + 5, 3600) == (T0, T0 + 3600 * S)
    assert last_closed_chunk(T0 + 3600 * S, 3600) == (T0, T0 + 3600 * S)
    with pytest.raises(ValueError, match="end"):
        chunk_ranges(T0, T0, 60)


def test_each_chunk_gets_its_result_and_a_manifest_with_input_counts_parameters_and_version(small_lake: Settings) -> None:
    report = run_analysis(small_lake, "trades", T0, T0 + 180 * S, registry={"trades": trade_counts},
                          inputs=lambda name, settings: (Channel.TRADE,))
    assert [c.start_ns for c in report.chunks] == [T0, T0 + 60 * S, T0 + 120 * S]
    reader = LakeReader(small_lake.lake)
    store = SummaryStore(reader.lake)
    manifests = store.manifests("trades")
    assert [(m.start_ns, m.end_ns) for m in manifests] == [(c.start_ns, c.end_ns) for c in report.chunks]
    for m in manifests:
        assert m.rows_read == {"trade": reader.count(Channel.TRADE, m.start_ns, m.end_ns)} and m.rows_read["trade"] > 0
        assert m.parameters["chunk_s"] == 60 and m.parameters["fees_bps"] == {}
        assert m.code_version == code_version() and m.code_version.startswith("0.1.0")
    result = store.read("trades")
    assert sum(result.column("trades").to_pylist()) == reader.count(Channel.TRADE) == report.rows_read
    assert report.rows_written == result.num_rows == sum(m.rows for m in manifests)
    assert "3 chunks" in report.summary() and f"{report.rows_read} rows read" in report.summary()


def test_rerunning_a_range_replaces_its_results_with_the_same_rows(small_lake: Settings) -> None:
    registry = {"trades": trade_counts}
    run_analysis(small_lake, "trades", T0, T0 + 180 * S, registry=registry)
    store = SummaryStore(open_lake(small_lake.lake))
    first, first_manifests = store.read("trades"), store.manifests("trades")
    run_analysis(small_lake, "trades", T0 + 61 * S, T0 + 62 * S, registry=registry)  # the middle chunk again
    again = store.manifests("trades")
    assert store.read("trades").equals(first)
    assert [m.created_ns for m in again][::2] == [m.created_ns for m in first_manifests][::2]
    assert again[1].created_ns > first_manifests[1].created_ns
    assert first_manifests[0].rows_read.keys() == {c.value for c in Channel}  # no inputs given: every channel counted


def test_unknown_analyses_and_empty_ranges_are_refused(small_lake: Settings) -> None:
    with pytest.raises(ValueError, match="unknown 'nope'"):
        run_analysis(small_lake, "nope", T0, T0 + S, registry={"trades": trade_counts})
    with pytest.raises(ValueError, match="end"):
        run_analysis(small_lake, "trades", T0, T0 - S, registry={"trades": trade_counts})
    with pytest.raises(ValueError, match="unknown 'spread'"):
        check_names(["spread"])
    assert check_names([]) == ANALYSES and check_names(["quality"]) == ("quality",)


# -- memory: the bound is one chunk's input

CHUNKS = 8
ROWS_PER_CHUNK = 360_000

# Peak RSS from /proc/self/status VmHWM, which starts afresh with the new program: ru_maxrss survives the
# fork and exec that start this process, so it would report at least the RSS of the pytest process.
MEASURE = """
import sys
import pyarrow as pa
from analyzer.runner import run_analysis
from shared.settings.loader import settings_from_mapping
from tests.analyzer.test_runner import trade_counts
# Fewer Arrow threads: fewer allocator heaps whose warm-up would blur the comparison.
pa.set_cpu_count(1)
pa.set_io_thread_count(2)
root, chunk_s, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
settings = settings_from_mapping({"lake": {"root": root}, "analyzer": {"chunk_s": chunk_s}})
for first, last in ((start, start + chunk_s * 10**9), (start, end)):  # one chunk, then every chunk
    report = run_analysis(settings, "trades", first, last, registry={"trades": trade_counts})
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")).split()[1]
    print(hwm, pa.default_memory_pool().max_memory() // 1024, report.rows_read)
"""


def build_big_lake(root: Path) -> Settings:
    """CHUNKS minutes of trades, ROWS_PER_CHUNK a minute over 2 exchanges and 3 symbols, through the collector's writer."""
    settings = small_settings(root)
    writer = PartitionWriter(open_lake(settings.lake), settings.lake)
    schema = schema_for(Channel.TRADE)
    per_file = ROWS_PER_CHUNK // 6
    ids = iter(range(10**9))
    for chunk in range(CHUNKS):
        for exchange in ("binance", "bybit"):
            symbols, ts = [], []
            for symbol in ("BTC-USDT", "ETH-BTC", "ETH-USDT"):  # files are sorted by (symbol, ts_recv)
                symbols += [symbol] * per_file
                ts.append(T0 + chunk * 60 * S + np.arange(per_file, dtype=np.int64) * (60 * S // per_file))
            recv = np.concatenate(ts)
            n = len(recv)
            table = pa.table(
                {
                    "symbol": symbols,
                    "ts_event": pa.array(recv - 5, pa.timestamp("ns", tz="UTC")),
                    "ts_recv": pa.array(recv, pa.timestamp("ns", tz="UTC")),
                    "trade_id": [str(next(ids)) for _ in range(n)],
                    "side": ["buy", "sell"] * (n // 2),
                    "price": np.linspace(100.0, 200.0, n),
                    "amount": np.linspace(0.001, 1.0, n),
                },
                schema=schema,
            )
            writer.write_file(Partition(Channel.TRADE, day_of(T0), exchange), table)
    writer.close()
    return settings


def peak_kib(settings: Settings, chunk_s: int, end_ns: int) -> list[tuple[int, int, int]]:
    """In a fresh process: after the first chunk, then after all chunks from T0 to `end_ns`: peak RSS and
    peak Arrow memory (KiB), and rows read."""
    out = subprocess.run([sys.executable, "-c", MEASURE, settings.lake.root, str(chunk_s), str(T0), str(end_ns)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    rss_1, arrow_1, rows_1, rss_all, arrow_all, rows_all = map(int, out.stdout.split())
    return [(rss_1, arrow_1, rows_1), (rss_all, arrow_all, rows_all)]


def test_memory_over_many_chunks_stays_at_the_peak_of_one_chunk(tmp_path: Path) -> None:
    settings = build_big_lake(tmp_path / "lake")
    end = T0 + CHUNKS * 60 * S
    (one, one_arrow, one_rows), (every, every_arrow, every_rows) = peak_kib(settings, 60, end)
    _, (whole, whole_arrow, whole_rows) = peak_kib(settings, CHUNKS * 60, end)  # the control: the whole lake as one chunk
    assert one_rows == ROWS_PER_CHUNK and every_rows == whole_rows == CHUNKS * ROWS_PER_CHUNK
    print(json.dumps({"rss_kib": {"one_chunk": one, "all_chunks": every, "one_big_chunk": whole},
                      "arrow_peak_kib": {"one_chunk": one_arrow, "all_chunks": every_arrow, "one_big_chunk": whole_arrow}}))
    # The lake is larger than the bound: read at once it needs far more than one chunk does...
    assert whole > 1.5 * one and whole_arrow > 3 * one_arrow, (one, whole, one_arrow, whole_arrow)
    # ...while chunk by chunk, eight chunks cost about what one does: the Arrow data held at once is one
    # chunk's; RSS grows a little while the allocator's heaps warm up over the first chunks, then stays.
    assert every_arrow < 1.2 * one_arrow, (one_arrow, every_arrow)
    assert every < 1.25 * one, (one, every)


# -- the real analyses


def test_the_registry_holds_every_shared_analysis_name_and_its_inputs() -> None:
    from analyzer.registry import INPUTS, REGISTRY, inputs

    assert tuple(REGISTRY) == ANALYSES and set(INPUTS) == set(ANALYSES)
    assert inputs("spreads", Settings()) == (Channel.TICKER,)
    assert inputs("spreads", settings_from_mapping({"analyzer": {"depth_size": {"BTC-USDT": 0.5}}})) == (Channel.TICKER, Channel.BOOK)


@pytest.mark.parametrize("name", ANALYSES)
def test_every_real_analysis_runs_chunk_by_chunk_and_stores_its_result(small_lake: Settings, name: str) -> None:
    report = run_analysis(small_lake, name, T0, T0 + 120 * S)
    store = SummaryStore(open_lake(small_lake.lake))
    from analyzer.registry import inputs

    assert set(store.manifests(name)[0].rows_read) == {c.value for c in inputs(name, small_lake)}
    assert [(m.start_ns, m.end_ns) for m in store.manifests(name)] == [(T0, T0 + 60 * S), (T0 + 60 * S, T0 + 120 * S)]
    table = store.read(name)
    assert table.num_rows == report.rows_written
    assert table.schema.field("ts").type == pa.timestamp("ns", tz="UTC") and "symbol" in table.column_names
