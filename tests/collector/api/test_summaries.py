"""Analyzer summaries and candles over real HTTP, from a real lake in tmp_path: filters, paging, ranges, errors."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from collector.api.errors import ApiError
from collector.api.summaries import Paging, candle_range, covers, instant, rows_of
from shared.candles import mid_candles, trade_candles
from shared.lake import open_lake
from shared.lake.reader import LakeReader
from shared.settings.lake import LakeSettings
from shared.summary import SummaryManifest, SummaryStore
from tests.collector.api.harness import get, running_api
from tests.collector.api.test_live import demo_config
from tests.shared.lake.synthetic import T0, tickers, trades, write

S = 1_000_000_000
HOUR = 3600 * S
TS = pa.timestamp("ns", tz="UTC")


def spreads_table(start_ns: int, n: int) -> pa.Table:
    """`n` rows 10 minutes apart from `start_ns`, cycling through symbols and venue pairs."""
    symbols = ["BTC-USDT", "ETH-USDT"]
    pairs = [("binance", "bybit"), ("bybit", "gateio"), ("gateio", "binance")]
    return pa.table({
        "ts": pa.array([start_ns + i * 600 * S for i in range(n)], TS),
        "symbol": [symbols[i % 2] for i in range(n)],
        "buy_exchange": [pairs[i % 3][0] for i in range(n)],
        "sell_exchange": [pairs[i % 3][1] for i in range(n)],
        "mean_net_bps": [float(i) if i % 4 else None for i in range(n)],
    })


def fetch(url: str) -> tuple[int, Any]:
    status, content_type, body = get(url)
    assert content_type == "application/json", (url, status, body)
    return status, json.loads(body)


def config(tmp_path: Path) -> dict[str, Any]:
    settings = demo_config(tmp_path)
    settings["api"] = {**settings["api"], "max_range_s": 4 * 3600, "max_page_size": 50, "default_page_size": 20, "candles_max_range_s": 1800}
    return settings


def test_summary_rows_are_filtered_by_symbol_venue_and_range_and_paged_with_next_links(tmp_path: Path) -> None:
    store = SummaryStore(open_lake(LakeSettings(root=str(tmp_path / "lake"))))
    store.write("spreads", T0, T0 + HOUR, spreads_table(T0, 6), {}, {"ticker": 10}, "test")
    store.write("spreads", T0 + HOUR, T0 + 2 * HOUR, spreads_table(T0 + HOUR, 6), {}, {"ticker": 10}, "test")

    async def scenario() -> None:
        async with running_api(config(tmp_path)) as url:
            status, body = await asyncio.to_thread(fetch, url + "/v1/summary/spreads")
            assert status == 200 and body["total"] == 12 and body["next"] is None  # default: the allowed range up to the newest result
            assert (body["from_ns"], body["to_ns"]) == (T0 + 2 * HOUR - 4 * HOUR, T0 + 2 * HOUR)
            assert [c["start_ns"] for c in body["chunks"]] == [T0, T0 + HOUR] and body["chunks"][0]["rows"] == 6
            assert body["rows"][0] == {"ts": T0, "symbol": "BTC-USDT", "buy_exchange": "binance", "sell_exchange": "bybit", "mean_net_bps": None}

            query = urllib.parse.urlencode({"symbol": "BTC-USDT", "exchange": "gateio", "from": "2026-01-01T00:30:00Z", "to": T0 + 2 * HOUR})
            status, body = await asyncio.to_thread(fetch, f"{url}/v1/summary/spreads?{query}")
            assert status == 200 and body["from_ns"] == T0 + 1800 * S
            assert body["rows"] and all(row["symbol"] == "BTC-USDT" and "gateio" in (row["buy_exchange"], row["sell_exchange"])
                                        and row["ts"] >= T0 + 1800 * S for row in body["rows"])

            path = "/v1/summary/spreads?limit=5&token=not-echoed"
            pages, rows = 0, []
            while path:
                status, body = await asyncio.to_thread(fetch, url + path)
                assert status == 200 and body["total"] == 12 and len(body["rows"]) <= 5
                rows += body["rows"]
                pages += 1
                path = body["next"]
                assert path is None or ("token" not in path and f"from={T0 - 2 * HOUR}" in path)
            assert pages == 3 and rows == (await asyncio.to_thread(fetch, url + "/v1/summary/spreads?limit=50"))[1]["rows"]

    asyncio.run(scenario())


def test_summary_errors_name_the_analysis_symbol_or_parameter(tmp_path: Path) -> None:
    store = SummaryStore(open_lake(LakeSettings(root=str(tmp_path / "lake"))))
    store.write("spreads", T0, T0 + HOUR, spreads_table(T0, 6), {}, {}, "test")
    cases = [
        ("/v1/summary/nope", 404, "unknown analysis 'nope'"),
        ("/v1/summary/quality", 503, "no result for analysis 'quality' yet"),
        ("/v1/summary/spreads?symbol=DOGE-USDT", 404, "unknown symbol 'DOGE-USDT'"),
        ("/v1/summary/spreads?exchange=kraken", 404, "unknown exchange 'kraken'"),
        ("/v1/summary/triangular?symbol=USDT>BTC>XRP>USDT", 404, "unknown asset in path 'XRP'"),
        ("/v1/summary/spreads?from=yesterday", 422, "from: 'yesterday' is neither integer ns nor ISO 8601"),
        ("/v1/summary/spreads?from=-5", 422, "from: '-5' is outside"),
        (f"/v1/summary/spreads?from={T0}&to={T0}", 422, f"to: {T0} is not after from"),
        (f"/v1/summary/spreads?from={T0}&to={T0 + 5 * HOUR}", 422, "from: the range spans 18000 s; at most 14400 s (api.max_range_s)"),
        ("/v1/summary/spreads?limit=51", 422, "limit: Input should be less than or equal to 50"),
        ("/v1/summary/spreads?offset=-1", 422, "offset: Input should be greater than or equal to 0"),
    ]

    async def scenario() -> None:
        async with running_api(config(tmp_path)) as url:
            for path, want_status, want in cases:
                status, body = await asyncio.to_thread(fetch, url + urllib.parse.quote(path, safe="/?=&"))
                assert status == want_status and body["detail"].startswith(want), (path, body)
                if status == 422:
                    assert body["errors"][0]["field"] == body["detail"].split(":")[0]
            status, body = await asyncio.to_thread(fetch, url + "/v1/summary/triangular?symbol=" + urllib.parse.quote("USDT>BTC>ETH>USDT"))
            assert status == 503  # a known path, but no triangular result stored

    asyncio.run(scenario())


def test_candles_come_from_the_summaries_when_they_cover_the_range_else_from_the_lake(tmp_path: Path) -> None:
    lake_settings = LakeSettings(root=str(tmp_path / "lake"))
    lake = open_lake(lake_settings)
    write(lake, lake_settings, [*trades(300, t0=T0, step=10 * S), *tickers(300, t0=T0, step=10 * S)])
    write(lake, lake_settings, [*trades(100, t0=T0 + HOUR, step=S), *tickers(100, t0=T0 + HOUR, step=S)])
    reader = LakeReader(lake_settings, lake)
    stored = pa.concat_tables([trade_candles(reader, T0, T0 + HOUR, "1m"), mid_candles(reader, T0, T0 + HOUR, "1m")])
    SummaryStore(lake).write("candles", T0, T0 + HOUR, stored, {}, {}, "test")

    async def scenario() -> None:
        async with running_api(config(tmp_path)) as url:
            status, body = await asyncio.to_thread(fetch, f"{url}/v1/candles?symbol=BTC-USDT&interval=1m&from={T0}&to={T0 + HOUR}&limit=50")
            assert status == 200 and body["source_of_data"] == "summary", body
            want = trade_candles(reader, T0, T0 + HOUR, "1m", symbols=["BTC-USDT"])
            assert body["total"] == want.num_rows > 0 and body["candles"][0]["ts"] == want["ts"][0].value
            assert body["candles"][0]["close"] == want["close"][0].as_py() and body["candles"][0]["volume"] == want["volume"][0].as_py()

            status, body = await asyncio.to_thread(fetch, f"{url}/v1/candles?symbol=ETH-USDT&exchange=bybit&interval=1s&source=mid"
                                                         f"&from={T0 + HOUR}&to={T0 + HOUR + 600 * S}&limit=50")
            assert status == 200 and body["source_of_data"] == "lake" and body["source"] == "mid"
            want = mid_candles(reader, T0 + HOUR, T0 + HOUR + 600 * S, "1s", ["bybit"], ["ETH-USDT"])
            assert body["total"] == want.num_rows > 0 and [c["open"] for c in body["candles"]] == want["open"].to_pylist()[:50]
            assert all(c["volume"] is None and c["exchange"] == "bybit" for c in body["candles"])

            status, body = await asyncio.to_thread(fetch, f"{url}/v1/candles?symbol=BTC-USDT&from={T0 + HOUR}&to={T0 + 2 * HOUR}")
            assert status == 422 and body["errors"][0]["field"] == "from" and "api.candles_max_range_s" in body["detail"]
            status, body = await asyncio.to_thread(fetch, f"{url}/v1/candles?symbol=BTC-USDT&from={T0}&to={T0 + 5 * HOUR}")
            assert status == 422 and "api.max_range_s" in body["detail"]
            for path, field in (("/v1/candles", "symbol"), ("/v1/candles?symbol=BTC-USDT&interval=5m", "interval"),
                                ("/v1/candles?symbol=BTC-USDT&source=book", "source"), ("/v1/candles?symbol=BTC-USDT&to=soon", "to")):
                status, body = await asyncio.to_thread(fetch, url + path)
                assert status == 422 and body["errors"][0]["field"] == field, (path, body)
            status, body = await asyncio.to_thread(fetch, f"{url}/v1/candles?symbol=XRP-USDT")
            assert status == 404

    asyncio.run(scenario())


def test_candle_ranges_are_whole_buckets_and_default_to_the_latest_lake_window() -> None:
    minute = 60 * S
    assert candle_range(T0 + 30 * S, T0 + 90 * S, minute, 0, 1800 * S, HOUR) == (T0, T0 + 2 * minute)
    assert candle_range(None, None, minute, T0 + 10 * S, 1800 * S, HOUR) == (T0 + minute - 1800 * S, T0 + minute)
    assert candle_range(None, None, HOUR, T0 + 10 * S, 1800 * S, 2 * HOUR) == (T0, T0 + HOUR)  # at least one bucket
    with pytest.raises(ApiError, match="to: "):
        candle_range(T0 + 30 * S, T0 + 10 * S, minute, 0, 1800 * S, HOUR)


def test_chunks_cover_a_range_only_without_holes() -> None:
    def chunk(start: int, end: int) -> SummaryManifest:
        return SummaryManifest("candles", start, end, {}, {}, 0, "", 0, "")

    assert covers([chunk(0, 10), chunk(10, 20)], 5, 20)
    assert not covers([chunk(0, 10), chunk(12, 20)], 5, 20)
    assert not covers([chunk(0, 10)], 5, 11)
    assert not covers([], 5, 6)


def test_instants_are_ns_or_iso_and_rows_never_carry_nan() -> None:
    assert instant("from", "2026-01-01") == T0 and instant("to", str(T0)) == T0 and instant("to", None) is None
    with pytest.raises(ApiError, match="from: '99999999999999999999' is outside"):
        instant("from", "99999999999999999999")
    table = pa.table({"ts": pa.array([T0, T0 + 1], TS), "x": [float("nan"), 1.5]})
    assert rows_of(table, Paging(limit=5, offset=0)) == [{"ts": T0, "x": None}, {"ts": T0 + 1, "x": 1.5}]
    assert rows_of(table, Paging(limit=5, offset=7)) == []
