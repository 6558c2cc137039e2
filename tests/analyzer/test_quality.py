"""Data quality over one minute of a hand-computable lake: message rates, gaps, status counts, latency."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from analyzer.analysis import Scope
from analyzer.quality import QUALITY_SCHEMA, quality
from shared.events import BookTop, Event, Side, Status, StatusKind, Ticker, Trade
from shared.settings import Settings
from shared.settings.analyzer import AnalyzerSettings
from tests.analyzer.conftest import MS, LakeFactory, S, compact_lake
from tests.shared.lake.synthetic import T0

BTC = "BTC-USDT"
ETH = "ETH-USDT"
MINUTE = Scope(T0, T0 + 60 * S)


def ticker(exchange: str, symbol: str, at_ms: int, latency_ms: int | None) -> Ticker:
    ts = T0 + at_ms * MS
    return Ticker(exchange, symbol, None if latency_ms is None else ts - latency_ms * MS, ts, 100.0, 1.0, 101.0, 1.0)


def status(exchange: str, symbol: str | None, at_ms: int, kind: StatusKind) -> Status:
    ts = T0 + at_ms * MS
    return Status(exchange, symbol, ts, ts, kind, "")


EVENTS: list[Event] = [
    ticker("binance", BTC, -1, 1),  # before the scope
    ticker("binance", BTC, 1000, 10),
    ticker("binance", BTC, 2000, 20),
    ticker("binance", BTC, 3000, 30),
    ticker("binance", BTC, 20_000, 40),
    ticker("binance", BTC, 50_000, 100),
    ticker("binance", ETH, 10_000, None),  # no exchange time: no latency
    ticker("binance", ETH, 30_000, 5),
    BookTop("binance", BTC, T0 + 497 * MS, T0 + 500 * MS, ((100.0, 1.0),), ((101.0, 1.0),), 1),
    BookTop("binance", BTC, T0 + 59_497 * MS, T0 + 59_500 * MS, ((100.0, 1.0),), ((101.0, 1.0),), 2),
    Trade("bybit", BTC, T0 + 30_002 * MS, T0 + 30_000 * MS, "1", Side.BUY, 100.0, 1.0),  # the venue's clock 2 ms ahead
    status("binance", None, 0, StatusKind.CONNECTED),  # at the scope's start: in
    status("binance", None, 60_000, StatusKind.DISCONNECTED),  # at its end: out
    status("bybit", None, 5000, StatusKind.DISCONNECTED),
    status("bybit", None, 8000, StatusKind.CONNECTED),
    status("bybit", BTC, 9000, StatusKind.GAP),
    status("bybit", BTC, 9500, StatusKind.RESYNC),
]

NO_STATUS = {"status_connected": None, "status_disconnected": None, "status_gap": None, "status_resync": None}
NO_MARKET = {"gaps": None, "gap_total_s": None, "max_silence_s": None, "latency_count": None, "latency_missing": None,
             "latency_p50_ms": None, "latency_p95_ms": None, "latency_p99_ms": None, "latency_max_ms": None}


def market(exchange: str, channel: str, symbol: str | None, messages: int, gaps: tuple[int, float, float],
           latency: tuple[int, int, float | None, float | None, float | None, float | None]) -> dict[str, Any]:
    count, missing, p50, p95, p99, high = latency
    return {"ts": 0, "exchange": exchange, "channel": channel, "symbol": symbol, "messages": messages, "rate_per_s": messages / 60,
            "gaps": gaps[0], "gap_total_s": gaps[1], "max_silence_s": gaps[2], "latency_count": count, "latency_missing": missing,
            "latency_p50_ms": p50, "latency_p95_ms": pytest.approx(p95, rel=1e-12), "latency_p99_ms": pytest.approx(p99, rel=1e-12),
            "latency_max_ms": high, **NO_STATUS}


def states(exchange: str, symbol: str | None, connected: int, disconnected: int, gap: int, resync: int) -> dict[str, Any]:
    messages = connected + disconnected + gap + resync
    return {"ts": 0, "exchange": exchange, "channel": "status", "symbol": symbol, "messages": messages, "rate_per_s": messages / 60,
            **NO_MARKET, "status_connected": connected, "status_disconnected": disconnected, "status_gap": gap, "status_resync": resync}


# Silences (s) -- binance tickers, BTC: 1 1 1 17 30 10, ETH: 10 20 30, together: 1 1 1 7 10 10 20 10; gaps are those over 5 s.
# Latencies (ms) -- BTC: 10 20 30 40 100; ETH: 5 (and one unknown); p95 of 5 values: 40 + 0.8 * (100 - 40), and so on.
EXPECTED = [
    market("binance", "book", None, 2, (1, 59.0, 59.0), (2, 0, 3.0, 3.0, 3.0, 3.0)),
    market("binance", "book", BTC, 2, (1, 59.0, 59.0), (2, 0, 3.0, 3.0, 3.0, 3.0)),
    states("binance", None, 1, 0, 0, 0),
    market("binance", "ticker", None, 7, (5, 57.0, 20.0), (6, 1, 25.0, 85.0, 97.0, 100.0)),
    market("binance", "ticker", BTC, 5, (3, 57.0, 30.0), (5, 0, 30.0, 88.0, 97.6, 100.0)),
    market("binance", "ticker", ETH, 2, (3, 60.0, 30.0), (1, 1, 5.0, 5.0, 5.0, 5.0)),
    states("bybit", None, 1, 1, 1, 1),
    states("bybit", BTC, 0, 0, 1, 1),
    market("bybit", "trade", None, 1, (2, 60.0, 30.0), (1, 0, -2.0, -2.0, -2.0, -2.0)),
    market("bybit", "trade", BTC, 1, (2, 60.0, 30.0), (1, 0, -2.0, -2.0, -2.0, -2.0)),
]


def rows(table: pa.Table, scope: Scope = MINUTE) -> list[dict[str, Any]]:
    assert table.schema == QUALITY_SCHEMA
    return [{**row, "ts": row["ts"].value - scope.start_ns} for row in table.to_pylist()]


def test_every_series_reports_messages_gaps_latency_and_status_counts(make_lake: LakeFactory, settings: Settings) -> None:
    assert rows(quality(make_lake(EVENTS), MINUTE, settings)) == EXPECTED


def test_a_silence_is_a_gap_only_when_longer_than_the_threshold(make_lake: LakeFactory, settings: Settings) -> None:
    events: list[Event] = [
        Trade("binance", BTC, None, T0 + at, str(at), Side.SELL, 1.0, 1.0) for at in (0, 2 * S, 4 * S + 1)
    ]
    two_seconds = Settings(lake=settings.lake, analyzer=AnalyzerSettings(gap_threshold_s=2.0))
    # Silences: 0 (the scope starts with an event), 2 s (not over 2 s), 2 s + 1 ns (a gap), 2 s - 1 ns to the end.
    got = rows(quality(make_lake(events), Scope(T0, T0 + 6 * S), two_seconds))
    assert [(r["symbol"], r["gaps"], r["gap_total_s"], r["max_silence_s"], r["latency_count"], r["latency_missing"]) for r in got] == [
        (None, 1, 2.000000001, 2.000000001, 0, 3),
        (BTC, 1, 2.000000001, 2.000000001, 0, 3),
    ]
    assert got[0]["latency_p50_ms"] is None and got[0]["latency_max_ms"] is None and got[0]["rate_per_s"] == 0.5


def test_the_exchange_filter_keeps_its_venue_only(make_lake: LakeFactory, settings: Settings) -> None:
    table = quality(make_lake(EVENTS), Scope(MINUTE.start_ns, MINUTE.end_ns, exchanges=("bybit",)), settings)
    assert rows(table) == [row for row in EXPECTED if row["exchange"] == "bybit"]


def test_the_symbol_filter_keeps_its_series_and_venue_wide_status(make_lake: LakeFactory, settings: Settings) -> None:
    table = quality(make_lake(EVENTS), Scope(MINUTE.start_ns, MINUTE.end_ns, symbols=(ETH,)), settings)
    assert rows(table) == [
        states("binance", None, 1, 0, 0, 0),
        market("binance", "ticker", None, 2, (3, 60.0, 30.0), (1, 1, 5.0, 5.0, 5.0, 5.0)),
        market("binance", "ticker", ETH, 2, (3, 60.0, 30.0), (1, 1, 5.0, 5.0, 5.0, 5.0)),
        states("bybit", None, 1, 1, 0, 0),
    ]


def test_a_scope_without_data_gives_an_empty_table_with_the_schema(make_lake: LakeFactory, settings: Settings) -> None:
    table = quality(make_lake(EVENTS), Scope(T0 + 3600 * S, T0 + 7200 * S), settings)
    assert table.num_rows == 0 and table.schema == QUALITY_SCHEMA


def test_a_compacted_lake_gives_the_same_rows(make_lake: LakeFactory, settings: Settings) -> None:
    reader = make_lake(EVENTS)
    before = quality(reader, MINUTE, settings)
    compact_lake(settings)
    assert quality(reader, MINUTE, settings).equals(before)
    assert rows(before) == EXPECTED
