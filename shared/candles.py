"""OHLCV candles for a bounded range straight from the lake: from trades, and from ticker mid prices.

The `candles` analysis stores these rows chunk by chunk; the collector's REST API computes them for
a requested range itself. Both read the lake through `LakeReader`, so each row counts once.

A candle covers [ts, ts + interval) on receive time (`ts_recv`), with buckets aligned to the epoch;
only buckets with data have a row. Open and close are the first and last event by
(ts_recv, ts_event, trade id, price): the receive order, with equal receive times (one websocket
frame) broken by the exchange's time, then by trade id (shorter first, so numeric ids sort as
numbers), then by price, so the result never depends on file or row order. Mid = (bid + ask) / 2;
a ticker with a non-positive side carries no price and is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from shared.events import Channel
from shared.lake.query import TS_TYPE, cast_to, lake_query, symbol_filter
from shared.lake.reader import LakeReader

INTERVALS: dict[str, int] = {"1s": 1, "1m": 60, "1h": 3600}

NS_PER_S = 1_000_000_000

CANDLE_SCHEMA = pa.schema(
    [
        ("ts", TS_TYPE),
        ("exchange", pa.string()),
        ("symbol", pa.string()),
        ("interval", pa.string()),
        ("source", pa.string()),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
        ("notional", pa.float64()),
        ("count", pa.int64()),
        ("vwap", pa.float64()),
    ]
)

_TRADE_ORDER = "ts_recv, ts_event NULLS LAST, length(trade_id) NULLS LAST, trade_id, price"
_MID_ORDER = "ts_recv, ts_event NULLS LAST, price"


def trade_candles(
    reader: LakeReader,
    start_ns: int,
    end_ns: int,
    interval: str,
    exchanges: Iterable[str] | None = None,
    symbols: Iterable[str] | None = None,
) -> pa.Table:
    """Trade candles in [start_ns, end_ns): volume = sum of amounts, notional = sum of price * amount,
    vwap = notional / volume (null if the volume is 0), count = trades."""
    seconds = interval_seconds(interval)
    sql = f"""
        SELECT epoch_ns(ts_recv) // {seconds * NS_PER_S} * {seconds * NS_PER_S} AS ts, exchange, symbol,
            '{interval}' AS "interval", 'trade' AS source,
            first(price ORDER BY {_TRADE_ORDER}) AS open, max(price) AS high, min(price) AS low,
            last(price ORDER BY {_TRADE_ORDER}) AS close,
            sum(amount) AS volume, sum(price * amount) AS notional, count(*) AS "count",
            CASE WHEN sum(amount) > 0 THEN sum(price * amount) / sum(amount) END AS vwap
        FROM trade
        WHERE {symbol_filter(symbols)}
        GROUP BY 1, 2, 3
        ORDER BY ts, exchange, symbol
    """
    return cast_to(lake_query(reader, (Channel.TRADE,), sql, start_ns, end_ns, exchanges), CANDLE_SCHEMA)


def mid_candles(
    reader: LakeReader,
    start_ns: int,
    end_ns: int,
    interval: str,
    exchanges: Iterable[str] | None = None,
    symbols: Iterable[str] | None = None,
) -> pa.Table:
    """Mid-price candles in [start_ns, end_ns) from tickers; count = tickers; volume, notional, vwap null."""
    seconds = interval_seconds(interval)
    sql = f"""
        WITH quotes AS (
            SELECT exchange, symbol, ts_recv, ts_event, (bid + ask) / 2 AS price
            FROM ticker
            WHERE bid > 0 AND ask > 0 AND {symbol_filter(symbols)}
        )
        SELECT epoch_ns(ts_recv) // {seconds * NS_PER_S} * {seconds * NS_PER_S} AS ts, exchange, symbol,
            '{interval}' AS "interval", 'mid' AS source,
            first(price ORDER BY {_MID_ORDER}) AS open, max(price) AS high, min(price) AS low,
            last(price ORDER BY {_MID_ORDER}) AS close,
            NULL::DOUBLE AS volume, NULL::DOUBLE AS notional, count(*) AS "count", NULL::DOUBLE AS vwap
        FROM quotes
        GROUP BY 1, 2, 3
        ORDER BY ts, exchange, symbol
    """
    return cast_to(lake_query(reader, (Channel.TICKER,), sql, start_ns, end_ns, exchanges), CANDLE_SCHEMA)


def interval_seconds(interval: str) -> int:
    if interval not in INTERVALS:
        raise ValueError(f"interval: {interval!r} is not one of {', '.join(INTERVALS)}")
    return INTERVALS[interval]
