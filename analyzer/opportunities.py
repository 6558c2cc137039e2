"""Opportunities: maximal continuous runs of a spread (or a triangle's edge) above its threshold.

A run is a sequence of valid aligned pieces (analyzer/align.py), each above the threshold and
each starting exactly where the previous one ended: a state at or under the threshold ends it, and
so does a gap in validity (a quote going stale, a crossed or missing quote). It starts with its
first state and lasts until the state that ends it begins, or until the moment a quote went stale.

The `opportunities` analysis lists every run of every ordered venue pair, one row each:
ts (start), symbol, buy_exchange, sell_exchange, kind ('top' | 'depth'), end, duration_s,
peak_bps (the highest spread in the run), mean_bps (time-weighted over the run; null for a run of
no duration), samples (quote changes of the pair in the run), and `truncated`: true when the run
was cut by the scope (already under way at its start, or still under way at its end).
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from analyzer.align import Group, Measure, each, to_table, venue_pairs
from analyzer.analysis import NS_PER_S, Scope
from shared.lake.reader import LakeReader
from shared.settings import Settings

OPPORTUNITY_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("ns", tz="UTC")),
        ("symbol", pa.string()),
        ("buy_exchange", pa.string()),
        ("sell_exchange", pa.string()),
        ("kind", pa.string()),
        ("end", pa.timestamp("ns", tz="UTC")),
        ("duration_s", pa.float64()),
        ("peak_bps", pa.float64()),
        ("mean_bps", pa.float64()),
        ("samples", pa.int64()),
        ("truncated", pa.bool_()),
    ]
)


def runs(frame: pl.DataFrame, k: int, threshold: float, scope: Scope) -> pl.DataFrame:
    """The runs of measure `k` of `frame` (align.measured) strictly above `threshold`: start, end
    (ns), hour, duration_s, peak_bps, mean_bps, samples, truncated."""
    x, end, t = pl.col(f"x{k}"), pl.col(f"end{k}"), pl.col("t")
    above = pl.col(f"ok{k}") & (x > threshold)
    joins = (above.shift(1, fill_value=False) & (end.shift(1) == t)).fill_null(False)
    seconds = end - t
    return (
        frame.lazy()
        .select(t, end, x, pl.col(f"s{k}"), "hour", "inside", above=above, run=(above & ~joins).cum_sum())
        .filter(pl.col("above"))
        .group_by("run", maintain_order=True)
        .agg(
            start=t.first(),
            end=end.last(),
            hour=pl.col("hour").first(),
            peak_bps=x.max(),
            weighted=(x * seconds).sum(),
            span=seconds.sum(),
            samples=pl.col(f"s{k}").sum().cast(pl.Int64),
            before=~pl.col("inside").first(),
        )
        .select(
            "start",
            "end",
            "hour",
            duration_s=(pl.col("end") - pl.col("start")) / NS_PER_S,
            peak_bps="peak_bps",
            mean_bps=pl.when(pl.col("span") > 0).then(pl.col("weighted") / pl.col("span")),
            samples="samples",
            truncated=pl.col("before") | (pl.col("end") >= scope.end_ns),
        )
        .collect()
    )


def labelled(frame: pl.DataFrame, measure: Measure, names: tuple[str, ...]) -> pl.DataFrame:
    """`frame` with the measure's labels as columns `names`."""
    return frame.with_columns([pl.lit(value, pl.String).alias(name) for name, value in zip(names, measure.labels, strict=True)])


PAIR_LABELS = ("symbol", "buy_exchange", "sell_exchange", "kind")


def opportunities(reader: LakeReader, scope: Scope, settings: Settings) -> pa.Table:
    """Every run of an executable cross-venue spread above both venues' taker fees (docs/spreads.md)."""

    def listed(group: Group) -> list[pl.DataFrame]:
        return [
            labelled(runs(group.frame, k, measure.threshold, scope), measure, PAIR_LABELS).rename({"start": "ts"})
            for k, measure in enumerate(group.measures)
        ]

    frames = [frame for group_frames in each(venue_pairs(reader, scope, settings), listed) for frame in group_frames]
    if not frames:
        return OPPORTUNITY_SCHEMA.empty_table()
    return to_table(pl.concat(frames).sort("ts", *PAIR_LABELS), OPPORTUNITY_SCHEMA)
