"""The lake read back as events: rows to events per channel, windows over a range, and the windowed
reading (with and without read-ahead) that replay-lake and the backtest share. Lakes are written by
the collector's real writer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import pyarrow as pa
import pytest

from shared.events import BookTop, Channel, Event, channel_of
from shared.lake.events import EventSource, Windows, parse_instant, read_events, to_events
from shared.lake.layout import FileKind, FileName, Partition
from shared.lake.manifest import DataFile
from shared.lake.schema import LEVELS, TIMESTAMP
from shared.lake.storage import Lake, open_lake
from shared.settings.lake import LakeSettings
from tests.shared.lake.synthetic import MS, T0, mixed, write

SECOND = 1_000_000_000


def _lake(root: Path, events: list[Event], batches: int = 4) -> Lake:
    settings = LakeSettings(root=str(root), fsync=False)
    lake = open_lake(settings)
    write(lake, settings, events, batches)
    return lake


def _all_events(source: EventSource, width_ns: int, prefetch: bool, target_rows: int = 100_000) -> list[Event]:
    return [e for window in read_events(source, width_ns, prefetch=prefetch, target_rows=target_rows) for e in window]


def test_every_event_comes_back_in_receive_time_order_with_or_without_read_ahead(tmp_path: Path) -> None:
    events = mixed(3_000)
    source = EventSource(_lake(tmp_path, events))
    assert _all_events(source, 100 * MS, prefetch=True, target_rows=200) == events
    assert _all_events(source, 7 * MS, prefetch=False) == events


def test_events_at_one_receive_time_come_back_in_the_sources_channel_order(tmp_path: Path) -> None:
    # Events at three receive times, each time with tickers, trades, books and statuses, written in another
    # order than the source's channels.
    events = [msgspec.structs.replace(e, ts_recv=T0 + (i % 3) * MS) for i, e in enumerate(mixed(36))]
    channels = (Channel.BOOK, Channel.TICKER, Channel.TRADE, Channel.STATUS)
    read = _all_events(EventSource(_lake(tmp_path, events, batches=3), channels), SECOND, prefetch=False)
    rank = {channel: i for i, channel in enumerate(channels)}
    assert [(e.ts_recv, rank[channel_of(e)]) for e in read] == sorted((e.ts_recv, rank[channel_of(e)]) for e in events)
    assert sorted(map(repr, read)) == sorted(map(repr, events))


def test_a_range_channels_and_exchanges_narrow_what_is_read(tmp_path: Path) -> None:
    events = mixed(3_000)
    lake = _lake(tmp_path, events)
    start, end = T0 + 1_000 * MS, T0 + 1_750 * MS
    assert _all_events(EventSource(lake, start_ns=start, end_ns=end), 50 * MS, True) == [e for e in events if start <= e.ts_recv < end]
    only = EventSource(lake, (Channel.BOOK, Channel.STATUS), start, end, exchanges=("bybit",))
    wanted = [e for e in events if start <= e.ts_recv < end and channel_of(e) in (Channel.BOOK, Channel.STATUS) and e.exchange == "bybit"]
    assert _all_events(only, SECOND, True) == wanted
    assert _all_events(EventSource(lake, start_ns=T0 - 2 * SECOND, end_ns=T0 - SECOND), SECOND, True) == []


def test_a_file_that_vanished_is_read_again_from_a_fresh_snapshot(tmp_path: Path) -> None:
    events = mixed(600)
    lake = _lake(tmp_path, events, batches=2)
    source = EventSource(lake)
    stale = {channel: list(files) for channel, files in source.files.items()}
    moved = stale[Channel.TICKER][0]
    path = Path(lake.path(moved.rel_path))
    renamed = FileName(moved.name.min_ts, moved.name.max_ts, FileKind.WRITTEN, moved.name.owner + "x", moved.name.seq)
    path.rename(path.with_name(str(renamed)))  # the same rows under another name, as after a compaction
    source.files = stale
    assert source.read(T0, T0 + 600 * MS) == events


def test_book_levels_come_back_as_tuples_from_sliced_and_chunked_columns() -> None:
    bids = [[{"price": 100.0 - i, "size": 1.0 + i} for i in range(n)] for n in (0, 1, 3, 2)]
    asks = [[{"price": 101.0 + i, "size": 2.0} for i in range(n)] for n in (2, 0, 1, 3)]
    ts = pa.array([T0 + i for i in range(4)], pa.int64()).cast(TIMESTAMP)
    table = pa.table({
        "exchange": ["binance"] * 4, "symbol": ["BTC-USDT"] * 4, "ts_event": ts, "ts_recv": ts,
        "sequence": pa.array([1, None, 3, 4], pa.int64()), "bids": pa.array(bids, LEVELS), "asks": pa.array(asks, LEVELS),
    })
    expected = [BookTop("binance", "BTC-USDT", T0 + i, T0 + i, tuple((lv["price"], lv["size"]) for lv in bids[i]),
                        tuple((lv["price"], lv["size"]) for lv in asks[i]), [1, None, 3, 4][i]) for i in range(4)]
    assert to_events(Channel.BOOK, table) == expected
    assert to_events(Channel.BOOK, table.slice(1, 2)) == expected[1:3]
    chunked = pa.concat_tables([table.slice(0, 1), table.slice(1, 3)])
    assert chunked.column("bids").num_chunks == 2 and to_events(Channel.BOOK, chunked) == expected
    with_null = table.set_column(5, "bids", pa.array([bids[0], None, bids[2], bids[3]], LEVELS))
    assert [e.bids for e in to_events(Channel.BOOK, with_null)] == [(), (), expected[2].bids, expected[3].bids]


def _file(low: int, high: int) -> DataFile:
    return DataFile(Partition(Channel.TICKER, dt.date(2026, 1, 1), "x"), FileName(low, high, FileKind.WRITTEN, "r", 1), 1)


def _windows(plan: Windows, rows: int | None = None) -> list[tuple[int, int]]:
    out = []
    while (window := plan.next(rows)) is not None:
        out.append(window)
    return out


def test_windows_cover_the_range_and_skip_what_no_file_holds() -> None:
    files = [_file(T0, T0 + 25), _file(T0 + 1_000, T0 + 1_005)]
    dense = 100_000  # rows per window that keep the width as it is
    assert _windows(Windows(files, None, None, 10), dense) == [
        (T0, T0 + 10),
        (T0 + 10, T0 + 20),
        (T0 + 20, T0 + 30),
        (T0 + 1_000, T0 + 1_006),
    ]
    assert _windows(Windows(files, T0 + 22, T0 + 1_002, 10), dense) == [(T0 + 22, T0 + 32), (T0 + 1_000, T0 + 1_002)]
    assert _windows(Windows([], None, None, 10)) == []


def test_window_width_adapts_to_how_many_rows_a_window_held() -> None:
    plan = Windows([_file(T0, T0 + 10_000)], None, None, 10, target_rows=1_000)
    assert plan.next() == (T0, T0 + 10)
    assert plan.next(10) == (T0 + 10, T0 + 50)  # sparse: wider
    assert plan.next(5_000) == (T0 + 50, T0 + 70)  # dense: narrower
    assert plan.next(1_000) == (T0 + 70, T0 + 90)


def test_instants_parse_from_iso_or_nanoseconds() -> None:
    assert parse_instant("2026-01-01") == T0
    assert parse_instant("2026-01-01T00:00:01Z") == T0 + SECOND
    assert parse_instant("2026-01-01T01:00:00.000001+01:00") == T0 + 1_000
    assert parse_instant(str(T0 + 7)) == T0 + 7
    with pytest.raises(ValueError):
        parse_instant("yesterday")
