"""The `volatility` analysis: realized volatility of ticker mids, and traded volume and VWAP, per
exchange, symbol and interval of `analyzer.volatility_interval_s`.

Buckets are [ts, ts + interval) on receive time, counted from the scope's start (the runner's chunks
start on multiples of the chunk length, so with an interval dividing the chunk they are aligned to the
epoch); a last bucket the scope's end cuts short is reported short, never shared between two chunks.

Within one bucket of one exchange and symbol, with the mids m_0..m_n of its tickers in receive order
(ts_recv, then ts_event, then mid; mid = (bid + ask) / 2, tickers with a non-positive side skipped):

    realized_vol_bps = 10_000 * sqrt(sum over i = 1..n of ln(m_i / m_{i-1}) ** 2),    returns = n

Returns never span two buckets (so a bucket depends on its own tickers only). The figure is not
annualized or scaled per return: it is the volatility realized over the bucket. It is null when the
bucket has fewer than two mids. From trades: trades, volume = sum of amounts, notional = sum of
price * amount, vwap = notional / volume (null when there is no trade; volume and notional are then 0).
A row exists for every bucket with a ticker or a trade.
"""

from __future__ import annotations

import pyarrow as pa

from analyzer.analysis import NS_PER_S, Scope
from shared.events import Channel
from shared.lake.query import TS_TYPE, cast_to, lake_query, symbol_filter
from shared.lake.reader import LakeReader
from shared.settings import Settings

VOLATILITY_SCHEMA = pa.schema(
    [
        ("ts", TS_TYPE),
        ("exchange", pa.string()),
        ("symbol", pa.string()),
        ("interval_s", pa.int64()),
        ("mids", pa.int64()),
        ("returns", pa.int64()),
        ("realized_vol_bps", pa.float64()),
        ("trades", pa.int64()),
        ("volume", pa.float64()),
        ("notional", pa.float64()),
        ("vwap", pa.float64()),
    ]
)


def volatility(reader: LakeReader, scope: Scope, settings: Settings) -> pa.Table:
    interval_s = settings.analyzer.volatility_interval_s
    step = interval_s * NS_PER_S
    bucket = f"{scope.start_ns} + (epoch_ns(ts_recv) - {scope.start_ns}) // {step} * {step}"
    symbols = symbol_filter(scope.symbols)
    sql = f"""
        WITH quotes AS (
            SELECT exchange, symbol, {bucket} AS ts, ts_recv, ts_event, (bid + ask) / 2 AS mid
            FROM ticker
            WHERE bid > 0 AND ask > 0 AND {symbols}
        ),
        returns AS (
            SELECT exchange, symbol, ts,
                ln(mid / lag(mid) OVER (PARTITION BY exchange, symbol, ts ORDER BY ts_recv, ts_event NULLS LAST, mid)) AS r
            FROM quotes
        ),
        vol AS (
            SELECT exchange, symbol, ts, count(*) AS mids, count(r) AS returns, 10000 * sqrt(sum(r * r)) AS realized_vol_bps
            FROM returns
            GROUP BY 1, 2, 3
        ),
        traded AS (
            SELECT exchange, symbol, {bucket} AS ts, count(*) AS trades, sum(amount) AS volume, sum(price * amount) AS notional
            FROM trade
            WHERE {symbols}
            GROUP BY 1, 2, 3
        )
        SELECT ts, exchange, symbol, {interval_s} AS interval_s,
            coalesce(mids, 0) AS mids, coalesce(returns, 0) AS returns, realized_vol_bps,
            coalesce(trades, 0) AS trades, coalesce(volume, 0) AS volume, coalesce(notional, 0) AS notional,
            CASE WHEN volume > 0 THEN notional / volume END AS vwap
        FROM vol FULL OUTER JOIN traded USING (exchange, symbol, ts)
        ORDER BY ts, exchange, symbol
    """
    table = lake_query(reader, (Channel.TICKER, Channel.TRADE), sql, scope.start_ns, scope.end_ns, scope.exchanges)
    return cast_to(table, VOLATILITY_SCHEMA)
