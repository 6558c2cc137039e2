"""The candles analysis: both sources at every interval that tiles the chunk, over a hand-computable lake."""

from __future__ import annotations

from typing import Any

import pytest

from analyzer.analysis import Scope
from analyzer.candles import candles, fitting_intervals
from shared.candles import CANDLE_SCHEMA
from shared.events import Event, Side, Ticker, Trade
from shared.lake.reader import LakeReader
from shared.settings import Settings
from tests.analyzer.conftest import MS, LakeFactory, S, compact_lake
from tests.shared.lake.synthetic import T0

BTC = "BTC-USDT"
ETH = "ETH-USDT"
HOUR = 3600 * S


def trade(exchange: str, symbol: str, at_ms: int, price: float, amount: float) -> Trade:
    return Trade(exchange, symbol, T0 + (at_ms - 2) * MS, T0 + at_ms * MS, str(at_ms), Side.SELL, price, amount)


def ticker(exchange: str, symbol: str, at_ms: int, bid: float, ask: float) -> Ticker:
    return Ticker(exchange, symbol, T0 + (at_ms - 2) * MS, T0 + at_ms * MS, bid, 1.0, ask, 1.0)


EVENTS: list[Event] = [
    trade("binance", BTC, 500, 100.0, 1.0),
    trade("binance", BTC, 30_000, 110.0, 1.0),
    trade("binance", BTC, 3_599_500, 90.0, 2.0),
    trade("binance", BTC, 3_600_000, 50.0, 1.0),  # the next hour: another chunk
    trade("bybit", ETH, 10_000, 20.0, 1.0),
    ticker("binance", BTC, 1000, 99.0, 101.0),  # mid 100
    ticker("binance", BTC, 3_000_000, 109.0, 111.0),  # mid 110
    ticker("bybit", ETH, 5000, 19.0, 21.0),  # mid 20
]

# (ts in s after T0, exchange, symbol, interval, source, open, high, low, close, volume, count) in the analysis' order
EXPECTED = [
    (0, "binance", BTC, "1h", "trade", 100.0, 110.0, 90.0, 90.0, 4.0, 3),
    (0, "binance", BTC, "1m", "trade", 100.0, 110.0, 100.0, 110.0, 2.0, 2),
    (0, "binance", BTC, "1s", "trade", 100.0, 100.0, 100.0, 100.0, 1.0, 1),
    (0, "binance", BTC, "1h", "mid", 100.0, 110.0, 100.0, 110.0, None, 2),
    (0, "binance", BTC, "1m", "mid", 100.0, 100.0, 100.0, 100.0, None, 1),
    (0, "bybit", ETH, "1h", "trade", 20.0, 20.0, 20.0, 20.0, 1.0, 1),
    (0, "bybit", ETH, "1m", "trade", 20.0, 20.0, 20.0, 20.0, 1.0, 1),
    (0, "bybit", ETH, "1h", "mid", 20.0, 20.0, 20.0, 20.0, None, 1),
    (0, "bybit", ETH, "1m", "mid", 20.0, 20.0, 20.0, 20.0, None, 1),
    (1, "binance", BTC, "1s", "mid", 100.0, 100.0, 100.0, 100.0, None, 1),
    (5, "bybit", ETH, "1s", "mid", 20.0, 20.0, 20.0, 20.0, None, 1),
    (10, "bybit", ETH, "1s", "trade", 20.0, 20.0, 20.0, 20.0, 1.0, 1),
    (30, "binance", BTC, "1s", "trade", 110.0, 110.0, 110.0, 110.0, 1.0, 1),
    (3000, "binance", BTC, "1m", "mid", 110.0, 110.0, 110.0, 110.0, None, 1),
    (3000, "binance", BTC, "1s", "mid", 110.0, 110.0, 110.0, 110.0, None, 1),
    (3540, "binance", BTC, "1m", "trade", 90.0, 90.0, 90.0, 90.0, 2.0, 1),
    (3599, "binance", BTC, "1s", "trade", 90.0, 90.0, 90.0, 90.0, 2.0, 1),
]


