"""A client's backlog: numbered frames in arrival order, coalescing of tickers/books, never of trades, and lag."""

from __future__ import annotations

import json

from collector.fanout.outbox import Batch, Entry, Message, Outbox, SnapshotChunk
from shared.protocol import Pong


def ticker(stream: str, value: int, ts: int = 0) -> Entry:
    return (("ticker", "x", stream), json.dumps({"channel": "ticker", "symbol": stream, "v": value}).encode(), ts)


def trade(value: int, ts: int = 0) -> Entry:
    return (None, json.dumps({"channel": "trade", "v": value}).encode(), ts)


def batch(*entries: Entry) -> Batch:
    return Batch(list(entries), sum(1 for e in entries if e[0] is None))


def frames(outbox: Outbox) -> list[dict]:
    return [json.loads(frame) for frame in outbox.take_frames()]


def test_consecutive_batches_share_one_frame_and_controls_keep_their_place() -> None:
    outbox = Outbox(buffer_events=100, max_frame_bytes=10_000)
    outbox.push_batch(batch(trade(1)))
    outbox.push_batch(batch(trade(2), trade(3)))
    outbox.push(Message(Pong(seq=0, id="p", ts=5)))
    outbox.push_batch(batch(trade(4)))
    sent = frames(outbox)
    assert [f["type"] for f in sent] == ["events", "pong", "events"]
    assert [f["seq"] for f in sent] == [1, 2, 3]
    assert [e["v"] for e in sent[0]["events"]] == [1, 2, 3]
    assert sent[1]["id"] == "p" and [e["v"] for e in sent[2]["events"]] == [4]
    assert not outbox and outbox.pending == 0


def test_numbering_continues_across_takes() -> None:
    outbox = Outbox(buffer_events=100, max_frame_bytes=10_000)
    outbox.push_batch(batch(trade(1)))
    assert [f["seq"] for f in frames(outbox)] == [1]
    outbox.push(SnapshotChunk("s", True, [b'{"channel":"trade"}']))
    outbox.push_batch(batch(trade(2)))
    assert [(f["type"], f["seq"]) for f in frames(outbox)] == [("snapshot", 2), ("events", 3)]


def test_frames_stay_under_the_size_limit_even_for_one_large_batch() -> None:
    outbox = Outbox(buffer_events=10_000, max_frame_bytes=4096)
    outbox.push_batch(batch(*(trade(i) for i in range(1000))))
    raw = outbox.take_frames()
    assert len(raw) > 1 and all(len(frame) < 4096 for frame in raw)
    values = [e["v"] for frame in raw for e in json.loads(frame)["events"]]
    assert values == list(range(1000))


def test_merged_batches_with_a_coalesced_count_stay_under_the_size_limit() -> None:
    outbox = Outbox(buffer_events=400, max_frame_bytes=4096)
    for round_ in range(3):
        for stream in range(150):
            outbox.push_batch(batch(ticker(f"stream-{stream}", round_)))
    raw = outbox.take_frames()
    assert len(raw) > 1 and json.loads(raw[0])["coalesced"] > 0
    assert all(len(frame) < 4096 for frame in raw)


def test_backlog_over_the_buffer_keeps_only_the_latest_ticker_per_stream_and_every_trade() -> None:
    outbox = Outbox(buffer_events=14, max_frame_bytes=100_000)
    for i in range(5):
        outbox.push_batch(batch(ticker("A", i), ticker("B", i), trade(i)))
    # 15 > 14 events: coalesced to A4, B4 and the five trades, in their original order.
    assert outbox.pending == 7 and outbox.lagged is None
    (sent,) = frames(outbox)
    assert sent["coalesced"] == 8
    assert [(e["channel"], e.get("symbol"), e["v"]) for e in sent["events"]] == [
        ("trade", None, 0), ("trade", None, 1), ("trade", None, 2), ("trade", None, 3),
        ("ticker", "A", 4), ("ticker", "B", 4), ("trade", None, 4)]
    outbox.push_batch(batch(ticker("A", 9)))
    (after,) = frames(outbox)
    assert "coalesced" not in after  # reported once, in the first frame after coalescing


def test_tickers_alone_never_lag_however_far_behind() -> None:
    outbox = Outbox(buffer_events=16, max_frame_bytes=100_000)
    for i in range(10_000):
        outbox.push_batch(batch(ticker("A", i), ticker("B", i)))
    assert outbox.lagged is None and outbox.pending <= 16
    (sent,) = frames(outbox)
    assert {e["symbol"]: e["v"] for e in sent["events"]} == {"A": 9999, "B": 9999}
    assert sent["coalesced"] == 20_000 - len(sent["events"])


def test_too_many_trades_behind_lags_the_client_and_says_how_far() -> None:
    outbox = Outbox(buffer_events=20, max_frame_bytes=100_000)
    for i in range(11):
        outbox.push_batch(batch(trade(i, ts=i * 100_000_000), ticker("A", i, ts=i * 100_000_000)))
    report = outbox.lagged
    assert report is not None
    assert report.trades == 11 and report.events == 12 and report.behind_s == 1.0
    assert "11 trades" in report.message
    assert not outbox
    outbox.push_batch(batch(trade(99)))
    assert not outbox  # nothing more is queued for a lagged client
    lagged = json.loads(outbox.lagged_frame())
    assert lagged["type"] == "lagged" and lagged["seq"] == 1 and lagged["trades"] == 11


def test_shared_batches_are_not_modified_by_one_clients_coalescing() -> None:
    shared = batch(ticker("A", 1), ticker("A", 2), ticker("A", 3), ticker("A", 4), trade(1))
    slow, fast = Outbox(buffer_events=4, max_frame_bytes=10_000), Outbox(buffer_events=100, max_frame_bytes=10_000)
    slow.push_batch(shared)
    fast.push_batch(shared)
    assert len(frames(slow)[0]["events"]) == 2
    assert len(frames(fast)[0]["events"]) == 5
