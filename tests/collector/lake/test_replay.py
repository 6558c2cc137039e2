"""replay-lake publishes exactly the recorded events of a range, in receive-time order, on schedule."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from collector.dispatch import Dispatcher
from collector.lake.replay import Pacer, ReplayReport, due_offset_s, replay_lake
from shared.events import Channel, Event, channel_of
from shared.lake.storage import open_lake
from shared.settings import Settings, settings_from_mapping
from shared.settings.lake import LakeSettings
from tests.shared.lake.synthetic import MS, T0, mixed, write

SECOND = 1_000_000_000


def _lake(root: Path, events: list[Event], batches: int = 4) -> Settings:
    settings = settings_from_mapping({"lake": {"root": str(root), "fsync": False}})
    write(open_lake(settings.lake), settings.lake, events, batches)
    return settings


def _replay(
    settings: Settings, start: int | None, end: int | None, speed: float | None, **kw: object
) -> tuple[list[Event], list[float], ReplayReport]:
    seen: list[Event] = []
    arrivals: list[float] = []

    def consume(event: Event) -> None:
        seen.append(event)
        arrivals.append(time.monotonic())

    async def main() -> ReplayReport:
        dispatcher = Dispatcher()
        dispatcher.attach(consume)
        return await replay_lake(settings, start, end, speed, dispatcher, **kw)  # type: ignore[arg-type]

    report = asyncio.run(main())
    return seen, arrivals, report


def test_everything_comes_back_in_receive_time_order_across_channels(tmp_path: Path) -> None:
    events = mixed(3_000)
    seen, _, report = _replay(_lake(tmp_path, events), None, None, None, window_s=0.5)
    assert seen == events  # same values, same order (receive times are distinct)
    assert report.total == 3_000 and report.published[Channel.STATUS] == 500
    assert (report.first_ts, report.last_ts) == (events[0].ts_recv, events[-1].ts_recv)


def test_a_range_publishes_exactly_its_events(tmp_path: Path) -> None:
    events = mixed(3_000)
    settings = _lake(tmp_path, events)
    start, end = T0 + 1_000 * MS, T0 + 1_750 * MS
    seen, _, _ = _replay(settings, start, end, 0, window_s=0.2)
    assert seen == [e for e in events if start <= e.ts_recv < end]
    only, _, _ = _replay(settings, start, end, None, channels=(Channel.TRADE,), exchanges=("bybit",))
    assert only == [e for e in events if start <= e.ts_recv < end and channel_of(e) is Channel.TRADE and e.exchange == "bybit"]


def test_pacing_follows_recorded_time_at_the_given_speed(tmp_path: Path) -> None:
    events = mixed(101, step=10 * MS)  # one second of recording
    seen, arrivals, _ = _replay(_lake(tmp_path, events), None, None, 4.0)
    assert seen == events
    elapsed = [a - arrivals[0] for a in arrivals]
    for event, at in zip(events, elapsed, strict=True):
        due = (event.ts_recv - events[0].ts_recv) / SECOND / 4.0
        assert at >= due - 0.002, "never early"
    assert 0.25 <= elapsed[-1] < 0.25 + 0.2


def test_as_fast_as_possible_ignores_recorded_gaps(tmp_path: Path) -> None:
    events = mixed(20, step=SECOND)  # 20 s of recording, sparse
    started = time.monotonic()
    seen, _, _ = _replay(_lake(tmp_path, events), None, None, None, window_s=1.0)
    assert seen == events and time.monotonic() - started < 5


def test_stop_ends_the_replay_early(tmp_path: Path) -> None:
    events = mixed(500, step=10 * MS)
    settings = _lake(tmp_path, events)
    seen: list[Event] = []

    async def main() -> ReplayReport:
        stop = asyncio.Event()
        dispatcher = Dispatcher()

        def consume(event: Event) -> None:
            seen.append(event)
            if len(seen) == 50:
                stop.set()

        dispatcher.attach(consume)
        return await replay_lake(settings, None, None, 1.0, dispatcher, stop)

    started = time.monotonic()
    report = asyncio.run(main())
    assert report.stopped and report.total == len(seen) == 50
    assert time.monotonic() - started < 2  # 5 s of recording at 1x was cut short


def test_empty_range_publishes_nothing(tmp_path: Path) -> None:
    settings = _lake(tmp_path, mixed(100))
    seen, _, report = _replay(settings, T0 - 10 * SECOND, T0 - SECOND, None)
    assert seen == [] and report.total == 0 and not report.stopped


def test_due_time_scales_with_speed() -> None:
    assert due_offset_s(T0 + 2 * SECOND, T0, 2.0) == pytest.approx(1.0)
    assert due_offset_s(T0 + 2 * SECOND, T0, 0.5) == pytest.approx(4.0)
    assert due_offset_s(T0 + SECOND, T0, None) is None
    assert due_offset_s(T0 + SECOND, T0, 0) is None
    assert due_offset_s(T0 + SECOND, T0, float("inf")) is None


def test_pacer_counts_from_the_first_event() -> None:
    now = [100.0]
    pacer = Pacer(2.0, lambda: now[0])
    assert pacer.delay(T0 + 5 * SECOND) == 0.0
    now[0] = 100.25
    assert pacer.delay(T0 + 6 * SECOND) == pytest.approx(0.25)
    assert pacer.delay(T0 + 5 * SECOND) == pytest.approx(-0.25)  # late: publish at once
    assert Pacer(None, lambda: now[0]).delay(T0) == 0.0


def test_lake_settings_are_read_from_the_settings_object(tmp_path: Path) -> None:
    settings = Settings(lake=LakeSettings(root=str(tmp_path / "absent")))
    seen, _, report = _replay(settings, None, None, None)
    assert seen == [] and report.total == 0
