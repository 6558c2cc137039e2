"""The summary store on real Parquet files: atomic replacement, idempotent re-runs, filters, NoResult."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
from moto.server import ThreadedMotoServer

from shared.lake.storage import Lake, open_lake
from shared.settings.lake import LakeSettings, S3Settings
from shared.summary import ANALYSES, NoResult, SummaryStore
from shared.summary.store import SUMMARY_DIR

S = 1_000_000_000
T0 = 1_767_225_600 * S  # 2026-01-01T00:00:00Z
TS = pa.timestamp("ns", tz="UTC")


def result(start_ns: int, rows: int, version: float = 1.0, step_s: int = 1) -> pa.Table:
    """One row per (second, symbol, exchange pair), `value` = version."""
    ts, symbols, buys, sells = [], [], [], []
    for i in range(rows):
        ts.append(start_ns + (i // 4) * step_s * S)
        symbols.append(("BTC-USDT", "ETH-USDT")[i % 2])
        buys.append(("binance", "bybit")[(i // 2) % 2])
        sells.append(("gateio", "kucoin")[(i // 2) % 2])
    return pa.table(
        {
            "ts": pa.array(ts, TS),
            "symbol": pa.array(symbols, pa.string()),
            "buy_exchange": buys,
            "sell_exchange": sells,
            "value": pa.array([version] * rows, pa.float64()),
        }
    )


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return open_lake(LakeSettings(root=str(tmp_path / "lake")))


def write(store: SummaryStore, table: pa.Table, start_ns: int = T0, end_ns: int = T0 + 60 * S, analysis: str = "spreads") -> None:
    store.write(analysis, start_ns, end_ns, table, {"chunk_s": 60}, {"ticker": 10}, "0.1.0")


def test_a_written_result_reads_back_sorted_with_its_manifest(lake: Lake) -> None:
    store = SummaryStore(lake, clock=lambda: T0 + 99)
    table = result(T0, 40)
    manifest = store.write("spreads", T0, T0 + 60 * S, table.take(list(range(39, -1, -1))), {"chunk_s": 60}, {"ticker": 123, "book": 4}, "0.1.0+g1")
    assert (manifest.analysis, manifest.start_ns, manifest.end_ns, manifest.rows) == ("spreads", T0, T0 + 60 * S, 40)
    assert manifest.parameters == {"chunk_s": 60} and manifest.rows_read == {"ticker": 123, "book": 4}
    assert manifest.code_version == "0.1.0+g1" and manifest.created_ns == T0 + 99
    assert (Path(lake.root) / SUMMARY_DIR / "spreads" / manifest.file).is_file()
    assert store.manifests("spreads") == [manifest]
    got = store.read("spreads")
    assert got.num_rows == 40 and got.schema == table.schema
    keys = list(zip(got.column("ts").to_pylist(), got.column("symbol").to_pylist(), strict=True))
    assert keys == sorted(keys)
    assert store.analyses() == ["spreads"]


def test_rerunning_a_chunk_replaces_its_result_and_leaves_one_file(lake: Lake) -> None:
    store = SummaryStore(lake)
    write(store, result(T0, 40, version=1.0))
    write(store, result(T0, 20, version=2.0))
    write(store, result(T0, 20, version=2.0))  # the same inputs again: the same rows
    got = store.read("spreads")
    assert got.num_rows == 20 and set(got.column("value").to_pylist()) == {2.0}
    (manifest,) = store.manifests("spreads")
    files = list((Path(lake.root) / SUMMARY_DIR / "spreads" / "data").rglob("*.parquet"))
    assert [f.name for f in files] == [manifest.file.split("/")[-1]]


def test_chunks_add_up_and_a_rerun_with_another_chunk_size_replaces_the_overlapping_ones(lake: Lake) -> None:
    store = SummaryStore(lake)
    for i in range(3):
        write(store, result(T0 + i * 60 * S, 8, version=1.0, step_s=10), T0 + i * 60 * S, T0 + (i + 1) * 60 * S)
    assert [m.start_ns for m in store.manifests("spreads")] == [T0, T0 + 60 * S, T0 + 120 * S]
    assert [m.start_ns for m in store.manifests("spreads", T0 + 60 * S, T0 + 61 * S)] == [T0 + 60 * S]
    assert store.read("spreads").num_rows == 24
    write(store, result(T0, 4, version=2.0), T0, T0 + 120 * S)  # one 2-minute chunk over the first two
    assert [(m.start_ns, m.end_ns) for m in store.manifests("spreads")] == [(T0, T0 + 120 * S), (T0 + 120 * S, T0 + 180 * S)]
    assert sorted(store.read("spreads").column("value").to_pylist()) == [1.0] * 8 + [2.0] * 4
    assert len(list((Path(lake.root) / SUMMARY_DIR / "spreads" / "data").rglob("*.parquet"))) == 2


def test_reads_filter_by_time_symbol_and_any_venue_column(lake: Lake) -> None:
    store = SummaryStore(lake)
    write(store, result(T0, 40))  # ts T0 .. T0+9 s
    assert store.read("spreads", T0 + 2 * S, T0 + 5 * S).column("ts").to_pylist()[0].timestamp() == (T0 + 2 * S) / S
    assert store.read("spreads", T0 + 2 * S, T0 + 5 * S).num_rows == 12
    assert set(store.read("spreads", symbols=["ETH-USDT"]).column("symbol").to_pylist()) == {"ETH-USDT"}
    bybit = store.read("spreads", exchanges=["bybit"])
    assert bybit.num_rows == 20 and set(bybit.column("buy_exchange").to_pylist()) == {"bybit"}
    assert store.read("spreads", exchanges=["gateio"]).num_rows == 20  # a sell side matches too
    both = store.read("spreads", T0, T0 + 1 * S, symbols=["BTC-USDT"], exchanges=["kucoin"])
    assert both.to_pydict()["sell_exchange"] == ["kucoin"] and both.to_pydict()["symbol"] == ["BTC-USDT"]


def test_nothing_matching_gives_an_empty_table_with_the_results_schema(lake: Lake) -> None:
    store = SummaryStore(lake)
    write(store, result(T0, 8))
    later = store.read("spreads", T0 + 3600 * S, T0 + 7200 * S)
    for empty in (later, store.read("spreads", symbols=["XRP-USDT"]), store.read("spreads", exchanges=[])):
        assert empty.num_rows == 0 and empty.schema == result(T0, 1).schema


def test_an_analysis_without_results_raises_no_result(lake: Lake) -> None:
    store = SummaryStore(lake)
    with pytest.raises(NoResult, match="candles"):
        store.read("candles")
    assert store.analyses() == [] and store.manifests("candles") == []
    write(store, result(T0, 4))
    with pytest.raises(NoResult):
        store.read("candles")
    assert isinstance(NoResult("x"), LookupError)


def test_bad_writes_are_refused_naming_the_problem(lake: Lake) -> None:
    store = SummaryStore(lake)
    with pytest.raises(ValueError, match="analysis"):
        write(store, result(T0, 4), analysis="../escape")
    with pytest.raises(ValueError, match="end_ns"):
        write(store, result(T0, 4), T0, T0)
    with pytest.raises(ValueError, match="'ts'"):
        write(store, pa.table({"symbol": ["BTC-USDT"]}))
    assert store.analyses() == []


def test_a_file_left_by_a_crashed_write_is_removed_by_the_next_write_of_its_chunk(lake: Lake) -> None:
    store = SummaryStore(lake)
    write(store, result(T0, 4))
    (manifest,) = store.manifests("spreads")
    chunk_dir = Path(lake.root) / SUMMARY_DIR / "spreads" / manifest.file.rsplit("/", 1)[0]
    (chunk_dir / "0000000000000000001-dead.parquet").write_bytes(b"half a file")  # published, manifest never written
    assert store.read("spreads").num_rows == 4  # unnamed: readers never see it
    write(store, result(T0, 4))
    assert len(list(chunk_dir.iterdir())) == 1


def test_the_analysis_names_are_the_shared_list() -> None:
    assert ANALYSES == ("candles", "spreads", "opportunities", "triangular", "volatility", "quality")


def test_a_concurrent_reader_sees_only_whole_results_while_a_chunk_is_rewritten(lake: Lake) -> None:
    """Each version has its own row count and value: a reader must always get one version's rows, all of them."""
    store = SummaryStore(lake)
    write(store, result(T0, 100, version=0.0))
    versions = 60
    done = threading.Event()
    seen: list[tuple[int, frozenset[float]]] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not done.is_set():
                table = store.read("spreads")
                seen.append((table.num_rows, frozenset(table.column("value").to_pylist())))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for version in range(1, versions + 1):
            write(store, result(T0, 100 + 4 * version, version=float(version)))
    finally:
        done.set()
        thread.join()
    assert not errors, errors
    assert len(seen) > 10
    for rows, values in seen:
        assert len(values) == 1, values
        assert rows == 100 + 4 * int(next(iter(values)))
    assert store.read("spreads").num_rows == 100 + 4 * versions


@pytest.fixture(scope="module")
def s3_lake() -> Iterator[Lake]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1").create_bucket(Bucket="lake")
    try:
        s3 = S3Settings(endpoint_url=endpoint, region="us-east-1", access_key_id="k", secret_access_key="s")
        yield open_lake(LakeSettings(root="s3://lake/spreadlake", s3=s3))
    finally:
        server.stop()


def test_the_store_works_on_an_object_store_lake(s3_lake: Lake) -> None:
    store = SummaryStore(s3_lake)
    write(store, result(T0, 40, version=1.0))
    write(store, result(T0, 12, version=2.0))
    write(store, result(T0 + 60 * S, 8, version=3.0), T0 + 60 * S, T0 + 120 * S)
    assert store.analyses() == ["spreads"]
    assert [m.rows for m in store.manifests("spreads")] == [12, 8]
    assert store.read("spreads", symbols=["BTC-USDT"]).num_rows == 10
    from shared.lake.storage import list_dir

    assert len([f for f in list_dir(s3_lake, f"{SUMMARY_DIR}/spreads/data", recursive=True) if f.base_name.endswith(".parquet")]) == 2
