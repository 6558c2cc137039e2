"""`spreadlake replay-lake` re-streams the lake through the collector's WebSocket protocol, and
`spreadlake tail` (the reference client) receives every event of the range, in order; streaming
starts once the awaited subscribers have subscribed, however late they do."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from collector.lake.writer import PartitionWriter
from shared.events import Channel, Event, Status, channel_of
from shared.lake.storage import open_lake
from shared.settings import settings_from_mapping
from tests.e2e.market import market_config, write_config
from tests.shared.lake.synthetic import MS, T0, mixed

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def write_lake(config: dict[str, object], events: list[Event]) -> None:
    settings = settings_from_mapping(config)  # type: ignore[arg-type]
    writer = PartitionWriter(open_lake(settings.lake), settings.lake)
    batch: dict[Channel, list[Event]] = {}
    for event in events:
        batch.setdefault(channel_of(event), []).append(event)
    assert writer.flush(batch).failed == []


def test_replay_lake_streams_a_time_range_to_a_tail_client_in_order(tmp_path: Path) -> None:
    config = market_config(tmp_path)
    events = mixed(600)
    write_lake(config, events)
    path = write_config(tmp_path, config)
    start, end = T0 + 100 * MS, T0 + 500 * MS  # events 100..499
    wanted = [e for e in events if start <= e.ts_recv < end]

    server = subprocess.Popen([sys.executable, "-m", "spreadlake", "replay-lake", "--config", str(path),
                               "--from", str(start), "--to", str(end), "--wait-subscribers", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    try:
        assert server.stdout is not None
        banner = server.stdout.readline().decode()
        assert "replay-lake: serving" in banner, banner + server.stderr.read().decode() if server.poll() is not None else banner
        tail = subprocess.run([sys.executable, "-m", "spreadlake", "tail", "--config", str(path), "--count", str(len(wanted))],
                              capture_output=True, timeout=120, env=ENV)
        out, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert tail.returncode == 0, tail.stderr.decode()
    assert server.returncode == 0, err.decode()
    assert f"done: {len(wanted)} events" in out.decode()

    lines = [json.loads(line) for line in tail.stdout.splitlines()]
    assert len(lines) == len(wanted)
    assert not any(line.get("snapshot") for line in lines)
    assert [line["ts_recv"] for line in lines] == [e.ts_recv for e in wanted]
    assert Counter(line["channel"] for line in lines) == Counter(channel_of(e).value for e in wanted)
    trades = [line["trade_id"] for line in lines if line["channel"] == "trade"]
    assert trades == [e.trade_id for e in wanted if channel_of(e) is Channel.TRADE]  # type: ignore[union-attr]
    assert sum(isinstance(e, Status) for e in wanted) == sum(line["channel"] == "status" for line in lines)


async def _events(connection: ClientConnection, want: int) -> list[dict[str, object]]:
    received: list[dict[str, object]] = []
    while len(received) < want:
        frame = json.loads(await asyncio.wait_for(connection.recv(), 60))
        if frame["type"] == "events":
            received.extend(frame["events"])
    return received


def test_streaming_starts_once_the_subscribers_have_subscribed_however_late(tmp_path: Path) -> None:
    config = market_config(tmp_path)
    events = mixed(60)
    write_lake(config, events)
    path = write_config(tmp_path, config)
    server = subprocess.Popen([sys.executable, "-m", "spreadlake", "replay-lake", "--config", str(path), "--wait-subscribers", "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)

    async def clients(url: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        async with connect(url) as early, connect(url) as late:
            subscribe = json.dumps({"op": "subscribe", "id": 1})
            await early.send(subscribe)
            # Both connected, one subscribed: longer than the fixed 0.5 s the replay used to wait.
            await asyncio.sleep(2.0)
            await late.send(subscribe)
            return await asyncio.gather(_events(early, len(events)), _events(late, len(events)))

    try:
        assert server.stdout is not None
        banner = server.stdout.readline().decode()
        assert "replay-lake: serving" in banner, banner
        url = banner.split(" on ")[1].split()[0]
        early, late = asyncio.run(clients(url))
        _, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, err.decode()
    for received in (early, late):
        assert [e["ts_recv"] for e in received] == [e.ts_recv for e in events]
