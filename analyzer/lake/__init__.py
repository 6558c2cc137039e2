"""The analyzer's side of the Parquet lake: the consistent reader (`lake_view` for DuckDB), compaction, retention and stats."""

from analyzer.lake.compaction import CompactionReport, compact
from analyzer.lake.retention import RetentionReport, apply_retention
from analyzer.lake.stats import PartitionStats, lake_stats
from shared.lake.reader import LakeReader, lake_view, time_filter, ts_literal

__all__ = [
    "CompactionReport",
    "LakeReader",
    "PartitionStats",
    "RetentionReport",
    "apply_retention",
    "compact",
    "lake_stats",
    "lake_view",
    "time_filter",
    "ts_literal",
]
