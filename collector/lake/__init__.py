"""The collector's side of the Parquet lake: the writer component and replay of the lake (see docs/lake.md)."""

from collector.lake.component import LakeStats, LakeWriterComponent, lake_component
from collector.lake.replay import ReplayReport, parse_instant, replay_lake

__all__ = ["LakeStats", "LakeWriterComponent", "ReplayReport", "lake_component", "parse_instant", "replay_lake"]