def summary(table: Any) -> list[tuple[Any, ...]]:
    assert table.schema == CANDLE_SCHEMA
    keys = ("exchange", "symbol", "interval", "source", "open", "high", "low", "close", "volume", "count")
    return [((row["ts"].value - T0) // S, *(row[k] for k in keys)) for row in table.to_pylist()]


def test_an_hour_chunk_holds_trade_and_mid_candles_at_one_second_minute_and_hour(make_lake: LakeFactory, settings: Settings) -> None:
    table = candles(make_lake(EVENTS), Scope(T0, T0 + HOUR), settings)
    assert summary(table) == EXPECTED
    hour = table.to_pylist()[0]
    assert (hour["notional"], hour["vwap"]) == (390.0, 97.5)  # 100 + 110 + 2 * 90 over 4


def test_only_intervals_that_tile_the_scope_are_computed() -> None:
    assert fitting_intervals(Scope(T0, T0 + HOUR)) == ["1s", "1m", "1h"]
    assert fitting_intervals(Scope(T0, T0 + 2 * HOUR)) == ["1s", "1m", "1h"]
    assert fitting_intervals(Scope(T0, T0 + 120 * S)) == ["1s", "1m"]
    assert fitting_intervals(Scope(T0, T0 + 90 * S)) == ["1s"]  # 1 m does not divide 90 s
    assert fitting_intervals(Scope(T0 + 30 * S, T0 + 90 * S)) == ["1s"]  # a minute's candle would straddle two scopes
    assert fitting_intervals(Scope(T0, T0 + S // 2)) == []


def test_a_ten_minute_chunk_has_no_hour_candles_and_counts_its_own_rows_only(make_lake: LakeFactory, settings: Settings) -> None:
    table = candles(make_lake(EVENTS), Scope(T0, T0 + 600 * S), settings)
    assert summary(table) == [row for row in EXPECTED if row[3] != "1h" and row[0] < 600]


def test_exchange_and_symbol_filters_keep_only_their_rows(make_lake: LakeFactory, settings: Settings) -> None:
    reader = make_lake(EVENTS)
    assert summary(candles(reader, Scope(T0, T0 + HOUR, exchanges=("bybit",)), settings)) == [row for row in EXPECTED if row[1] == "bybit"]
    assert summary(candles(reader, Scope(T0, T0 + HOUR, symbols=(BTC,)), settings)) == [row for row in EXPECTED if row[2] == BTC]
    assert candles(reader, Scope(T0, T0 + HOUR, exchanges=("binance",), symbols=(ETH,)), settings).num_rows == 0


@pytest.mark.parametrize("scope", [Scope(T0 + 2 * HOUR, T0 + 3 * HOUR), Scope(T0, T0 + S // 2), Scope(T0, T0 + HOUR, symbols=("SOL-USDT",))])
def test_a_scope_without_data_gives_an_empty_table_with_the_schema(make_lake: LakeFactory, settings: Settings, scope: Scope) -> None:
    table = candles(make_lake(EVENTS), scope, settings)
    assert table.num_rows == 0 and table.schema == CANDLE_SCHEMA


def test_the_next_hour_is_its_own_chunk(make_lake: LakeFactory, settings: Settings) -> None:
    table = candles(make_lake(EVENTS), Scope(T0 + HOUR, T0 + 2 * HOUR), settings)
    assert summary(table) == [
        (3600, "binance", BTC, interval, "trade", 50.0, 50.0, 50.0, 50.0, 1.0, 1) for interval in ("1h", "1m", "1s")
    ]


def test_a_compacted_lake_gives_the_same_rows(make_lake: LakeFactory, settings: Settings) -> None:
    reader: LakeReader = make_lake(EVENTS)
    scope = Scope(T0, T0 + HOUR)
    before = candles(reader, scope, settings)
    compact_lake(settings)
    assert candles(reader, scope, settings).equals(before)
    assert summary(before) == EXPECTED
