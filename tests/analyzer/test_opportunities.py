"""Opportunity runs: where they start and end, what ends them, and the `opportunities` listing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from analyzer.align import Measure, align, measured, spread_bps
from analyzer.analysis import Scope
from analyzer.opportunities import OPPORTUNITY_SCHEMA, opportunities, runs
from shared.events import Event, Ticker
from shared.lake.reader import LakeReader
from shared.lake.storage import open_lake
from shared.settings import Settings
from shared.settings.analyzer import AnalyzerSettings
from shared.settings.lake import LakeSettings
from tests.shared.lake.synthetic import write

S = 1_000_000_000
T0 = 1_767_225_600 * S  # 2026-01-01T00:00:00Z


def close(value: float) -> Any:
    return pytest.approx(value, rel=1e-12, abs=1e-12)


def pair_runs(
    rows: list[tuple[int, float, float, float]], threshold: float = 15.0, stale_s: float = 10, end_s: float = 10
) -> list[dict[str, Any]]:
    """Runs of buying member 0 and selling member 1, from (code, seconds, bid, ask) quotes."""
    quotes = pl.DataFrame(
        {"code": [r[0] for r in rows], "ts": [T0 + round(r[1] * S) for r in rows], "bid": [r[2] for r in rows], "ask": [r[3] for r in rows]},
        schema={"code": pl.UInt16, "ts": pl.Int64, "bid": pl.Float64, "ask": pl.Float64},
    )
    scope = Scope(T0, T0 + round(end_s * S))
    frame = measured(align(quotes, 2), [Measure(("a", "b"), (0, 1), spread_bps(0, 1), threshold, threshold)], scope, round(stale_s * S))
    found = runs(frame, 0, threshold, scope)
    return found.with_columns(start=(pl.col("start") - T0) / S, end=(pl.col("end") - T0) / S).drop("hour").to_dicts()


def test_a_run_lasts_from_its_first_state_above_the_threshold_to_the_state_that_ends_it() -> None:
    got = pair_runs([(0, 0, 99.9, 100.0), (1, 1, 100.1, 100.2), (1, 2, 100.3, 100.4), (1, 4, 100.2, 100.3), (1, 5, 100.1, 100.2)])
    assert len(got) == 1
    assert (got[0]["start"], got[0]["end"], got[0]["duration_s"], got[0]["samples"]) == (2, 5, 3.0, 2)
    assert got[0]["peak_bps"] == close(30.0)
    assert got[0]["mean_bps"] == close((30 * 2 + 20 * 1) / 3)  # time-weighted
    assert got[0]["truncated"] is False


def test_another_venues_quote_does_not_split_a_run() -> None:
    # Member 0 re-quotes the same prices at 3 s: one run of two samples... and 3 pieces.
    got = pair_runs([(0, 0, 99.9, 100.0), (1, 2, 100.3, 100.4), (0, 3, 99.9, 100.0), (1, 4, 100.1, 100.2)])
    assert [(r["start"], r["end"], r["samples"]) for r in got] == [(2, 4, 2)]


def test_a_stale_quote_ends_a_run_and_the_next_valid_state_starts_another() -> None:
    got = pair_runs([(0, 0, 99.9, 100.0), (1, 1, 100.3, 100.4), (0, 4, 99.9, 100.0), (1, 4.5, 100.3, 100.4)], stale_s=2)
    # a's quote from 0 s expires at 2 s; at 4 s b's quote from 1 s is 3 s old; both fresh again at 4.5 s.
    assert [(r["start"], r["end"], r["duration_s"]) for r in got] == [(1, 2, 1.0), (4.5, 6, 1.5)]


def test_a_run_still_going_at_the_scope_end_is_marked_truncated() -> None:
    got = pair_runs([(0, 0, 99.9, 100.0), (1, 1, 100.3, 100.4)], end_s=3)
    assert [(r["start"], r["end"], r["truncated"]) for r in got] == [(1, 3, True)]


def test_the_threshold_is_strict() -> None:
    assert pair_runs([(0, 0, 63.9, 64.0), (1, 1, 64.0625, 64.1)], threshold=9.765625) == []
    assert len(pair_runs([(0, 0, 63.9, 64.0), (1, 1, 64.0625, 64.1)], threshold=9.765624)) == 1


def tick(venue: str, at_s: float, bid: float, ask: float) -> Ticker:
    ts = T0 + round(at_s * S)
    return Ticker(venue, "BTC-USDT", ts, ts, bid, 1.0, ask, 1.0)


def test_the_opportunities_analysis_lists_each_run_with_its_venue_pair(tmp_path: Path) -> None:
    lake = LakeSettings(root=str(tmp_path / "lake"), fsync=False)
    events: list[Event] = [
        tick("a", 0, 99.9, 100.0),
        tick("b", 1, 100.3, 100.4),  # a->b 30 bps, over 15 bps of fees
        tick("b", 2, 100.0, 100.1),
        tick("b", 3, 99.5, 99.6),  # b->a: (99.9 - 99.6) / 99.6 = 30.1 bps
        tick("b", 4, 100.0, 100.1),
    ]
    write(open_lake(lake), lake, events, 1)
    settings = Settings(lake=lake, analyzer=AnalyzerSettings(taker_fee_bps={"a": 5.0, "b": 10.0}, staleness_ms=10_000))
    table = opportunities(LakeReader(lake), Scope(T0, T0 + 10 * S), settings)
    assert table.schema == OPPORTUNITY_SCHEMA
    got = [
        (r["buy_exchange"], r["sell_exchange"], r["kind"], r["ts"].timestamp() - T0 / S, r["duration_s"], r["truncated"])
        for r in table.to_pylist()
    ]
    assert got == [("a", "b", "top", 1.0, 1.0, False), ("b", "a", "top", 3.0, 1.0, False)]
    assert table.to_pylist()[1]["peak_bps"] == close((99.9 - 99.6) / 99.6 * 10_000)
