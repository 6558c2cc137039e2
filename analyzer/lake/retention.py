"""Retention: delete whole date partitions older than `retention_days`, and their compaction records.

A date is kept while it is at most `retention_days` days before today (UTC), so with 7 a run on
the 10th deletes the 2nd and earlier. A reader that listed a deleted file starts over (see
shared/lake/reader.py) and simply no longer sees those days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.clock import Clock, now_ns
from shared.events import Channel
from shared.lake.layout import channel_dir, date_dir, day_of, parse_date_dir
from shared.lake.manifest import TxnState, list_records, read_record, record_path
from shared.lake.storage import Lake, delete_dir, delete_file, list_dir, open_lake, sync_dir
from shared.settings.lake import LakeSettings


@dataclass
class RetentionReport:
    cutoff: dt.date | None = None  # dates before this were deleted
    deleted: list[tuple[Channel, dt.date]] = field(default_factory=list)
    records_deleted: int = 0


def cutoff_date(today: dt.date, retention_days: int) -> dt.date:
    return today - dt.timedelta(days=retention_days)


def apply_retention(
    settings: LakeSettings,
    clock: Clock = now_ns,
    channels: Sequence[Channel] = tuple(Channel),
    lake: Lake | None = None,
    retention_days: int | None = None,
) -> RetentionReport:
    """Delete expired dates; `retention_days` overrides the setting (None in both: nothing to do)."""
    days = retention_days if retention_days is not None else settings.retention_days
    report = RetentionReport()
    if days is None:
        return report
    lake = lake or open_lake(settings)
    cutoff = cutoff_date(day_of(clock()), days)
    report.cutoff = cutoff
    for channel in channels:
        before = len(report.deleted)
        for info in sorted(list_dir(lake, channel_dir(channel)), key=lambda i: i.base_name):
            date = parse_date_dir(info.base_name)
            if date is not None and date < cutoff and delete_dir(lake, f"{channel_dir(channel)}/{date_dir(date)}"):
                report.deleted.append((channel, date))
        if len(report.deleted) > before:
            # The dates' files must be gone for good before their compaction records: a record lost
            # while its inputs survived a power cut would let readers count those rows twice.
            sync_dir(lake, channel_dir(channel))
        report.records_deleted += _drop_records(lake, channel, cutoff)
    return report


def _drop_records(lake: Lake, channel: Channel, cutoff: dt.date) -> int:
    """Compaction records of deleted dates: nothing is left for them to describe."""
    dropped = 0
    names = list_records(lake, channel)
    for state in (TxnState.PENDING, TxnState.COMMIT):
        for txid in names[state]:
            record = read_record(lake, channel, txid, state)
            if record is not None and record.date < cutoff:
                dropped += delete_file(lake, record_path(channel, txid, state))
    return dropped
