"""Events read ahead in a child process (shared/lake/read_ahead.py), as the backtest reads the lake:
the same windows as reading in process, the child's errors raised here as themselves, and a child
that is no longer needed, or that died, never leaves a range silently short. Real child processes,
lakes written by the collector's real writer."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pyarrow as pa
import pytest

from shared.events import Channel, Event, channel_of
from shared.lake.events import EventSource, read_events
from shared.lake.read_ahead import LakeReaderExited, read_events_in_child
from shared.lake.storage import open_lake
from shared.settings.lake import LakeSettings
from tests.shared.lake.synthetic import MS, T0, mixed, write


def _lake(root: Path, events: list[Event]) -> LakeSettings:
    settings = LakeSettings(root=str(root), fsync=False)
    write(open_lake(settings), settings, events, 4)
    return settings


def _readers() -> list[int]:
    """This process's children that are lake readers."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"shared.lake.read_ahead" in command:
            pids.append(int(entry.name))
    return pids


def test_a_child_reads_the_same_windows_of_the_same_events_as_reading_in_process(tmp_path: Path) -> None:
    events = mixed(3_000)
    settings = _lake(tmp_path, events)
    in_child = list(read_events_in_child(settings, width_ns=100 * MS, target_rows=200))
    assert len(in_child) > 5
    assert in_child == list(read_events(EventSource(open_lake(settings)), 100 * MS, target_rows=200))
    assert [e for window in in_child for e in window] == events
    start, end = T0 + 1_000 * MS, T0 + 1_750 * MS
    narrowed = read_events_in_child(settings, (Channel.BOOK, Channel.STATUS), start, end, ("bybit",))
    assert [e for window in narrowed for e in window] == [
        e for e in events if start <= e.ts_recv < end and channel_of(e) in (Channel.BOOK, Channel.STATUS) and e.exchange == "bybit"
    ]
    assert _readers() == []


def test_an_error_in_the_child_is_raised_here_as_itself(tmp_path: Path) -> None:
    settings = _lake(tmp_path, mixed(600))
    broken = next(tmp_path.glob("market_data/ticker/**/*.parquet"))
    broken.write_bytes(b"not a parquet file")
    with pytest.raises(pa.ArrowInvalid, match="arquet"):
        list(read_events_in_child(settings))
    assert _readers() == []


def test_closing_the_reader_early_ends_the_child(tmp_path: Path) -> None:
    settings = _lake(tmp_path, mixed(3_000))  # far more than a pipe holds: the child waits for the reader
    reader = read_events_in_child(settings, width_ns=10 * MS, target_rows=50)
    first = next(reader)
    assert first and len(_readers()) == 1
    reader.close()
    assert _readers() == []


def test_a_child_killed_mid_range_is_an_error_not_a_short_range(tmp_path: Path) -> None:
    settings = _lake(tmp_path, mixed(3_000))
    reader = read_events_in_child(settings, width_ns=10 * MS, target_rows=50)
    next(reader)
    (child,) = _readers()
    os.kill(child, signal.SIGKILL)
    with pytest.raises(LakeReaderExited, match=r"ended before the end of the range \(exit code -9\)"):
        list(reader)
    assert _readers() == []
