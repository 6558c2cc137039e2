"""Cross-exchange spreads: how far one venue's bid sits above another's ask, per symbol, ordered
venue pair and UTC hour (docs/spreads.md).

Buying on venue A and selling on B, the executable spread is (bid_B - ask_A) / ask_A * 1e4 bps:
from the ticker channel's top of book (`kind` 'top'), and from the book channel's VWAPs of walking
A's asks and B's bids for `analyzer.depth_size[symbol]` base units (`kind` 'depth'; symbols
without a size are left out, a book too thin for the size gives no valid state). Quotes are aligned
as in analyzer/align.py: a pair is valid while both latest quotes are present, not crossed and no
older than `analyzer.staleness_ms`.

One row per ts (hour), symbol, buy_exchange, sell_exchange, kind with any valid state:
- samples: valid states that started in the scope; mean_bps, p50_bps, p95_bps (linear
  interpolation), max_bps are over them, one value per state (not time-weighted);
- fee_bps: taker_fee_bps(A) + taker_fee_bps(B), the opportunity threshold;
- share_above_fees: time-weighted: the seconds the spread was strictly above fee_bps over the
  seconds the pair was valid (`valid_s`); each state lasts until the next quote change of either
  venue, or until a quote goes stale;
- opportunities: runs above the threshold starting in the hour (analyzer/opportunities.py), and
  the p50/p95/max of their durations in seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl
import pyarrow as pa

from analyzer.align import NS_PER_HOUR, Group, Measure, each, to_table, venue_pairs
from analyzer.analysis import NS_PER_S, Scope
from analyzer.opportunities import PAIR_LABELS, above_states, labelled, runs_of, thresholds
from shared.lake.reader import LakeReader
from shared.settings import Settings

TS = pa.timestamp("ns", tz="UTC")
STATISTICS = [
    ("samples", pa.int64()),
    ("mean_bps", pa.float64()),
    ("p50_bps", pa.float64()),
    ("p95_bps", pa.float64()),
    ("max_bps", pa.float64()),
    ("fee_bps", pa.float64()),
    ("share_above_fees", pa.float64()),
    ("opportunities", pa.int64()),
    ("opportunity_p50_s", pa.float64()),
    ("opportunity_p95_s", pa.float64()),
    ("opportunity_max_s", pa.float64()),
    ("valid_s", pa.float64()),
]
SPREAD_SCHEMA = pa.schema(
    [
        ("ts", TS),
        ("symbol", pa.string()),
        ("buy_exchange", pa.string()),
        ("sell_exchange", pa.string()),
        ("kind", pa.string()),
        *STATISTICS,
    ]
)


def statistics(frame: pl.DataFrame, measures: Sequence[Measure], scope: Scope, names: tuple[str, ...]) -> pl.DataFrame:
    """Per hour and measure of `frame` (align.measured) with any valid piece: `ts` (the hour, ns),
    the measure's labels as `names`, and the STATISTICS columns."""
    if not measures or not frame.height:
        return pl.DataFrame()
    states = above_states(frame, thresholds(measures))
    # The time above the threshold is summed over those few states, not in a pass over the frame.
    above = states.group_by("k", "hour").agg(above=((pl.col("end") - pl.col("t")) / NS_PER_S).sum())
    durations = pl.col("duration_s")
    per_run = (
        runs_of(states, scope)
        .group_by("k", "hour")
        .agg(
            opportunities=pl.len().cast(pl.Int64),
            opportunity_p50_s=durations.quantile(0.5, interpolation="linear"),
            opportunity_p95_s=durations.quantile(0.95, interpolation="linear"),
            opportunity_max_s=durations.max(),
        )
    )
    rows = (
        _per_hour(frame, measures)
        .filter("any")
        .join(above, on=["k", "hour"], how="left")
        .join(per_run, on=["k", "hour"], how="left")
        .select(
            "k",
            ts="hour",
            samples="samples",
            mean_bps="mean",
            p50_bps="p50",
            p95_bps="p95",
            max_bps="max",
            fee_bps="fee_bps",
            share_above_fees=pl.when(pl.col("valid") > 0).then(pl.col("above").fill_null(0.0) / pl.col("valid")),
            opportunities=pl.col("opportunities").fill_null(0),
            opportunity_p50_s="opportunity_p50_s",
            opportunity_p95_s="opportunity_p95_s",
            opportunity_max_s="opportunity_max_s",
            valid_s="valid",
        )
    )
    return labelled(rows, measures, names)


