"""The lake writer component: flushes on time and size, writes everything at stop, bounds memory,
keeps the collector streaming when the disk is full or the lake unwritable, and resumes by itself."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from collector.dispatch import Dispatcher
from collector.lake.component import LakeWriterComponent, lake_component
from collector.lake.sizes import event_bytes
from shared.events import BookTop, Channel, Event, channel_of
from shared.lake.layout import TMP_DIR
from shared.settings import settings_from_mapping
from shared.settings.lake import LakeSettings
from tests.shared.lake.synthetic import book, mixed, tickers, trades


def _settings(root: Path, **kw: object) -> LakeSettings:
    return LakeSettings(root=str(root), fsync=False, **kw)  # type: ignore[arg-type]


def count(root: Path, channel: Channel) -> int:
    path = root / "market_data" / channel.value
    return ds.dataset(str(path), format="parquet").count_rows() if path.exists() else 0


def books(n: int) -> list[Event]:
    """Books of 10 levels a side, as the collector's default depth gives."""
    return [BookTop(b.exchange, b.symbol, b.ts_event, b.ts_recv, tuple((100.0 - i, 1.0) for i in range(10)),
                    tuple((101.0 + i, 1.0) for i in range(10)), b.sequence) for b in map(book, range(n))]


def events_channel(events: list[Event]) -> Channel:
    return channel_of(events[0])


async def _until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def test_factory_builds_the_component_from_the_settings(tmp_path: Path) -> None:
    settings = settings_from_mapping({"lake": {"root": str(tmp_path)}})
    component = lake_component(settings, Dispatcher())
    assert component.name == "lake" and component.settings == settings.lake


def test_rows_are_written_every_flush_interval(tmp_path: Path) -> None:
    async def main() -> None:
        dispatcher = Dispatcher()
        writer = LakeWriterComponent(_settings(tmp_path, flush_interval_s=0.1), dispatcher)
        await writer.start()
        for event in trades(500):
            dispatcher.publish(event)
        await _until(lambda: count(tmp_path, Channel.TRADE) == 500)
        for event in trades(300, start=500):
            dispatcher.publish(event)
        # A file is readable at its rename; the writer counts it once the directory fsync made it durable.
        await _until(lambda: count(tmp_path, Channel.TRADE) == 800 and writer.stats().rows_written == 800)
        stats = writer.stats()
        assert stats.rows_written == 800 and stats.files_written >= 4 and stats.rows_buffered == 0
        await writer.stop()

    asyncio.run(main())


def test_a_full_buffer_flushes_before_the_interval(tmp_path: Path) -> None:
    async def main() -> None:
        dispatcher = Dispatcher()
        writer = LakeWriterComponent(_settings(tmp_path, flush_interval_s=60, flush_rows=100), dispatcher)
        await writer.start()
        for event in trades(250):
            dispatcher.publish(event)
        await _until(lambda: writer.stats().rows_written == 250, timeout=3)
        await writer.stop()

    asyncio.run(main())


def test_stop_writes_everything_it_holds(tmp_path: Path) -> None:
    events = mixed(3_000)

    async def main() -> None:
        dispatcher = Dispatcher()
        writer = LakeWriterComponent(_settings(tmp_path, flush_interval_s=60), dispatcher)
        await writer.start()
        for event in events:
            dispatcher.publish(event)
        assert writer.stats().rows_written == 0
        await writer.stop()
        assert writer.stats().rows_written == len(events)

    asyncio.run(main())
    for channel in Channel:
        assert count(tmp_path, channel) == sum(1 for e in events if channel_of(e) is channel)


def fitting(events: list[Event], bound: int) -> int:
    """How many of `events`, in order, fit in `bound` bytes by the writer's estimate."""
    held = 0
    for n, event in enumerate(events):
        held += event_bytes(event)
        if held > bound:
            return n
    return len(events)


@pytest.mark.parametrize("make", [tickers, books], ids=["tickers", "books_of_10_levels"])
def test_memory_is_bounded_in_bytes_and_overflow_is_counted_and_logged_once(
    tmp_path: Path, make: Callable[[int], list[Event]], caplog: pytest.LogCaptureFixture
) -> None:
    bound = 64 * 1024
    events = make(2_000)
    fit = fitting(events, bound)

    async def main() -> LakeWriterComponent:
        dispatcher = Dispatcher()
        writer = LakeWriterComponent(_settings(tmp_path, flush_interval_s=60, max_buffered_bytes=bound), dispatcher)
        await writer.start()
        for event in events:  # all before the loop turns: no flush can make room
            dispatcher.publish(event)
        stats = writer.stats()
        assert stats.rows_buffered == fit and stats.bytes_buffered <= bound
        assert stats.rows_overflowed == stats.rows_unwritten == len(events) - fit
        await writer.stop()
        return writer

    with caplog.at_level(logging.WARNING, logger="collector.lake.component"):
        writer = asyncio.run(main())
    assert count(tmp_path, events_channel(events)) == fit and writer.stats().rows_overflowed == len(events) - fit
    warnings = [r.getMessage() for r in caplog.records if "max_buffered_bytes" in r.getMessage()]
    assert len(warnings) == 1 and "1 dropped" in warnings[0], warnings


def test_bounds_are_bytes_not_rows_a_deep_book_takes_the_room_of_many_tickers() -> None:
    bound = 1 << 20
    assert fitting(tickers(20_000), bound) > 8 * fitting(books(20_000), bound)


