"""The REST API of a running collector: `spreadlake sim` and `spreadlake collector` as processes, the
collector's lake in tmp_path with analyzer summaries written beside it. Every endpoint, every error
case, and a property-based run of the OpenAPI description (schemathesis) that finds no 5xx."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from shared.candles import CANDLE_SCHEMA, trade_candles
from shared.lake import open_lake
from shared.lake.reader import LakeReader
from shared.settings.lake import LakeSettings
from shared.summary import ANALYSES, SummaryStore
from tests.collector.api.harness import get
from tests.e2e.market import market_config, write_config

TOKEN = "rest-t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
S = 1_000_000_000
HOUR = 3600 * S
TS = pa.timestamp("ns", tz="UTC")
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
SYMBOLS = ("BTC-USDT", "ETH-BTC", "ETH-USDT")
VENUES = ("binance", "bybit", "gateio", "kucoin")


@dataclass(frozen=True)
class Running:
    url: str
    lake: LakeSettings
    ready_ns: int  # when every venue's tickers and books had arrived
    chunk_ns: int  # a past hour with stored summaries for every analysis but `quality`
    tmp: Path


def summary_rows(analysis: str, start_ns: int) -> pa.Table:
    if analysis == "candles":  # the candles analysis' own columns: 1m trade candles of binance, BTC-USDT
        return pa.Table.from_pylist([{"ts": start_ns + i * 60 * S, "exchange": "binance", "symbol": "BTC-USDT", "interval": "1m", "source": "trade",
                                      "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 3.0, "notional": 4.5, "count": 7, "vwap": 1.5}
                                     for i in range(12)], schema=CANDLE_SCHEMA)
    venues = {"buy_exchange": ["binance", "bybit"] * 6, "sell_exchange": ["bybit", "gateio"] * 6} if analysis in ("spreads", "opportunities") \
        else {"exchange": ["binance", "kucoin"] * 6}
    return pa.table({"ts": pa.array([start_ns + i * 300 * S for i in range(12)], TS), "symbol": ["BTC-USDT", "ETH-USDT", "ETH-BTC"] * 4,
                     **venues, "value": [float(i) for i in range(12)]})


def call(url: str, headers: dict[str, str] | None = AUTH) -> tuple[int, Any]:
    status, content_type, body = get(url, headers)
    assert content_type == "application/json", (url, status, content_type, body)
    return status, json.loads(body)


def wait_for(what: str, check: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("rest")
    config = market_config(tmp, lake={"flush_interval_s": 1.0}, api={"token": TOKEN, "max_page_size": 200, "default_page_size": 50})
    path = write_config(tmp, config)
    lake = LakeSettings(root=config["lake"]["root"])
    chunk = (time.time_ns() // HOUR - 3) * HOUR
    store = SummaryStore(open_lake(lake))
    for analysis in ANALYSES:
        if analysis != "quality":
            store.write(analysis, chunk, chunk + HOUR, summary_rows(analysis, chunk), {"seeded": True}, {"ticker": 1}, "test")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for command in ("sim", "collector"):
            procs.append(subprocess.Popen([sys.executable, "-m", "spreadlake", command, "--config", str(path)], env=ENV,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{config['api']['port']}"
        def every_ticker_and_book() -> bool:
            try:
                tickers, spreads = call(url + "/v1/tickers")[1], call(url + "/v1/spreads")[1]
            except (OSError, AssertionError):
                return False
            return len(tickers.get("tickers", [])) == 12 and len(spreads.get("spreads", [])) == 3 * 12

        wait_for("every venue's tickers and books", every_ticker_and_book, 60)
        yield Running(url, lake, time.time_ns(), chunk, tmp)
        for proc, sig in zip(reversed(procs), (signal.SIGTERM, signal.SIGINT), strict=True):
            proc.send_signal(sig)
            assert proc.wait(timeout=30) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_live_endpoints_serve_what_the_collector_receives(collector: Running) -> None:
    status, body = call(collector.url + "/v1/exchanges")
    assert status == 200 and [ex["name"] for ex in body["exchanges"]] == list(VENUES)
    status, body = call(collector.url + "/v1/symbols")
    assert status == 200 and [s["symbol"] for s in body["symbols"]] == list(SYMBOLS)

    status, body = call(collector.url + "/v1/tickers?exchange=gateio")
    assert status == 200 and {t["symbol"] for t in body["tickers"]} == set(SYMBOLS)
    assert all(t["bid"] < t["ask"] and 0 <= t["age_ms"] < 5000 and t["ts_recv"] <= body["now_ns"] for t in body["tickers"])

    status, body = call(collector.url + "/v1/spreads?symbol=BTC-USDT&size=0.01")
    assert status == 200 and len(body["spreads"]) == 12  # every ordered pair of the four venues
    for row in body["spreads"]:
        assert row["top"]["net_bps"] < row["top"]["gross_bps"] and row["depth"]["net_bps"] < row["depth"]["gross_bps"]
        # Walking a book never does better than its top (to within rounding).
        assert row["depth"]["buy_price"] >= row["top"]["buy_price"] * (1 - 1e-12)
        assert row["depth"]["sell_price"] <= row["top"]["sell_price"] * (1 + 1e-12)
    status, body = call(collector.url + "/v1/spreads?symbol=ETH-USDT&exchange=kucoin&size=1000000")
    assert status == 200 and len(body["spreads"]) == 6  # kucoin on either side
    assert all(row["depth"]["gross_bps"] is None and "beyond the book" in row["depth"]["reason"] for row in body["spreads"])


def test_summaries_are_served_paged_and_candles_from_summaries_or_the_lake(collector: Running) -> None:
    chunk = collector.chunk_ns
    status, body = call(f"{collector.url}/v1/summary/volatility?symbol=ETH-USDT&exchange=kucoin&from={chunk}&to={chunk + HOUR}")
    assert status == 200 and body["total"] == 2 and body["chunks"][0]["code_version"] == "test"
    assert all(row["symbol"] == "ETH-USDT" and row["exchange"] == "kucoin" for row in body["rows"])
    path: str | None = "/v1/summary/spreads?limit=5"
    rows: list[dict[str, Any]] = []
    while path:
        status, body = call(collector.url + path)
        rows += body["rows"]
        path = body["next"]
    assert len(rows) == 12 and rows == sorted(rows, key=lambda r: (r["ts"], r["symbol"])) and rows[0]["buy_exchange"] == "binance"

    status, body = call(f"{collector.url}/v1/candles?symbol=BTC-USDT&interval=1m&from={chunk}&to={chunk + HOUR}")
    assert status == 200 and body["source_of_data"] == "summary" and body["total"] == 12 and body["candles"][0]["ts"] == chunk
    assert body["candles"][0] == {"ts": chunk, "exchange": "binance", "symbol": "BTC-USDT", "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5,
                                  "volume": 3.0, "notional": 4.5, "vwap": 1.5, "count": 7}


def test_every_error_is_json_naming_the_problem(collector: Running) -> None:
    chunk = collector.chunk_ns
    cases = [
        ("/v1/summary/nope", 404, "unknown analysis 'nope'"),
        ("/v1/summary/quality", 503, "no result for analysis 'quality' yet"),
        ("/v1/tickers?symbol=DOGE-USDT", 404, "unknown symbol 'DOGE-USDT'"),
        ("/v1/spreads?symbol=DOGE-USDT", 404, "unknown symbol 'DOGE-USDT'"),
        ("/v1/candles?symbol=DOGE-USDT", 404, "unknown symbol 'DOGE-USDT'"),
        ("/v1/summary/spreads?symbol=DOGE-USDT", 404, "unknown symbol 'DOGE-USDT'"),
        ("/v1/tickers?exchange=kraken", 404, "unknown exchange 'kraken'"),
        ("/v1/spreads?size=0", 422, "size: "),
        ("/v1/spreads?size=lots", 422, "size: "),
        ("/v1/summary/spreads?from=tomorrow", 422, "from: 'tomorrow' is neither"),
        (f"/v1/summary/spreads?from={chunk}&to={chunk - 1}", 422, "to: "),
        (f"/v1/summary/spreads?from={chunk - 30 * HOUR}&to={chunk}", 422, "from: the range spans 108000 s; at most 86400 s"),
        ("/v1/summary/spreads?limit=201", 422, "limit: "),
        (f"/v1/candles?symbol=BTC-USDT&from={chunk - 2 * HOUR}&to={chunk}", 422, "from: the `candles` summaries do not cover"),
        ("/v1/candles?symbol=BTC-USDT&interval=2m", 422, "interval: "),
        ("/v1/candles", 422, "symbol: "),
    ]
    for path, want_status, want in cases:
        status, body = call(collector.url + path)
        assert status == want_status and body["detail"].startswith(want), (path, body)
        assert [e["field"] for e in body["errors"]] == ([want.split(":")[0]] if status == 422 else []), (path, body)
    for path in ("/v1/tickers", "/v1/summary/spreads", "/health"):
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            status, body = call(collector.url + path, headers)
            assert status == 401 and "Authorization: Bearer" in body["detail"]


def test_the_openapi_description_holds_under_property_based_requests(collector: Running) -> None:
    """schemathesis' checks, but one: positive_data_acceptance expects any schema-valid request to succeed,
    and a range wider than api.max_range_s, `to` before `from` or a calendar-invalid date are schema-valid
    strings and numbers that the API rightly answers 422 (OpenAPI cannot state relations between parameters)."""
    store = SummaryStore(open_lake(collector.lake))
    store.write("quality", collector.chunk_ns, collector.chunk_ns + HOUR, summary_rows("quality", collector.chunk_ns), {}, {}, "test")
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli is not None
    started = time.monotonic()
    run = subprocess.run([cli, "run", f"{collector.url}/openapi.json", "--checks", "all", "--exclude-checks", "positive_data_acceptance",
                          "--max-examples", "10", "--seed", "7", "--workers", "2", "--generation-database", "none", "--no-color",
                          "--header", f"Authorization: Bearer {TOKEN}", "--request-timeout", "10"],
                         cwd=collector.tmp, capture_output=True, text=True, timeout=120, env=ENV)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout and "8 selected / 8 total" in run.stdout
    print(f"schemathesis: {time.monotonic() - started:.1f} s")
    print(run.stdout)


def test_candles_computed_from_the_live_lake_are_the_lakes_own(collector: Running) -> None:
    """Last in the module, so the range after start-up is long flushed by now."""
    # A closed range of the live lake (flushed every second): the API's candles are the lake's.
    start, end = collector.ready_ns // S * S, (collector.ready_ns // S + 3) * S
    wait_for("the range to be flushed", lambda: time.time_ns() > end + 3 * S, 20)
    status, body = call(f"{collector.url}/v1/candles?symbol=BTC-USDT&interval=1s&from={start}&to={end}&limit=200")
    assert status == 200 and body["source_of_data"] == "lake" and body["total"] > 0
    want = trade_candles(LakeReader(collector.lake), start, end, "1s", symbols=["BTC-USDT"])
    assert [(c["ts"], c["exchange"], c["close"], c["count"]) for c in body["candles"]] == list(
        zip([t.value for t in want["ts"]], want["exchange"].to_pylist(), want["close"].to_pylist(), want["count"].to_pylist(), strict=True))
    status, body = call(f"{collector.url}/v1/candles?symbol=ETH-USDT&source=mid")  # defaults: the latest hour, 1m, from the lake
    assert status == 200 and body["source_of_data"] == "lake" and body["total"] > 0 and body["candles"][0]["volume"] is None
