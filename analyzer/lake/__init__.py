"""The analyzer's side of the Parquet lake: the consistent reader, compaction and retention."""

from analyzer.lake.compaction import CompactionReport, compact
from analyzer.lake.reader import LakeReader, time_filter, ts_literal
from analyzer.lake.retention import RetentionReport, apply_retention

__all__ = ["CompactionReport", "LakeReader", "RetentionReport", "apply_retention", "compact", "time_filter", "ts_literal"]
