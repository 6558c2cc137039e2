"""The `analyze` flow: run the analyses over a range of chunks and store each chunk's result.

Scheduled, it covers the chunks that closed since the previous run (the last closed chunk, and more
when `flows.analyze_interval_s` spans several chunks). Given `start`/`end` it re-runs any past range;
results are replaced, so a retry or a second run of the same range is harmless.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from analyzer.analysis import NS_PER_S
from analyzer.runner import RunReport, check_names, last_closed_chunk, run_analysis
from shared.clock import now_ns
from shared.lake import parse_instant
from shared.settings import Settings, load_settings


def scheduled_range(now: int, chunk_s: int, interval_s: int) -> tuple[int, int]:
    """The chunks closed during the last `interval_s` (at least the last closed one)."""
    _, end = last_closed_chunk(now, chunk_s)
    chunks = max(1, -(-interval_s // chunk_s))
    return end - chunks * chunk_s * NS_PER_S, end


def resolve_range(settings: Settings, start: str | None, end: str | None, now: int) -> tuple[int, int]:
    """`start`/`end` (ISO 8601 or integer ns) when given, else the scheduled range."""
    if (start is None) != (end is None):
        raise ValueError("start/end: give both, or neither for the chunks closed since the previous run")
    if start is None or end is None:
        return scheduled_range(now, settings.analyzer.chunk_s, settings.flows.analyze_interval_s)
    try:
        start_ns, end_ns = parse_instant(start), parse_instant(end)
    except ValueError as exc:
        raise ValueError(f"start/end: not an instant: {exc}") from None
    if end_ns <= start_ns:
        raise ValueError(f"start/end: end {end} is not after start {start}")
    return start_ns, end_ns


def _iso(ns: int) -> str:
    seconds, frac = divmod(ns, NS_PER_S)
    text = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{frac:09d}Z".replace(".000000000Z", "Z")


@task(name="run-analysis", cache_policy=NONE)
def analyze_task(settings: Settings, name: str, start_ns: int, end_ns: int) -> RunReport:
    return run_analysis(settings, name, start_ns, end_ns)


@flow(name="analyze", log_prints=False)
def analyze(config: str, start: str | None = None, end: str | None = None, analyses: list[str] | None = None) -> dict[str, Any]:
    """Run `analyses` (default: all) over [start, end), widened to whole chunks (default: the chunks
    closed since the previous scheduled run), storing each chunk's result under summary_stats/."""
    log = get_run_logger()
    settings = load_settings(config)
    names = check_names(analyses or [])
    start_ns, end_ns = resolve_range(settings, start, end, now_ns())
    started = time.monotonic()
    reports: dict[str, RunReport] = {}
    failed: list[str] = []
    for name in names:
        try:
            reports[name] = analyze_task(settings, name, start_ns, end_ns)
        except Exception:  # the other analyses still run; the flow fails (and retries) at the end
            log.exception("analysis %s failed", name)
            failed.append(name)
            continue
        log.info(reports[name].summary())
    seconds = time.monotonic() - started
    rows_read = sum(r.rows_read for r in reports.values())
    rows_written = sum(r.rows_written for r in reports.values())
    chunks = sum(len(r.chunks) for r in reports.values())
    log.info("analyze [%s, %s): %d analyses, %d chunk results written, %d rows read, %d result rows written, %.2f s",
             _iso(start_ns), _iso(end_ns), len(reports), chunks, rows_read, rows_written, seconds)
    if failed:
        raise RuntimeError(f"analyses failed: {', '.join(failed)} (see the log); the others were stored")
    return {
        "start_ns": start_ns,
        "end_ns": end_ns,
        "rows_read": rows_read,
        "rows_written": rows_written,
        "results_written": chunks,
        "seconds": round(seconds, 3),
        "analyses": {name: {"chunks": len(r.chunks), "rows_read": r.rows_read, "rows_written": r.rows_written} for name, r in reports.items()},
    }
