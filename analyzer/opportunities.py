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

from collections.abc import Mapping, Sequence

import polars as pl
import pyarrow as pa

from analyzer.align import ENGINE, Group, Measure, each, to_table, venue_pairs
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
    return runs_of(above_states(frame, {k: threshold}), scope).drop("k")


def above_states(frame: pl.DataFrame, thresholds: Mapping[int, float]) -> pl.DataFrame:
    """The valid pieces of `frame` (align.measured) where measure k is strictly above its threshold
    (`thresholds`: k -> threshold), all measures in one long frame in (k, row) order: k, row (in
    `frame`), t, hour, inside, end, x, sample. States above a threshold are rare (dislocations),
    so one pass over the whole frame keeps the rows where any measure is above, and each measure's
    states are picked from those few rows."""
    above = {k: pl.col(f"ok{k}") & (pl.col(f"x{k}") > threshold) for k, threshold in thresholds.items()}
    kept = (
        frame.lazy()
        .with_row_index("row")
        .with_columns([flag.alias(f"above{k}") for k, flag in above.items()])
        .filter(pl.any_horizontal([pl.col(f"above{k}") for k in above]))
        .collect(engine=ENGINE)  # collected here: left lazy, each measure's pick below rescanned the whole frame
        .lazy()
    )
    states = [
        kept.filter(pl.col(f"above{k}")).select(
            "row",
            "t",
            "hour",
            "inside",
            k=pl.lit(k, pl.Int64),
            end=pl.col(f"end{k}"),
            x=pl.col(f"x{k}"),
            sample=pl.col(f"s{k}"),
        )
        for k in above
    ]
    return pl.concat(states).collect(engine=ENGINE)


def runs_of(states: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """The runs in `states` (`above_states`), as `runs` gives them plus the measure `k`."""
    x, end, t = pl.col("x"), pl.col("end"), pl.col("t")
    # A state continues the run of the state before it when that is the same measure's, on the
    # frame's previous row (so it was above too), and ended exactly where this one starts.
    joins = (pl.col("k").shift(1) == pl.col("k")) & (pl.col("row").shift(1) == pl.col("row") - 1) & (end.shift(1) == t)
    seconds = end - t
    return (
        states.lazy()
        .with_columns(run=(~joins.fill_null(False)).cum_sum())
        .group_by("run", maintain_order=True)
        .agg(
            k=pl.col("k").first(),
            start=t.first(),
            end=end.last(),
            hour=pl.col("hour").first(),
            peak_bps=x.max(),
            weighted=(x * seconds).sum(),
            span=seconds.sum(),
            samples=pl.col("sample").sum().cast(pl.Int64),
            before=~pl.col("inside").first(),
        )
        .select(
            "k",
            "start",
            "end",
            "hour",
            duration_s=(pl.col("end") - pl.col("start")) / NS_PER_S,
            peak_bps="peak_bps",
            mean_bps=pl.when(pl.col("span") > 0).then(pl.col("weighted") / pl.col("span")),
            samples="samples",
            truncated=pl.col("before") | (pl.col("end") >= scope.end_ns),
        )
        .collect(engine=ENGINE)
    )


def labelled(frame: pl.DataFrame, measures: Sequence[Measure], names: tuple[str, ...]) -> pl.DataFrame:
    """`frame`, whose `k` is an index into `measures`, with that measure's labels as columns `names`
    in place of `k`."""
    labels = pl.DataFrame(
        {"k": range(len(measures)), **{name: [m.labels[i] for m in measures] for i, name in enumerate(names)}},
        schema={"k": pl.Int64, **dict.fromkeys(names, pl.String)},
    )
    return frame.join(labels, on="k", how="left", maintain_order="left").drop("k")


def thresholds(measures: Sequence[Measure]) -> dict[int, float]:
    """Every measure's threshold by its index, for `above_states`."""
    return {k: measure.threshold for k, measure in enumerate(measures)}


PAIR_LABELS = ("symbol", "buy_exchange", "sell_exchange", "kind")


def opportunities(reader: LakeReader, scope: Scope, settings: Settings) -> pa.Table:
    """Every run of an executable cross-venue spread above both venues' taker fees (docs/spreads.md)."""

    def listed(group: Group) -> pl.DataFrame:
        if not group.measures:
            return pl.DataFrame()
        return labelled(runs_of(above_states(group.frame, thresholds(group.measures)), scope), group.measures, PAIR_LABELS).rename({"start": "ts"})

    frames = [frame for frame in each(venue_pairs(reader, scope, settings), listed) if frame.height]
    if not frames:
        return OPPORTUNITY_SCHEMA.empty_table()
    return to_table(pl.concat(frames).sort("ts", *PAIR_LABELS), OPPORTUNITY_SCHEMA)
