"""Where things live in the lake: partition directories and the names of data files.

    <root>/market_data/<channel>/date=YYYY-MM-DD/exchange=<exchange>/<file>.parquet   data (hive layout)
    <root>/_lake/tmp/<file>.tmp                                                          files being written
    <root>/_lake/txn/<channel>/<txid>.{pending,commit}.json                               compaction records

A data file's name carries its kind (`w`: written by the collector, `c`: made by compaction), the
first and last receive time it holds (ns, zero padded so names sort by time) and a tag unique to
the writer run or compaction that made it: `w-<min_ts>-<max_ts>-<run>_<seq>.parquet`. Readers
prune files by time from the name alone, and a compaction's outputs are known by their tag.
The date partition is the UTC date of `ts_recv`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from shared.events import Channel

DATA_DIR = "market_data"
TMP_DIR = "_lake/tmp"
TXN_DIR = "_lake/txn"
PARQUET = ".parquet"
TMP_SUFFIX = ".tmp"
NS_PER_DAY = 86_400 * 1_000_000_000
_EPOCH = dt.date(1970, 1, 1)
_EXCHANGE = re.compile(r"^[a-z0-9][a-z0-9_.]*$")
_TAG = re.compile(r"^[A-Za-z0-9]+_[0-9]+$")


class FileKind(StrEnum):
    WRITTEN = "w"
    COMPACTED = "c"


@dataclass(frozen=True, order=True)
class Partition:
    channel: Channel
    date: dt.date
    exchange: str

    def __post_init__(self) -> None:
        if not _EXCHANGE.match(self.exchange):
            raise ValueError(f"exchange {self.exchange!r} cannot name a partition (lower case letters, digits, _ and .)")

    @property
    def path(self) -> str:
        return f"{channel_dir(self.channel)}/{date_dir(self.date)}/exchange={self.exchange}"


@dataclass(frozen=True, order=True)
class FileName:
    min_ts: int
    max_ts: int
    kind: FileKind
    owner: str  # writer run id or compaction transaction id
    seq: int

    def __post_init__(self) -> None:
        if self.min_ts > self.max_ts or self.min_ts < 0:
            raise ValueError(f"bad time range {self.min_ts}..{self.max_ts}")
        if not self.owner.isalnum():
            raise ValueError(f"owner {self.owner!r} must be letters and digits")

    def __str__(self) -> str:
        return f"{self.kind.value}-{self.min_ts:019d}-{self.max_ts:019d}-{self.owner}_{self.seq}{PARQUET}"

    def overlaps(self, start_ns: int | None, end_ns: int | None) -> bool:
        """Whether [min_ts, max_ts] meets the half-open range [start_ns, end_ns)."""
        return (start_ns is None or self.max_ts >= start_ns) and (end_ns is None or self.min_ts < end_ns)

    @classmethod
    def parse(cls, name: str) -> FileName | None:
        """The parsed name, or None for anything that is not one of ours (foreign files are left alone)."""
        if not name.endswith(PARQUET):
            return None
        parts = name[: -len(PARQUET)].split("-")
        if len(parts) != 4 or parts[0] not in ("w", "c") or not _TAG.match(parts[3]):
            return None
        try:
            owner, seq = parts[3].split("_")
            return cls(int(parts[1]), int(parts[2]), FileKind(parts[0]), owner, int(seq))
        except ValueError:
            return None


def channel_dir(channel: Channel) -> str:
    return f"{DATA_DIR}/{channel.value}"


def date_dir(date: dt.date) -> str:
    return f"date={date.isoformat()}"


def parse_date_dir(name: str) -> dt.date | None:
    if not name.startswith("date="):
        return None
    try:
        return dt.date.fromisoformat(name[len("date=") :])
    except ValueError:
        return None


def parse_exchange_dir(name: str) -> str | None:
    if not name.startswith("exchange="):
        return None
    value = name[len("exchange=") :]
    return value if _EXCHANGE.match(value) else None


def day_of(ns: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=ns // NS_PER_DAY)


def day_start_ns(date: dt.date) -> int:
    return (date - _EPOCH).days * NS_PER_DAY


def days_overlapping(date: dt.date, start_ns: int | None, end_ns: int | None) -> bool:
    """Whether the UTC day `date` meets [start_ns, end_ns)."""
    first = day_start_ns(date)
    return (start_ns is None or first + NS_PER_DAY > start_ns) and (end_ns is None or first < end_ns)


def tmp_name(final_name: str) -> str:
    return final_name + TMP_SUFFIX
