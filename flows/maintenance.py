"""The lake's upkeep as flows: `compact` (hourly by default) and `retention` (daily), each one call into
analyzer/lake with a logged summary. Both are safe to retry: a compaction or deletion that died half way
is finished or undone by the next run."""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, get_run_logger

from analyzer.lake import apply_retention, compact
from shared.settings import load_settings


@flow(name="compact")
def compact_lake(config: str) -> dict[str, Any]:
    """Merge each partition's small closed files and vacuum earlier compactions (lake.compaction keys)."""
    log = get_run_logger()
    settings = load_settings(config)
    started = time.monotonic()
    report = compact(settings.lake)
    seconds = time.monotonic() - started
    log.info("compact: %d partitions, %d files -> %d, %d rows read and rewritten, %d -> %d bytes; "
             "%d vacuumed, %d dead compactions cleaned up, %d temporary files removed; %.2f s",
             report.partitions, report.files_in, report.files_out, report.rows, report.bytes_in, report.bytes_out,
             report.vacuumed, report.abandoned, report.temp_files_removed, seconds)
    if report.errors:
        raise RuntimeError(f"compaction failed for {len(report.errors)} partitions: {'; '.join(report.errors)}")
    return {"partitions": report.partitions, "files_in": report.files_in, "files_out": report.files_out, "rows": report.rows,
            "vacuumed": report.vacuumed, "seconds": round(seconds, 3)}


@flow(name="retention")
def retention(config: str) -> dict[str, Any]:
    """Delete date partitions older than lake.retention_days (nothing when it is not set)."""
    log = get_run_logger()
    settings = load_settings(config)
    started = time.monotonic()
    report = apply_retention(settings.lake)
    seconds = time.monotonic() - started
    if report.cutoff is None:
        log.info("retention: lake.retention_days is not set, nothing deleted; %.2f s", seconds)
    else:
        log.info("retention: %d date partitions before %s deleted, %d compaction records; %.2f s",
                 len(report.deleted), report.cutoff.isoformat(), report.records_deleted, seconds)
    return {"cutoff": report.cutoff.isoformat() if report.cutoff else None,
            "deleted": [f"{channel.value}/{date.isoformat()}" for channel, date in report.deleted],
            "records_deleted": report.records_deleted, "seconds": round(seconds, 3)}
