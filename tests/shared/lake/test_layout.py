"""Partition paths and data file names: parse what we write, ignore what we did not, prune by time."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.events import Channel
from shared.lake.layout import (
    NS_PER_DAY,
    FileKind,
    FileName,
    Partition,
    day_of,
    day_start_ns,
    days_overlapping,
    parse_date_dir,
    parse_exchange_dir,
)

DAY = dt.date(2026, 1, 1)
T0 = 1_767_225_600_000_000_000


def test_file_name_round_trips_and_sorts_by_time() -> None:
    early = FileName(5, 10, FileKind.WRITTEN, "rabc", 1)
    late = FileName(1_000_000_000_000_000_000, 1_000_000_000_000_000_001, FileKind.COMPACTED, "t123", 0)
    assert FileName.parse(str(early)) == early
    assert FileName.parse(str(late)) == late
    assert sorted([late, early]) == [early, late]
    later_written = FileName(11, 12, FileKind.WRITTEN, "rabc", 2)
    assert sorted([str(later_written), str(early)]) == [str(early), str(later_written)]
    assert str(early) == "w-0000000000000000005-0000000000000000010-rabc_1.parquet"


@pytest.mark.parametrize(
    "name",
    ["part-0.parquet", "w-1-2-r_1.parquet.tmp", "x-1-2-r_1.parquet", "w-2-1-r_1.parquet", "w-1-2-r-1.parquet", "w-a-2-r_1.parquet"],
)
def test_foreign_or_malformed_names_are_not_ours(name: str) -> None:
    assert FileName.parse(name) is None


def test_overlap_is_half_open_on_the_range_and_closed_on_the_file() -> None:
    name = FileName(100, 200, FileKind.WRITTEN, "r", 1)
    assert name.overlaps(200, 300) and name.overlaps(0, 101) and name.overlaps(None, None)
    assert not name.overlaps(201, None) and not name.overlaps(None, 100)


def test_partition_path_is_hive_style() -> None:
    assert Partition(Channel.BOOK, DAY, "gateio").path == "market_data/book/date=2026-01-01/exchange=gateio"
    assert parse_date_dir("date=2026-01-01") == DAY and parse_date_dir("date=nope") is None
    assert parse_exchange_dir("exchange=kucoin") == "kucoin" and parse_exchange_dir("exchange=../x") is None


@pytest.mark.parametrize("exchange", ["", "Binance", "a/b", "x=y", "../up"])
def test_exchange_that_cannot_name_a_directory_is_rejected(exchange: str) -> None:
    with pytest.raises(ValueError):
        Partition(Channel.TRADE, DAY, exchange)


def test_days_are_utc_dates_of_receive_time() -> None:
    assert day_of(T0) == DAY and day_of(T0 - 1) == dt.date(2025, 12, 31)
    assert day_start_ns(DAY) == T0
    assert days_overlapping(DAY, T0 + NS_PER_DAY - 1, None)
    assert not days_overlapping(DAY, T0 + NS_PER_DAY, None)
    assert not days_overlapping(DAY, None, T0)
