"""The `quality` analysis: how complete and how timely the collected data is, over one scope.

One row per (exchange, channel, symbol) with data, plus one venue row per (exchange, channel) with a
null symbol that covers all of the venue's (selected) symbols. `ts` is the scope's start. Columns that
do not apply to a row are null (see docs/analyses.md for the full table):

- every row: `messages` (events in the scope) and `rate_per_s` (messages / scope seconds);
- ticker, trade and book rows: gaps and latency.
  A *silence* is the time between consecutive events of the row's series (one symbol, or the whole venue
  for the venue row), and also from the scope's start to the first event and from the last event to the
  scope's end, so a feed that stops mid-chunk shows its gap. A silence longer than
  `analyzer.gap_threshold_s` is a gap: `gaps` counts them, `gap_total_s` adds up their full lengths,
  `max_silence_s` is the longest silence (the longest gap when `gaps` > 0). A silence across a chunk
  boundary counts in each chunk with the part it holds. A series with no event in the scope has no row.
  Latency is ts_recv - ts_event in ms (negative if the venue's clock runs ahead of ours): p50/p95/p99
  (linear interpolation between closest ranks, numpy's default) and max over `latency_count` events;
  events without ts_event are left out and counted in `latency_missing`.
- status rows: `status_connected`, `status_disconnected`, `status_gap`, `status_resync` (event counts by
  kind). The venue row counts every status event of the exchange (venue-wide ones, with a null symbol,
  and per-symbol ones); symbol rows count that symbol's. With a symbol filter, venue-wide status
  events still count (they concern every symbol).
"""

from __future__ import annotations

import pyarrow as pa

from analyzer.analysis import NS_PER_S, Scope
from shared.events import MARKET_CHANNELS, Channel
from shared.lake.query import TS_TYPE, cast_to, lake_query, symbol_filter
from shared.lake.reader import LakeReader
from shared.settings import Settings

QUALITY_SCHEMA = pa.schema(
    [
        ("ts", TS_TYPE),
        ("exchange", pa.string()),
        ("channel", pa.string()),
        ("symbol", pa.string()),
        ("messages", pa.int64()),
        ("rate_per_s", pa.float64()),
        ("gaps", pa.int64()),
        ("gap_total_s", pa.float64()),
        ("max_silence_s", pa.float64()),
        ("latency_count", pa.int64()),
        ("latency_missing", pa.int64()),
        ("latency_p50_ms", pa.float64()),
        ("latency_p95_ms", pa.float64()),
        ("latency_p99_ms", pa.float64()),
        ("latency_max_ms", pa.float64()),
        ("status_connected", pa.int64()),
        ("status_disconnected", pa.int64()),
        ("status_gap", pa.int64()),
        ("status_resync", pa.int64()),
    ]
)

_STATUS_KINDS = ("connected", "disconnected", "gap", "resync")


def quality(reader: LakeReader, scope: Scope, settings: Settings) -> pa.Table:
    seconds = (scope.end_ns - scope.start_ns) / NS_PER_S
    threshold = round(settings.analyzer.gap_threshold_s * NS_PER_S)
    # One query per channel, so that only one channel's events (with their silences) are held at a time.
    queries = [(channel, _market(channel, scope, seconds, threshold)) for channel in MARKET_CHANNELS]
    queries.append((Channel.STATUS, _status(scope, seconds)))
    parts = [lake_query(reader, (channel,), sql, scope.start_ns, scope.end_ns, scope.exchanges) for channel, sql in queries]
    table = cast_to(pa.concat_tables(parts), QUALITY_SCHEMA)
    return table.sort_by([("exchange", "ascending"), ("channel", "ascending"), ("symbol", "ascending", "at_start")])


def _market(channel: Channel, scope: Scope, seconds: float, threshold: int) -> str:
    """Symbol and venue rows of one market channel. Each event carries its silence since the previous event
    of its symbol and of its venue (the scope's start for the first); the closing silence, to the scope's
    end, comes from the series' last event."""
    end = scope.end_ns
    series = f"""
        SELECT exchange, symbol, t, (t - epoch_ns(ts_event)) / 1e6 AS latency_ms,
            t - lag(t, 1, {scope.start_ns}) OVER (PARTITION BY exchange, symbol ORDER BY t) AS symbol_silence,
            t - lag(t, 1, {scope.start_ns}) OVER (PARTITION BY exchange ORDER BY t) AS venue_silence
        FROM (SELECT exchange, symbol, epoch_ns(ts_recv) AS t, ts_event FROM {channel.value} WHERE {symbol_filter(scope.symbols)})
    """

    def rows(symbol: str, silence: str, group: str) -> str:
        return f"""
            SELECT exchange, {symbol} AS symbol, count(*) AS messages,
                count(*) FILTER ({silence} > {threshold}) + ({end} - max(t) > {threshold})::BIGINT AS gaps,
                (coalesce(sum({silence}) FILTER ({silence} > {threshold}), 0)
                    + CASE WHEN {end} - max(t) > {threshold} THEN {end} - max(t) ELSE 0 END) / {NS_PER_S} AS gap_total_s,
                greatest(max({silence}), {end} - max(t)) / {NS_PER_S} AS max_silence_s,
                count(latency_ms) AS latency_count, count(*) - count(latency_ms) AS latency_missing,
                quantile_cont(latency_ms, [0.5, 0.95, 0.99]) AS q, max(latency_ms) AS latency_max_ms
            FROM series
            GROUP BY {group}
        """

    no_status = ", ".join(f"NULL::BIGINT AS status_{kind}" for kind in _STATUS_KINDS)
    return f"""
        WITH series AS MATERIALIZED ({series})
        SELECT {scope.start_ns} AS ts, exchange, '{channel.value}' AS channel, symbol,
            messages, messages / {seconds}::DOUBLE AS rate_per_s, gaps, gap_total_s, max_silence_s, latency_count, latency_missing,
            q[1] AS latency_p50_ms, q[2] AS latency_p95_ms, q[3] AS latency_p99_ms, latency_max_ms, {no_status}
        FROM ({rows('symbol', 'symbol_silence', 'exchange, symbol')} UNION ALL {rows('NULL::VARCHAR', 'venue_silence', 'exchange')})
    """


def _status(scope: Scope, seconds: float) -> str:
    counts = ", ".join(f"count(*) FILTER (kind = '{kind}') AS status_{kind}" for kind in _STATUS_KINDS)

    def rows(symbol: str, where: str, group: str) -> str:
        return f"""
            SELECT {scope.start_ns} AS ts, exchange, 'status' AS channel, {symbol} AS symbol,
                count(*) AS messages, count(*) / {seconds}::DOUBLE AS rate_per_s,
                NULL::BIGINT AS gaps, NULL::DOUBLE AS gap_total_s, NULL::DOUBLE AS max_silence_s,
                NULL::BIGINT AS latency_count, NULL::BIGINT AS latency_missing,
                NULL::DOUBLE AS latency_p50_ms, NULL::DOUBLE AS latency_p95_ms,
                NULL::DOUBLE AS latency_p99_ms, NULL::DOUBLE AS latency_max_ms,
                {counts}
            FROM status
            WHERE {where}
            GROUP BY {group}
        """

    wanted = f"(symbol IS NULL OR {symbol_filter(scope.symbols)})"
    return f"{rows('symbol', f'symbol IS NOT NULL AND {wanted}', 'exchange, symbol')} UNION ALL {rows('NULL::VARCHAR', wanted, 'exchange')}"
