"""Trade and mid-price candles over a lake small enough to compute every candle by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from analyzer.lake.compaction import compact
from shared.candles import CANDLE_SCHEMA, mid_candles, trade_candles
from shared.events import Event, Side, Ticker, Trade
from shared.lake.reader import LakeReader
from shared.lake.storage import open_lake
from shared.settings.lake import LakeSettings
from tests.shared.lake.synthetic import T0, write

S = 1_000_000_000
MS = 1_000_000
BTC = "BTC-USDT"
ETH = "ETH-USDT"
HOUR = 3600 * S


def trade(exchange: str, symbol: str, at_ms: int, trade_id: str, price: float, amount: float, event_ms: int | None = None) -> Trade:
    ts = T0 + at_ms * MS
    return Trade(exchange, symbol, T0 + (event_ms if event_ms is not None else at_ms - 1) * MS, ts, trade_id, Side.BUY, price, amount)


def ticker(exchange: str, symbol: str, at_ms: int, bid: float, ask: float, event_ms: int | None = None) -> Ticker:
    ts = T0 + at_ms * MS
    return Ticker(exchange, symbol, T0 + (event_ms if event_ms is not None else at_ms - 1) * MS, ts, bid, 1.0, ask, 1.0)


EVENTS: list[Event] = [
    trade("binance", BTC, 200, "1", 100.0, 1.0),
    trade("binance", BTC, 500, "2", 102.0, 1.0),
    trade("binance", BTC, 900, "3", 99.0, 2.0),
    trade("binance", BTC, 1000, "4", 101.0, 1.0),  # exactly on the second's boundary: opens the next candle
    # One frame, one receive time, one exchange time: trade id "9" comes before "10" (not as strings).
    trade("binance", BTC, 1500, "10", 98.0, 2.0, event_ms=1400),
    trade("binance", BTC, 1500, "9", 103.0, 1.0, event_ms=1400),
    trade("binance", BTC, 61_000, "5", 104.0, 0.25),
    trade("bybit", BTC, 300, "a", 200.0, 1.0),
    trade("binance", ETH, 400, "7", 10.0, 3.0),
    ticker("binance", BTC, 100, 99.0, 101.0),  # mid 100
    ticker("binance", BTC, 600, 101.0, 103.0),  # 102
    # Same receive time: the earlier exchange time (mid 99) comes first, so 97 closes the second.
    ticker("binance", BTC, 800, 96.0, 98.0, event_ms=750),  # 97
    ticker("binance", BTC, 800, 98.0, 100.0, event_ms=700),  # 99
    ticker("binance", BTC, 2000, 0.0, 100.0),  # no bid: no mid
    ticker("binance", BTC, 2500, 99.5, 100.5),  # 100
    ticker("bybit", ETH, 700, 9.0, 11.0),  # 10
]


@pytest.fixture
def lake(tmp_path: Path) -> LakeSettings:
    settings = LakeSettings(root=str(tmp_path), fsync=False)
    write(open_lake(settings), settings, EVENTS, batches=len(EVENTS))  # a file per event: compaction has work
    return settings


def rows(table: pa.Table) -> list[dict[str, Any]]:
    assert table.schema == CANDLE_SCHEMA
    return [{**row, "ts": (row["ts"].value - T0) // MS} for row in table.to_pylist()]  # ts as ms after T0


def candle(at_ms: int, exchange: str, symbol: str, interval: str, ohlc: tuple[float, float, float, float], count: int,
           volume: float | None = None, notional: float | None = None) -> dict[str, Any]:
    o, h, low, c = ohlc
    vwap = None if volume is None or notional is None else notional / volume
    source = "mid" if volume is None else "trade"
    return {"ts": at_ms, "exchange": exchange, "symbol": symbol, "interval": interval, "source": source, "open": o, "high": h,
            "low": low, "close": c, "volume": volume, "notional": notional, "count": count, "vwap": vwap}


def test_trade_candles_per_second_follow_receive_order_with_ties_broken_by_exchange_time_then_trade_id(lake: LakeSettings) -> None:
    got = rows(trade_candles(LakeReader(lake), T0, T0 + HOUR, "1s"))
    assert got == [
        candle(0, "binance", BTC, "1s", (100.0, 102.0, 99.0, 99.0), 3, 4.0, 400.0),
        candle(0, "binance", ETH, "1s", (10.0, 10.0, 10.0, 10.0), 1, 3.0, 30.0),
        candle(0, "bybit", BTC, "1s", (200.0, 200.0, 200.0, 200.0), 1, 1.0, 200.0),
        candle(1000, "binance", BTC, "1s", (101.0, 103.0, 98.0, 98.0), 3, 4.0, 400.0),
        candle(61_000, "binance", BTC, "1s", (104.0, 104.0, 104.0, 104.0), 1, 0.25, 26.0),
    ]
    assert got[0]["vwap"] == 100.0 and got[3]["vwap"] == 100.0


def test_trade_candles_per_minute_and_hour_aggregate_every_trade_of_the_bucket(lake: LakeSettings) -> None:
    reader = LakeReader(lake)
    minute = rows(trade_candles(reader, T0, T0 + HOUR, "1m", exchanges=["binance"], symbols=[BTC]))
    assert minute == [
        candle(0, "binance", BTC, "1m", (100.0, 103.0, 98.0, 98.0), 6, 8.0, 800.0),
        candle(60_000, "binance", BTC, "1m", (104.0, 104.0, 104.0, 104.0), 1, 0.25, 26.0),
    ]
    hour = rows(trade_candles(reader, T0, T0 + HOUR, "1h", exchanges=["binance"], symbols=[BTC]))
    assert hour == [candle(0, "binance", BTC, "1h", (100.0, 104.0, 98.0, 104.0), 7, 8.25, 826.0)]
    assert hour[0]["vwap"] == 826.0 / 8.25


def test_the_range_is_half_open_on_receive_time(lake: LakeSettings) -> None:
    got = rows(trade_candles(LakeReader(lake), T0 + 1 * S, T0 + 61 * S, "1m", symbols=[BTC]))
    # The trade at exactly +1 s is in, the one at exactly +61 s out.
    assert got == [candle(0, "binance", BTC, "1m", (101.0, 103.0, 98.0, 98.0), 3, 4.0, 400.0)]


def test_exchange_and_symbol_filters_keep_only_their_rows(lake: LakeSettings) -> None:
    reader = LakeReader(lake)
    assert rows(trade_candles(reader, T0, T0 + HOUR, "1h", exchanges=["bybit"])) == [
        candle(0, "bybit", BTC, "1h", (200.0, 200.0, 200.0, 200.0), 1, 1.0, 200.0)
    ]
    assert rows(trade_candles(reader, T0, T0 + HOUR, "1h", symbols=[ETH])) == [
        candle(0, "binance", ETH, "1h", (10.0, 10.0, 10.0, 10.0), 1, 3.0, 30.0)
    ]
    one_name = trade_candles(reader, T0, T0 + HOUR, "1h", symbols=ETH)  # a symbol, not its letters
    assert one_name == trade_candles(reader, T0, T0 + HOUR, "1h", symbols=[ETH])
    assert trade_candles(reader, T0, T0 + HOUR, "1h", exchanges=["bybit"], symbols=[ETH]).num_rows == 0
    assert trade_candles(reader, T0, T0 + HOUR, "1h", exchanges=["kraken"]).num_rows == 0


def test_mid_candles_use_the_mid_of_each_ticker_and_skip_one_sided_quotes(lake: LakeSettings) -> None:
    got = rows(mid_candles(LakeReader(lake), T0, T0 + HOUR, "1s"))
    assert got == [
        candle(0, "binance", BTC, "1s", (100.0, 102.0, 97.0, 97.0), 4),
        candle(0, "bybit", ETH, "1s", (10.0, 10.0, 10.0, 10.0), 1),
        candle(2000, "binance", BTC, "1s", (100.0, 100.0, 100.0, 100.0), 1),
    ]
    assert rows(mid_candles(LakeReader(lake), T0, T0 + HOUR, "1m", exchanges=["binance"])) == [
        candle(0, "binance", BTC, "1m", (100.0, 102.0, 97.0, 100.0), 5)
    ]


def test_a_range_without_data_gives_an_empty_table_with_the_schema(lake: LakeSettings) -> None:
    reader = LakeReader(lake)
    assert rows(trade_candles(reader, T0 + HOUR, T0 + 2 * HOUR, "1m")) == []
    assert rows(mid_candles(reader, T0 - HOUR, T0, "1h")) == []


def test_an_unknown_interval_or_an_empty_range_is_refused_by_name(lake: LakeSettings) -> None:
    reader = LakeReader(lake)
    with pytest.raises(ValueError, match=r"interval: '5m' is not one of 1s, 1m, 1h"):
        trade_candles(reader, T0, T0 + HOUR, "5m")
    with pytest.raises(ValueError, match="interval"):
        mid_candles(reader, T0, T0 + HOUR, "60")
    with pytest.raises(ValueError, match=r"range: end \d+ is not after start \d+"):
        trade_candles(reader, T0 + HOUR, T0, "1m")


def test_a_compacted_lake_gives_the_same_candles(lake: LakeSettings) -> None:
    reader = LakeReader(lake)
    before = [make(reader, T0, T0 + HOUR, interval) for make in (trade_candles, mid_candles) for interval in ("1s", "1m", "1h")]
    report = compact(lake, lambda: T0 + 10 * 86_400 * S)
    assert report.partitions == 2 and not report.errors  # binance's trades and tickers: a file per event merged
    on_disk = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{lake.root}/market_data/trade/**/*.parquet')").fetchall()[0][0]
    assert on_disk == 8 + 9  # the replaced files stay for the grace period: a plain glob counts binance's 8 twice
    after = [make(reader, T0, T0 + HOUR, interval) for make in (trade_candles, mid_candles) for interval in ("1s", "1m", "1h")]
    assert after == before
