"""What the lake holds, per channel, date and exchange: files, rows, bytes and the receive-time range.

Read from the Parquet footers of the committed files (the consistent snapshot, so a compaction in
progress counts each row once), never by scanning data: rows from the footer, the time range from
the `ts_recv` column's row-group statistics (the file name's range where a writer left none),
bytes from the listing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import pyarrow.parquet as pq

from shared.events import Channel
from shared.lake.manifest import DataFile, snapshot
from shared.lake.reader import retrying
from shared.lake.storage import Lake, open_lake
from shared.settings.lake import LakeSettings

_FOOTER_THREADS = 8  # footers are small reads; on an object store each is a round trip


@dataclass(frozen=True)
class PartitionStats:
    channel: Channel
    date: dt.date
    exchange: str
    files: int
    rows: int
    bytes: int
    first_ts: int  # smallest ts_recv, ns
    last_ts: int  # largest ts_recv, ns


@dataclass(frozen=True)
class _Footer:
    rows: int
    first_ts: int
    last_ts: int


def _footer(lake: Lake, f: DataFile) -> _Footer:
    metadata = pq.read_metadata(lake.path(f.rel_path), filesystem=lake.fs)
    column = metadata.schema.names.index("ts_recv")
    lows, highs = [], []
    for i in range(metadata.num_row_groups):
        stats = metadata.row_group(i).column(column).statistics
        if stats is None or not stats.has_min_max:
            lows, highs = [f.name.min_ts], [f.name.max_ts]
            break
        lows.append(int(stats.min_raw))
        highs.append(int(stats.max_raw))
    return _Footer(metadata.num_rows, min(lows, default=f.name.min_ts), max(highs, default=f.name.max_ts))


def _channel_stats(lake: Lake, channel: Channel, pool: ThreadPoolExecutor) -> list[PartitionStats]:
    files = snapshot(lake, channel)
    footers = list(pool.map(lambda f: _footer(lake, f), files))
    groups: dict[tuple[dt.date, str], list[tuple[DataFile, _Footer]]] = {}
    for f, footer in zip(files, footers, strict=True):
        groups.setdefault((f.partition.date, f.partition.exchange), []).append((f, footer))
    return [
        PartitionStats(
            channel=channel,
            date=date,
            exchange=exchange,
            files=len(members),
            rows=sum(footer.rows for _, footer in members),
            bytes=sum(f.size for f, _ in members),
            first_ts=min(footer.first_ts for _, footer in members),
            last_ts=max(footer.last_ts for _, footer in members),
        )
        for (date, exchange), members in sorted(groups.items())
    ]


def lake_stats(settings: LakeSettings, channels: Sequence[Channel] = tuple(Channel), lake: Lake | None = None) -> list[PartitionStats]:
    """One entry per partition that holds files, by channel, then date, then exchange."""
    lake = lake or open_lake(settings)
    entries: list[PartitionStats] = []
    with ThreadPoolExecutor(_FOOTER_THREADS, thread_name_prefix="lake-stats") as pool:
        for channel in channels:
            # A file vacuumed or expired after the listing: start that channel over from a new snapshot.
            entries += retrying(partial(_channel_stats, lake, channel, pool))
    return entries
