"""The aligned-quotes method: latest quotes as columns, pieces, validity, staleness, ties, lookback."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from analyzer.align import Measure, align, measured, spread_bps
from analyzer.analysis import Scope

S = 1_000_000_000
T0 = 1_767_225_600 * S  # 2026-01-01T00:00:00Z
STALE = 2 * S


def quotes(rows: Sequence[tuple[int, float, float | None, float | None]]) -> pl.DataFrame:
    """(code, seconds after T0, bid, ask) rows, in any order."""
    return pl.DataFrame(
        {
            "code": [r[0] for r in rows],
            "ts": [T0 + round(r[1] * S) for r in rows],
            "bid": [r[2] for r in rows],
            "ask": [r[3] for r in rows],
        },
        schema={"code": pl.UInt16, "ts": pl.Int64, "bid": pl.Float64, "ask": pl.Float64},
    )


def pair_frame(rows: Sequence[tuple[int, float, float | None, float | None]], start_s: float = 0, end_s: float = 10) -> pl.DataFrame:
    measures = [Measure(("a", "b"), (0, 1), spread_bps(0, 1), 10.0, 10.0)]
    scope = Scope(T0 + round(start_s * S), T0 + round(end_s * S))
    return measured(align(quotes(rows), 2), measures, scope, STALE)


def seconds(frame: pl.DataFrame, column: str) -> list[float]:
    return [(v - T0) / S for v in frame[column]]


def test_each_members_latest_quote_is_carried_forward_beside_the_next_quote_time() -> None:
    aligned = align(quotes([(1, 2, 99.0, 100.0), (0, 0, 10.0, 11.0), (0, 3, 12.0, 13.0), (1, 1, 98.0, 99.0)]), 2)
    assert seconds(aligned, "ts") == [0, 1, 2, 3]
    assert aligned["bid0"].to_list()[1:] == [10.0, 10.0, 12.0]
    assert aligned["ask1"].to_list() == [None, 99.0, 100.0, 100.0]
    assert [None if v is None else (v - T0) / S for v in aligned["at1"]] == [None, 1, 2, 2]
    assert aligned["q0"].to_list() == [True, False, False, True]
    assert [None if v is None else (v - T0) / S for v in aligned["next"]] == [1, 2, 3, None]


def test_a_piece_lasts_until_the_next_quote_and_samples_only_the_pairs_own_changes() -> None:
    # Member 2 (a third venue) quotes at 3 s: the pair's state is split there, but not sampled.
    aligned = align(quotes([(0, 0, 100.0, 101.0), (1, 1, 102.0, 103.0), (2, 3, 1.0, 2.0), (0, 5, 100.5, 101.5)]), 3)
    frame = measured(aligned, [Measure(("a", "b"), (0, 1), spread_bps(0, 1), 10.0, 10.0)], Scope(T0, T0 + 10 * S), 10 * S)
    assert seconds(frame, "t") == [0, 1, 3, 5]
    assert frame["ok0"].to_list() == [False, True, True, True]
    assert seconds(frame, "end0") == [1, 3, 5, 10]
    assert frame["s0"].to_list() == [False, True, False, True]
    assert frame["x0"][1] == (102.0 - 101.0) / 101.0 * 10_000


def test_a_quote_exactly_staleness_old_is_valid_and_one_nanosecond_older_is_not() -> None:
    frame = pair_frame([(0, 0, 100.0, 101.0), (1, 2, 102.0, 103.0), (1, 2.000000001, 102.0, 103.0)])
    # At 2 s member 0's quote is exactly 2 s old: valid, but it expires at once (a piece of no time).
    assert seconds(frame, "t") == [0, 2, 2.000000001]
    assert frame["ok0"].to_list() == [False, True, False]
    assert seconds(frame, "end0")[1] == 2.0


def test_validity_ends_where_the_oldest_quote_goes_stale_within_a_piece() -> None:
    frame = pair_frame([(0, 0, 100.0, 101.0), (1, 1, 102.0, 103.0), (1, 5, 102.0, 103.0)])
    valid = frame.filter(pl.col("ok0"))
    assert seconds(valid, "t") == [1]
    assert seconds(valid, "end0") == [2]  # member 0 quoted at 0 s goes stale at 2 s, before the next quote


def test_crossed_or_one_sided_quotes_make_the_pair_invalid() -> None:
    frame = pair_frame([(0, 0, 100.0, 101.0), (1, 0.5, 102.0, 101.0), (1, 1, None, 103.0), (1, 1.5, 102.0, 103.0)])
    assert frame["ok0"].to_list() == [False, False, False, True]


def test_quotes_at_the_same_time_make_one_state_whatever_order_they_were_read_in() -> None:
    rows = [(0, 0, 100.0, 101.0), (1, 1, 102.0, 104.0), (0, 1, 100.0, 103.0), (1, 1, 101.0, 103.0)]
    for ordering in (rows, rows[::-1], [rows[2], rows[0], rows[3], rows[1]]):
        frame = pair_frame(ordering)
        assert seconds(frame, "t") == [0, 1]
        # The last of member 1's two quotes at 1 s in (ask, bid) order stands: bid 102 (ask 104), not 101.
        assert frame["s0"].to_list() == [False, True]
        assert frame["x0"][1] == (102.0 - 103.0) / 103.0 * 10_000


def test_a_member_that_quoted_at_a_shared_time_samples_its_pairs_whichever_row_came_last() -> None:
    # At 1 s members 0 and 2 quote; the time's one row is member 2's (codes in order), yet the pair
    # (0, 1) changed then and (1, 2) too; nothing of member 1 changed.
    rows = [(0, 0, 100.0, 101.0), (1, 0.5, 102.0, 103.0), (2, 0.5, 99.0, 100.0), (2, 1, 98.0, 99.0), (0, 1, 100.5, 101.5)]
    aligned = align(quotes(rows), 3)
    assert seconds(aligned, "ts") == [0, 0.5, 1]
    assert [aligned[f"q{i}"][2] for i in range(3)] == [True, False, True]
    measures = [Measure(("a", "b"), (0, 1), spread_bps(0, 1), 10.0, 10.0), Measure(("b", "c"), (1, 2), spread_bps(1, 2), 10.0, 10.0)]
    frame = measured(aligned, measures, Scope(T0, T0 + 10 * S), 10 * S)
    assert frame["s0"].to_list() == [False, True, True]
    assert frame["s1"].to_list() == [False, True, True]
    assert frame["x0"][2] == (102.0 - 101.5) / 101.5 * 10_000


def test_the_state_in_force_at_the_scope_start_counts_from_the_start_but_is_no_sample() -> None:
    frame = pair_frame([(0, 0.5, 100.0, 101.0), (1, 0.8, 102.0, 103.0), (0, 2, 100.0, 101.0)], start_s=1, end_s=3)
    assert seconds(frame, "t") == [1, 2]
    assert frame["s0"].to_list() == [False, True]
    assert frame["inside"].to_list() == [False, True]
    assert seconds(frame, "end0") == [2, 2.8]  # member 1's quote from 0.8 s goes stale at 2.8 s