def test_buffers_holding_half_the_byte_bound_are_written_before_the_interval(tmp_path: Path) -> None:
    bound = 64 * 1024
    events = tickers(fitting(tickers(1_000), bound // 2) + 1)

    async def main() -> None:
        dispatcher = Dispatcher()
        writer = LakeWriterComponent(_settings(tmp_path, flush_interval_s=60, max_buffered_bytes=bound), dispatcher)
        await writer.start()
        for event in events:
            dispatcher.publish(event)
        await _until(lambda: writer.stats().rows_written == len(events), timeout=3)
        assert writer.stats().bytes_buffered == 0
        await writer.stop()

    asyncio.run(main())


def test_flush_runs_off_the_event_loop(tmp_path: Path) -> None:
    events = trades(200_000)

    async def main() -> tuple[float, float]:
        dispatcher = Dispatcher()
        writer = LakeWriterComponent(_settings(tmp_path, flush_interval_s=0.05, flush_rows=1_000_000), dispatcher)
        await writer.start()
        for event in events:
            dispatcher.publish(event)
        started = time.monotonic()
        worst = 0.0
        while writer.stats().rows_written < len(events):
            before = time.monotonic()
            await asyncio.sleep(0.005)
            worst = max(worst, time.monotonic() - before - 0.005)
        took = time.monotonic() - started
        await writer.stop()
        return worst, took

    worst, took = asyncio.run(main())
    # Encoding and writing 200k rows takes a good fraction of a second; the loop never waits that long.
    assert worst < max(0.1, took / 4), (worst, took)


def test_unwritable_lake_keeps_streaming_reports_and_resumes(tmp_path: Path) -> None:
    (tmp_path / "market_data").write_text("a file where the lake's data directory should be")
    events = trades(400)

    async def main() -> None:
        dispatcher = Dispatcher()
        seen: list[Event] = []
        dispatcher.attach(seen.append)
        writer = LakeWriterComponent(_settings(tmp_path, flush_interval_s=0.05), dispatcher)
        await writer.start()
        for event in events:
            dispatcher.publish(event)
        await _until(lambda: writer.stats().failing)
        stats = writer.stats()
        assert len(seen) == len(events)  # subscribers still get everything
        assert stats.rows_written == 0 and stats.rows_buffered == len(events) and stats.write_errors >= 1
        assert stats.last_error is not None and "market_data" in stats.last_error
        (tmp_path / "market_data").unlink()
        await _until(lambda: not writer.stats().failing and writer.stats().rows_written == len(events))
        await writer.stop()

    asyncio.run(main())
    assert count(tmp_path, Channel.TRADE) == len(events)


def test_rows_still_unwritable_at_stop_are_counted_as_unwritten(tmp_path: Path) -> None:
    (tmp_path / "market_data").write_text("blocked")

    async def main() -> LakeWriterComponent:
        dispatcher = Dispatcher()
        writer = LakeWriterComponent(_settings(tmp_path, flush_interval_s=60), dispatcher)
        await writer.start()
        for event in trades(30):
            dispatcher.publish(event)
        await writer.stop()
        return writer

    stats = asyncio.run(main()).stats()
    assert stats.rows_unwritten == 30 and stats.rows_buffered == 0 and stats.rows_written == 0


def test_start_removes_temporary_files_left_by_a_killed_run(tmp_path: Path) -> None:
    (tmp_path / TMP_DIR).mkdir(parents=True)
    (tmp_path / TMP_DIR / "w-1-2-rdead_1.parquet.tmp").write_bytes(b"partial")

    async def main() -> None:
        writer = LakeWriterComponent(_settings(tmp_path), Dispatcher())
        await writer.start()
        await writer.stop()

    asyncio.run(main())
    assert list((tmp_path / TMP_DIR).iterdir()) == []


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a real disk that fills up (needs root; skipped otherwise)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    with open(path, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
                os.fsync(out.fileno())
        except OSError:
            pass


def test_disk_full_keeps_streaming_counts_drops_and_resumes(tiny_fs: Path) -> None:
    root = tiny_fs / "lake"
    filler = tiny_fs / "filler"
    bound = 512 * 1024
    kept: list[int] = []

    async def main() -> None:
        dispatcher = Dispatcher()
        seen: list[Event] = []
        dispatcher.attach(seen.append)
        writer = LakeWriterComponent(_settings(root, flush_interval_s=0.05, max_buffered_bytes=bound), dispatcher)
        await writer.start()
        _fill(filler)
        for event in trades(1_500):
            dispatcher.publish(event)
        await _until(lambda: writer.stats().failing)
        for event in trades(3_000, start=1_500):
            dispatcher.publish(event)
        stats = writer.stats()
        assert len(seen) == 4_500
        assert stats.last_error is not None and "No space left" in stats.last_error
        assert stats.bytes_buffered <= bound and stats.rows_overflowed > 0
        assert stats.rows_buffered + stats.rows_unwritten == 4_500 and stats.rows_unwritten == stats.rows_overflowed
        kept.append(stats.rows_buffered)
        filler.unlink()
        await _until(lambda: writer.stats().rows_written == kept[0] and not writer.stats().failing)
        await writer.stop()

    asyncio.run(main())
    assert count(root, Channel.TRADE) == kept[0]
    assert list((root / TMP_DIR).iterdir()) == []
