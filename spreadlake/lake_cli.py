"""`spreadlake lake ...`: look after the Parquet lake by hand (stats, compaction, retention).

Nothing schedules compaction or retention yet: these commands are how to run them. Each wraps one
analyzer function (analyzer/lake/) and prints a summary of what it did.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer

from analyzer.lake import apply_retention, compact, lake_stats
from analyzer.lake.compaction import CompactionReport
from analyzer.lake.retention import RetentionReport
from analyzer.lake.stats import PartitionStats
from shared.events import Channel
from spreadlake.settings_file import ConfigOption, load_or_exit

lake_app = typer.Typer(help="Look after the Parquet lake: stats, compaction, retention (docs/lake.md).", no_args_is_help=True)

ChannelOption = typer.Option([], "--channel", help="ticker, trade, book or status; repeatable (default: all).")


def _channels(names: list[str]) -> tuple[Channel, ...]:
    try:
        return tuple(Channel(name) for name in names) or tuple(Channel)
    except ValueError:
        bad = next(name for name in names if name not in set(Channel))
        raise typer.BadParameter(f"unknown channel {bad!r} (choose from ticker, trade, book, status)", param_hint="--channel") from None


def instant(ns: int) -> str:
    """ISO 8601 UTC, to the nanosecond."""
    seconds, frac = divmod(ns, 1_000_000_000)
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def stats_table(entries: list[PartitionStats]) -> str:
    header = ("channel", "date", "exchange", "files", "rows", "bytes", "first ts_recv", "last ts_recv")
    rows = [(e.channel.value, e.date.isoformat(), e.exchange, str(e.files), str(e.rows), str(e.bytes), instant(e.first_ts), instant(e.last_ts))
            for e in entries]
    total = ("total", "", "", str(sum(e.files for e in entries)), str(sum(e.rows for e in entries)), str(sum(e.bytes for e in entries)),
             instant(min(e.first_ts for e in entries)) if entries else "", instant(max(e.last_ts for e in entries)) if entries else "")
    lines = [header, *rows, total]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    numeric = {3, 4, 5}

    def row(line: tuple[str, ...]) -> str:
        return "  ".join(cell.rjust(w) if i in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths, strict=True))).rstrip()

    return "\n".join(map(row, lines))


def stats_json(entry: PartitionStats) -> str:
    return json.dumps({"channel": entry.channel.value, "date": entry.date.isoformat(), "exchange": entry.exchange, "files": entry.files,
                       "rows": entry.rows, "bytes": entry.bytes, "first_ts": entry.first_ts, "last_ts": entry.last_ts})


def compaction_summary(report: CompactionReport) -> str:
    lines = [f"compacted {report.partitions} partitions: {report.files_in} files -> {report.files_out}, {report.rows} rows, "
             f"{report.bytes_in} -> {report.bytes_out} bytes",
             f"cleaned up {report.abandoned} dead compactions, vacuumed {report.vacuumed} (replaced files deleted after grace_s), "
             f"removed {report.temp_files_removed} stale temporary files"]
    lines += [f"error: {error}" for error in report.errors]
    return "\n".join(lines)


def retention_summary(report: RetentionReport, days: int) -> str:
    assert report.cutoff is not None
    head = f"retention: {days} days, deleting dates before {report.cutoff.isoformat()}"
    if not report.deleted:
        return f"{head}: nothing to delete"
    deleted = ", ".join(f"{channel.value} {date.isoformat()}" for channel, date in report.deleted)
    return f"{head}: deleted {len(report.deleted)} date partitions ({deleted}) and {report.records_deleted} compaction records"


@lake_app.command()
def stats(
    config: Path = ConfigOption,
    channel: list[str] = ChannelOption,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per partition instead of a table."),
) -> None:
    """Files, rows, bytes and receive-time range per channel, date and exchange (from Parquet footers)."""
    entries = lake_stats(load_or_exit(config).lake, _channels(channel))
    if as_json:
        for entry in entries:
            typer.echo(stats_json(entry))
    else:
        typer.echo(stats_table(entries))


@lake_app.command("compact")
def compact_command(config: Path = ConfigOption, channel: list[str] = ChannelOption) -> None:
    """Merge each partition's small closed files (lake.compaction keys); vacuum earlier compactions."""
    report = compact(load_or_exit(config).lake, channels=_channels(channel))
    typer.echo(compaction_summary(report))
    raise typer.Exit(1 if report.errors else 0)


@lake_app.command()
def retention(
    config: Path = ConfigOption,
    older_than: int | None = typer.Option(None, "--older-than", min=1, metavar="DAYS",
                                          help="Delete dates more than DAYS days before today, UTC (default: lake.retention_days)."),
    channel: list[str] = ChannelOption,
) -> None:
    """Delete whole date partitions older than DAYS, and their compaction records."""
    settings = load_or_exit(config).lake
    days = older_than if older_than is not None else settings.retention_days
    if days is None:
        raise typer.BadParameter("give --older-than DAYS (lake.retention_days is not set)", param_hint="--older-than")
    report = apply_retention(settings, channels=_channels(channel), retention_days=days)
    typer.echo(retention_summary(report, days))
