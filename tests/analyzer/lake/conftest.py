"""A lake of small files: trades with unique ids over two dates and two exchanges, as the collector writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.lake.writer import PartitionWriter
from shared.events import Channel, Event
from shared.lake.storage import open_lake
from shared.settings.lake import LakeSettings
from tests.shared.lake.synthetic import T0, trades

ROWS = 24_000
BATCHES = 120
STEP = 2 * 86_400 * 1_000_000_000 // ROWS  # two days of trades
DAY = 86_400 * 1_000_000_000
LATER = T0 + 10 * DAY  # a "now" at which every file is closed


def lake_settings(root: Path, **kw: object) -> LakeSettings:
    return LakeSettings(root=str(root), fsync=False, row_group_rows=2_000, **kw)  # type: ignore[arg-type]


def write_small_files(settings: LakeSettings, rows: int = ROWS, batches: int = BATCHES) -> None:
    writer = PartitionWriter(open_lake(settings), settings)
    events: list[Event] = list(trades(rows, step=STEP))
    size = rows // batches
    for start in range(0, rows, size):
        assert writer.flush({Channel.TRADE: events[start : start + size]}).failed == []


@pytest.fixture
def small_files(tmp_path: Path) -> LakeSettings:
    settings = lake_settings(tmp_path)
    write_small_files(settings)
    return settings
