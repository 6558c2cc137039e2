"""Analysis results ("summaries"): Parquet files under `<lake root>/summary_stats/<analysis>/`, one per chunk
of time, each named by a small manifest that is replaced atomically. See docs/analyzer.md."""

from shared.summary.names import ANALYSES
from shared.summary.store import NoResult, SummaryManifest, SummaryStore

__all__ = ["ANALYSES", "NoResult", "SummaryManifest", "SummaryStore"]
