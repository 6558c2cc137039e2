"""Small hand-computable lakes for the analyses: a few events written by the collector's writer, one
file per event so that compaction has several small files per partition to merge."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from analyzer.lake.compaction import compact
from shared.events import Channel, Event
from shared.lake.reader import LakeReader
from shared.lake.storage import open_lake
from shared.settings import Settings
from shared.settings.lake import LakeSettings
from tests.shared.lake.synthetic import T0, write

S = 1_000_000_000
MS = 1_000_000
LATER = T0 + 10 * 86_400 * S  # a "now" at which every file of these lakes is closed

LakeFactory = Callable[[list[Event]], LakeReader]


def lake_settings(root: Path) -> Settings:
    return Settings(lake=LakeSettings(root=str(root), fsync=False))


def write_lake(settings: Settings, events: list[Event]) -> LakeReader:
    write(open_lake(settings.lake), settings.lake, events, batches=len(events))
    return LakeReader(settings.lake)


def compact_lake(settings: Settings) -> None:
    """Compact every channel. The replaced files stay on disk for the grace period, so a plain glob now
    sees some rows twice: an analysis reading anything but the snapshot would count them twice."""
    report = compact(settings.lake, lambda: LATER)
    assert report.partitions > 0 and not report.errors
    reader = LakeReader(settings.lake)
    on_disk = visible = 0
    for channel in Channel:
        if not reader.files(channel):
            continue
        visible += reader.count(channel)
        glob = f"{settings.lake.root}/market_data/{channel.value}/**/*.parquet"
        on_disk += duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall()[0][0]
    assert on_disk > visible


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return lake_settings(tmp_path)


@pytest.fixture
def make_lake(settings: Settings) -> LakeFactory:
    return lambda events: write_lake(settings, events)
