"""The `candles` analysis: trade and mid-price OHLCV candles (shared/candles.py) for a chunk, at every
interval that tiles it, so that each stored candle is complete and belongs to exactly one chunk."""

from __future__ import annotations

import pyarrow as pa

from analyzer.analysis import NS_PER_S, Scope
from shared.candles import CANDLE_SCHEMA, INTERVALS, mid_candles, trade_candles
from shared.lake.reader import LakeReader
from shared.settings import Settings

_ORDER = [("ts", "ascending"), ("exchange", "ascending"), ("symbol", "ascending"), ("source", "descending"), ("interval", "ascending")]


def fitting_intervals(scope: Scope) -> list[str]:
    """Intervals no longer than the scope that divide it and its start (a chunk of the runner: 1 s, 1 m and,
    with the default 1 h chunk, 1 h); a candle cut by the scope's edge would be stored as two partial rows."""
    length = scope.end_ns - scope.start_ns
    names = []
    for name, seconds in INTERVALS.items():
        step = seconds * NS_PER_S
        if step <= length and length % step == 0 and scope.start_ns % step == 0:
            names.append(name)
    return names


def candles(reader: LakeReader, scope: Scope, settings: Settings) -> pa.Table:
    """Rows as `shared.candles.CANDLE_SCHEMA`: both sources ("trade", "mid") at every fitting interval,
    ordered by ts, exchange, symbol, source (trade first) and interval."""
    parts = [
        make(reader, scope.start_ns, scope.end_ns, interval, scope.exchanges, scope.symbols)
        for interval in fitting_intervals(scope)
        for make in (trade_candles, mid_candles)
    ]
    if not parts:
        return CANDLE_SCHEMA.empty_table()
    return pa.concat_tables(parts).sort_by(_ORDER)
