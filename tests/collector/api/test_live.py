"""The live routes over real HTTP: what is collected, the latest tickers with ages, live spreads, and their errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml

from collector.latest import LatestMarket
from shared.events import BookTop, Ticker
from tests.collector.api.harness import get, running_api

ROOT = Path(__file__).resolve().parents[3]
MS = 1_000_000
TOKEN = "api-t0ken"


def demo_config(tmp_path: Path) -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    config["lake"]["root"] = str(tmp_path / "lake")
    return config


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, content_type, body = get(url, headers)
    assert content_type == "application/json", (url, status, content_type, body)
    return status, json.loads(body)


def test_exchanges_and_symbols_list_what_the_settings_collect_with_the_fee_the_spreads_use(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_api(demo_config(tmp_path)) as url:
            status, body = await asyncio.to_thread(fetch, url + "/v1/exchanges")
            assert status == 200
            fees = {ex["name"]: ex["taker_fee_bps"] for ex in body["exchanges"]}
            assert fees == {"binance": 7.5, "bybit": 10.0, "gateio": 10.0, "kucoin": 10.0}  # the trader's fees in demo.yaml
            assert body["exchanges"][0]["symbols"] == ["BTC-USDT", "ETH-USDT", "ETH-BTC"] and body["exchanges"][0]["endpoint"] == "sim"
            status, body = await asyncio.to_thread(fetch, url + "/v1/symbols")
            assert status == 200
            assert body["symbols"][1] == {"symbol": "ETH-BTC", "base": "ETH", "quote": "BTC", "exchanges": ["binance", "bybit", "gateio", "kucoin"]}

    asyncio.run(scenario())


def test_tickers_and_spreads_answer_503_until_data_arrives_then_the_latest_with_ages(tmp_path: Path) -> None:
    now = [10_000 * MS]
    market = LatestMarket(clock=lambda: now[0])

    async def scenario() -> None:
        async with running_api(demo_config(tmp_path), market, clock=lambda: now[0]) as url:
            for path in ("/v1/tickers", "/v1/spreads", "/v1/tickers?exchange=bybit"):
                status, body = await asyncio.to_thread(fetch, url + path)
                assert status == 503 and body["detail"].startswith("no "), (path, body)
            market(Ticker("binance", "BTC-USDT", 9, 10, 100.0, 1.0, 101.0, 2.0))
            market(BookTop("binance", "BTC-USDT", None, 10, ((100.0, 1.0),), ((101.0, 1.0),)))
            now[0] += 1500 * MS
            market(BookTop("bybit", "BTC-USDT", None, 11, ((102.0, 1.0),), ((103.0, 1.0),)))
            now[0] += 6000 * MS

            status, body = await asyncio.to_thread(fetch, url + "/v1/tickers")
            assert status == 200 and body["now_ns"] == now[0]
            assert body["tickers"] == [{"exchange": "binance", "symbol": "BTC-USDT", "bid": 100.0, "bid_size": 1.0, "ask": 101.0, "ask_size": 2.0,
                                        "mid": 100.5, "spread_bps": 1 / 100.5 * 10_000, "ts_event": 9, "ts_recv": 10,
                                        "age_ms": 7500.0, "stale": True}]
            assert (await asyncio.to_thread(fetch, url + "/v1/tickers?exchange=bybit"))[0] == 503

            status, body = await asyncio.to_thread(fetch, url + "/v1/spreads?symbol=BTC-USDT&size=0.5")
            assert status == 200
            pairs = {(row["buy_exchange"], row["sell_exchange"]): row for row in body["spreads"]}
            assert list(pairs) == [("binance", "bybit"), ("bybit", "binance")]
            row = pairs[("binance", "bybit")]
            assert (row["buy_book_age_ms"], row["sell_book_age_ms"], row["stale"]) == (7500.0, 6000.0, True)
            assert row["top"]["gross_bps"] == (102.0 / 101.0 - 1) * 10_000 and row["depth"]["buy_price"] == 101.0
            assert (row["buy_fee_bps"], row["sell_fee_bps"], row["size"]) == (7.5, 10.0, 0.5)
            status, body = await asyncio.to_thread(fetch, url + "/v1/spreads?symbol=BTC-USDT&size=5")
            assert body["spreads"][0]["depth"]["net_bps"] is None and "beyond the book" in body["spreads"][0]["depth"]["reason"]
            status, body = await asyncio.to_thread(fetch, url + "/v1/spreads?symbol=ETH-USDT")
            assert status == 503 and "ETH-USDT" in body["detail"]
            status, body = await asyncio.to_thread(fetch, url + "/v1/spreads?exchange=kucoin")
            assert status == 503 and "kucoin" in body["detail"]

    asyncio.run(scenario())


def test_unknown_names_are_404_and_bad_parameters_422_naming_the_field(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_api(demo_config(tmp_path)) as url:
            for path, word in (("/v1/tickers?symbol=DOGE-USDT", "symbol 'DOGE-USDT'"), ("/v1/tickers?exchange=kraken", "exchange 'kraken'"),
                               ("/v1/spreads?symbol=BTC-EUR", "symbol 'BTC-EUR'"), ("/v1/spreads?exchange=okx", "exchange 'okx'")):
                status, body = await asyncio.to_thread(fetch, url + path)
                assert status == 404 and word in body["detail"] and "known:" in body["detail"], body
            for size in ("0", "-1", "abc", "inf", "nan"):
                status, body = await asyncio.to_thread(fetch, url + f"/v1/spreads?symbol=BTC-USDT&size={size}")
                assert status == 422 and body["detail"].startswith("size: ") and body["errors"][0]["field"] == "size", (size, body)
            status, body = await asyncio.to_thread(fetch, url + "/v1/nowhere")
            assert status == 404 and body == {"detail": "Not Found"}

    asyncio.run(scenario())


def test_every_v1_route_needs_the_token_beyond_loopback(tmp_path: Path) -> None:
    paths = ("/v1/exchanges", "/v1/symbols", "/v1/tickers", "/v1/spreads", "/v1/summary/spreads", "/v1/candles?symbol=BTC-USDT")

    async def scenario() -> None:
        async with running_api(demo_config(tmp_path), host="0.0.0.0", token=TOKEN) as url:
            for path in paths:
                status, body = await asyncio.to_thread(fetch, url + path)
                assert status == 401 and "Authorization: Bearer" in body["detail"], path
                status, _ = await asyncio.to_thread(fetch, url + path, {"Authorization": f"Bearer {TOKEN}"})
                assert status != 401, path
            status, spec = await asyncio.to_thread(fetch, url + "/openapi.json")
            documented = [path for path, item in spec["paths"].items() if path.startswith("/v1/") and "401" in item["get"]["responses"]]
            assert status == 200 and len(documented) == len(paths), documented

    asyncio.run(scenario())
