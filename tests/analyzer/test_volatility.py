"""Realized volatility of mids, volume and VWAP per 10 s bucket, over a hand-computable lake."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pytest

from analyzer.analysis import Scope
from analyzer.volatility import VOLATILITY_SCHEMA, volatility
from shared.events import Event, Side, Ticker, Trade
from shared.pricing import vwap
from shared.settings import Settings
from shared.settings.analyzer import AnalyzerSettings
from tests.analyzer.conftest import MS, LakeFactory, S, compact_lake
from tests.shared.lake.synthetic import T0

BTC = "BTC-USDT"
ETH = "ETH-USDT"


def ticker(exchange: str, symbol: str, at_ms: int, bid: float, ask: float, event_ms: int | None = None) -> Ticker:
    return Ticker(exchange, symbol, T0 + (event_ms if event_ms is not None else at_ms - 3) * MS, T0 + at_ms * MS, bid, 1.0, ask, None)


def trade(exchange: str, symbol: str, at_ms: int, price: float, amount: float) -> Trade:
    return Trade(exchange, symbol, T0 + (at_ms - 3) * MS, T0 + at_ms * MS, str(at_ms), Side.BUY, price, amount)


EVENTS: list[Event] = [
    ticker("binance", BTC, 1000, 99.0, 101.0),  # mid 100
    ticker("binance", BTC, 2000, 199.0, 201.0),  # 200
    ticker("binance", BTC, 3000, 99.0, 101.0),  # 100
    ticker("binance", BTC, 10_000, 399.0, 401.0),  # 400: first of its bucket, no return across buckets
    ticker("binance", BTC, 25_000, 49.0, 51.0),  # 50
    ticker("binance", BTC, 30_000, 59.0, 61.0),  # 60
    trade("binance", BTC, 4000, 100.0, 1.0),
    trade("binance", BTC, 5000, 130.0, 2.0),
    trade("binance", BTC, 12_000, 400.0, 0.5),
    trade("binance", BTC, 35_000, 10.0, 1.0),
    trade("binance", ETH, 15_000, 10.0, 2.0),
    ticker("bybit", BTC, 1000, 99.0, 101.0),  # 100
    # One receive time: by exchange time 121 comes before 110.
    ticker("bybit", BTC, 2000, 109.0, 111.0, event_ms=1900),  # 110
    ticker("bybit", BTC, 2000, 120.0, 122.0, event_ms=1800),  # 121
    ticker("bybit", BTC, 3000, 0.0, 5.0),  # no bid: no mid
]

BINANCE_VOL = 10_000 * math.sqrt(2) * math.log(2)  # returns ln(200/100) and ln(100/200)
BYBIT_VOL = 10_000 * math.sqrt(math.log(121 / 100) ** 2 + math.log(110 / 121) ** 2)

# (ts in s after T0, exchange, symbol, mids, returns, realized_vol_bps, trades, volume, notional, vwap)
EXPECTED = [
    (0, "binance", BTC, 3, 2, BINANCE_VOL, 2, 3.0, 360.0, 120.0),
    (0, "bybit", BTC, 3, 2, BYBIT_VOL, 0, 0.0, 0.0, None),
    (10, "binance", BTC, 1, 0, None, 1, 0.5, 200.0, 400.0),
    (10, "binance", ETH, 0, 0, None, 1, 2.0, 20.0, 10.0),
    (20, "binance", BTC, 1, 0, None, 0, 0.0, 0.0, None),
    (30, "binance", BTC, 1, 0, None, 1, 1.0, 10.0, 10.0),
]


@pytest.fixture
def ten_seconds(settings: Settings) -> Settings:
    return Settings(lake=settings.lake, analyzer=AnalyzerSettings(volatility_interval_s=10))


def summary(table: pa.Table, interval_s: int = 10) -> list[tuple[Any, ...]]:
    assert table.schema == VOLATILITY_SCHEMA
    assert set(table.column("interval_s").to_pylist()) <= {interval_s}
    keys = ("exchange", "symbol", "mids", "returns", "realized_vol_bps", "trades", "volume", "notional", "vwap")
    out = []
    for row in table.to_pylist():
        vol = row["realized_vol_bps"]
        row["realized_vol_bps"] = None if vol is None else pytest.approx(vol, rel=1e-12)  # ln and sqrt: to the last bits
        out.append(((row["ts"].value - T0) // S, *(row[k] for k in keys)))
    return out


def test_each_bucket_has_the_volatility_of_its_own_mids_and_the_volume_of_its_trades(make_lake: LakeFactory, ten_seconds: Settings) -> None:
    table = volatility(make_lake(EVENTS), Scope(T0, T0 + 60 * S), ten_seconds)
    assert summary(table) == EXPECTED


def test_vwap_agrees_with_the_shared_pricing(make_lake: LakeFactory, ten_seconds: Settings) -> None:
    table = volatility(make_lake(EVENTS), Scope(T0, T0 + 10 * S, exchanges=("binance",)), ten_seconds)
    assert table.column("vwap").to_pylist() == [vwap([(100.0, 1.0), (130.0, 2.0)], 3.0)]


def test_the_scope_is_half_open(make_lake: LakeFactory, ten_seconds: Settings) -> None:
    table = volatility(make_lake(EVENTS), Scope(T0 + 10 * S, T0 + 30 * S), ten_seconds)
    assert summary(table) == [row for row in EXPECTED if 10 <= row[0] < 30]


def test_buckets_count_from_the_scope_start_and_the_last_is_cut_at_its_end(make_lake: LakeFactory, ten_seconds: Settings) -> None:
    table = volatility(make_lake(EVENTS), Scope(T0 + 5 * S, T0 + 30 * S), ten_seconds)
    assert summary(table) == [
        (5, "binance", BTC, 1, 0, None, 2, 2.5, 460.0, 184.0),  # [5 s, 15 s): the 400 mid, trades 130 x 2 and 400 x 0.5
        (15, "binance", ETH, 0, 0, None, 1, 2.0, 20.0, 10.0),
        (25, "binance", BTC, 1, 0, None, 0, 0.0, 0.0, None),  # [25 s, 30 s)
    ]


def test_exchange_and_symbol_filters_keep_only_their_rows(make_lake: LakeFactory, ten_seconds: Settings) -> None:
    reader = make_lake(EVENTS)
    assert summary(volatility(reader, Scope(T0, T0 + 60 * S, exchanges=("bybit",)), ten_seconds)) == [EXPECTED[1]]
    assert summary(volatility(reader, Scope(T0, T0 + 60 * S, symbols=(ETH,)), ten_seconds)) == [EXPECTED[3]]


def test_the_default_minute_bucket_holds_every_return_of_the_minute(make_lake: LakeFactory, settings: Settings) -> None:
    table = volatility(make_lake(EVENTS), Scope(T0, T0 + 60 * S, symbols=(BTC,), exchanges=("binance",)), settings)
    returns = [math.log(200 / 100), math.log(100 / 200), math.log(400 / 100), math.log(50 / 400), math.log(60 / 50)]
    assert summary(table, interval_s=60) == [
        (0, "binance", BTC, 6, 5, 10_000 * math.sqrt(sum(r * r for r in returns)), 4, 4.5, 570.0, 570.0 / 4.5),
    ]


def test_a_scope_without_data_gives_an_empty_table_with_the_schema(make_lake: LakeFactory, ten_seconds: Settings) -> None:
    table = volatility(make_lake(EVENTS), Scope(T0 + 3600 * S, T0 + 7200 * S), ten_seconds)
    assert table.num_rows == 0 and table.schema == VOLATILITY_SCHEMA


def test_a_compacted_lake_gives_the_same_rows(make_lake: LakeFactory, ten_seconds: Settings) -> None:
    reader = make_lake(EVENTS)
    scope = Scope(T0, T0 + 60 * S)
    before = volatility(reader, scope, ten_seconds)
    compact_lake(ten_seconds)
    assert volatility(reader, scope, ten_seconds).equals(before)
    assert summary(before) == EXPECTED