def _per_hour(frame: pl.DataFrame, measures: Sequence[Measure]) -> pl.DataFrame:
    """The aggregates over all pieces of every measure per hour of `frame`, one row per measure
    (`k`) and hour: any (valid piece), samples, their mean, p50, p95 and max, valid (seconds).
    Validity and samples depend only on a measure's members, so measures with the same members (both
    directions of a pair) share them, and their samples are filtered out together, once."""
    sharing: dict[tuple[int, ...], list[int]] = {}  # members -> the measures with them
    for k, measure in enumerate(measures):
        sharing.setdefault(measure.members, []).append(k)
    # The frame is in time order, so each hour is a slice, found by a binary search on the pieces' starts;
    # selects over a slice run their aggregates on the fast path (a group_by with filters inside is several
    # times slower).
    starts = frame.get_column("t")
    first_hour, last_hour = (int(starts[i]) - int(starts[i]) % NS_PER_HOUR for i in (0, -1))
    hours = range(first_hour, last_hour + NS_PER_HOUR, NS_PER_HOUR)
    offsets = starts.search_sorted(pl.Series([*hours, last_hour + NS_PER_HOUR], dtype=pl.Int64), side="left").to_list()
    per_hour_parts = [
        _aggregated(frame.slice(offset, end - offset), sharing).with_columns(hour=pl.lit(hour, pl.Int64))
        for hour, offset, end in zip(hours, offsets[:-1], offsets[1:], strict=True)
        if end > offset
    ]
    per_hour = pl.concat(per_hour_parts)
    first = {k: ks[0] for ks in sharing.values() for k in ks}
    return pl.concat(
        [
            per_hour.select(
                "hour",
                k=pl.lit(k, pl.Int64),
                fee_bps=pl.lit(measure.fee_bps, pl.Float64),
                **{name: f"{name}{k}" for name in ("mean", "p50", "p95", "max")},
                **{name: f"{name}{first[k]}" for name in ("any", "samples", "valid")},
            )
            for k, measure in enumerate(measures)
        ]
    )


def _aggregated(piece: pl.DataFrame, sharing: dict[tuple[int, ...], list[int]]) -> pl.DataFrame:
    """One row of `_per_hour`'s aggregates over `piece`: mean{k}, p50{k}, p95{k}, max{k} for every
    measure, any{k}, samples{k}, valid{k} for the first measure of each set of members. Filtering a
    set's samples once and aggregating the plain columns took a quarter less time than a filter
    inside each of the four aggregates of each measure (docs/benchmarks.md, "Analyzer")."""
    shared: list[pl.Expr] = []
    parts: list[pl.DataFrame] = []
    for ks in sharing.values():
        k0 = ks[0]
        # Summed in integer ns and then divided: one pass over the pieces fewer than seconds per piece.
        nanoseconds = (pl.col(f"end{k0}") - pl.col("t")).filter(pl.col(f"ok{k0}")).sum()
        shared += [
            pl.col(f"ok{k0}").any().alias(f"any{k0}"),
            pl.col(f"s{k0}").sum().cast(pl.Int64).alias(f"samples{k0}"),
            (nanoseconds / NS_PER_S).alias(f"valid{k0}"),
        ]
        samples = piece.select(*[f"x{k}" for k in ks], f"s{k0}").filter(pl.col(f"s{k0}"))
        parts.append(
            samples.select(
                expression
                for k in ks
                for expression in (
                    pl.col(f"x{k}").mean().alias(f"mean{k}"),
                    pl.col(f"x{k}").quantile(0.5, interpolation="linear").alias(f"p50{k}"),
                    pl.col(f"x{k}").quantile(0.95, interpolation="linear").alias(f"p95{k}"),
                    pl.col(f"x{k}").max().alias(f"max{k}"),
                )
            )
        )
    return pl.concat([piece.select(shared), *parts], how="horizontal")


def summarized(jobs: Sequence[Callable[[], Group]], scope: Scope, labels: tuple[str, ...], schema: pa.Schema) -> pa.Table:
    """The statistics of every job's group as one table in `schema`, ordered by ts and `labels`."""
    frames = [f for f in each(jobs, lambda group: statistics(group.frame, group.measures, scope, labels)) if f.height]
    if not frames:
        return schema.empty_table()
    return to_table(pl.concat(frames).sort("ts", *labels), schema)


def spreads(reader: LakeReader, scope: Scope, settings: Settings) -> pa.Table:
    """Executable cross-venue spread statistics per hour, symbol, ordered venue pair and kind."""
    return summarized(venue_pairs(reader, scope, settings), scope, PAIR_LABELS, SPREAD_SCHEMA)
