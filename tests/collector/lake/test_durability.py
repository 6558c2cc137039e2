"""A file the lake writer reports written survives a power cut: the file is fsynced before its rename,
its partition directory after it, and every directory level the writer created is made durable by
fsyncing its parent (observed on real runs through os.fsync; a power cut cannot be simulated)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from collector.dispatch import Dispatcher
from collector.lake.component import LakeWriterComponent
from shared.lake.layout import TMP_DIR
from shared.settings.lake import LakeSettings
from tests.fsyncs import dir_synced_with, record_fsyncs
from tests.shared.lake.synthetic import mixed


def _run(settings: LakeSettings, n: int) -> None:
    async def main() -> None:
        dispatcher = Dispatcher()
        writer = LakeWriterComponent(settings, dispatcher)
        await writer.start()
        for event in mixed(n):
            dispatcher.publish(event)
        await writer.stop()
        assert writer.stats().rows_written == n

    asyncio.run(main())


def test_a_written_file_its_partition_dir_and_every_directory_level_created_are_made_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "lake"
    synced = record_fsyncs(monkeypatch)
    _run(LakeSettings(root=str(root), write_threads=2), 600)
    files = sorted(root.glob("market_data/*/*/*/*.parquet"))
    assert len(files) == 4 * 2  # four channels, two exchanges, one date
    for f in files:
        assert root / TMP_DIR / f"{f.name}.tmp" in [s.path for s in synced], f"{f.name} not fsynced before its rename"
        assert dir_synced_with(synced, f), f"{f.parent} not fsynced after {f.name} was renamed into it"
        partition = f.parent
        for level in (partition, partition.parent, partition.parent.parent, root / "market_data", root):
            assert dir_synced_with(synced, level), f"{level.parent} not fsynced after {level.name} was created"
