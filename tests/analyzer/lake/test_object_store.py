"""The whole lake on an S3-compatible store (moto's server, started here): write, read, compact, retain, replay."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import boto3
import duckdb
import pytest
from moto.server import ThreadedMotoServer

from analyzer.lake.compaction import compact
from analyzer.lake.retention import apply_retention
from collector.dispatch import Dispatcher
from collector.lake.component import LakeWriterComponent
from collector.lake.replay import replay_lake
from shared.clock import seconds_to_ns
from shared.events import Channel, Event, channel_of
from shared.lake.reader import LakeReader
from shared.settings import Settings
from shared.settings.lake import LakeSettings, S3Settings
from tests.analyzer.lake.conftest import DAY, LATER
from tests.shared.lake.synthetic import T0, mixed

BUCKET = "lake"
T0_DATE = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def test_object_store_lake_round_trip(s3_endpoint: str) -> None:
    settings = LakeSettings(
        root=f"s3://{BUCKET}/spreadlake",
        flush_interval_s=0.1,
        row_group_rows=1_000,
        s3=S3Settings(endpoint_url=s3_endpoint, region="us-east-1", access_key_id="k", secret_access_key="s"),
    )
    events = mixed(6_000, step=2 * DAY // 6_000)  # two dates
    expected = {channel: sum(1 for e in events if channel_of(e) is channel) for channel in Channel}

    async def write() -> None:
        dispatcher = Dispatcher()
        writer = LakeWriterComponent(settings, dispatcher)
        await writer.start()
        for i, event in enumerate(events):
            dispatcher.publish(event)
            if i % 1_500 == 0:
                await asyncio.sleep(0.15)  # several flushes: several files per partition
        await writer.stop()
        assert writer.stats().rows_written == len(events) and writer.stats().last_error is None

    asyncio.run(write())
    reader = LakeReader(settings)
    con = duckdb.connect()
    for channel, count in expected.items():
        assert reader.count(channel) == count
    rel = reader.relation(con, Channel.TICKER)
    assert dict(zip(rel.columns, map(str, rel.types), strict=True))["ts_recv"] == "TIMESTAMPTZ_NS"
    assert reader.fetch(con, Channel.TRADE, "SELECT count(DISTINCT trade_id), count(DISTINCT date) FROM lake") == [(expected[Channel.TRADE], 2)]

    report = compact(settings, lambda: LATER)
    assert report.partitions > 0 and report.rows > 0 and not report.errors
    assert compact(settings, lambda: LATER + seconds_to_ns(settings.compaction.grace_s)).vacuumed == report.partitions
    for channel, count in expected.items():
        assert reader.count(channel) == count

    seen: list[Event] = []

    async def replay() -> None:
        dispatcher = Dispatcher()
        dispatcher.attach(seen.append)
        await replay_lake(Settings(lake=settings), T0, T0 + DAY, None, dispatcher)

    asyncio.run(replay())
    assert seen == [e for e in events if e.ts_recv < T0 + DAY]

    deleted = apply_retention(settings, lambda: T0 + DAY + 1, retention_days=0).deleted
    assert sorted(deleted) == sorted((channel, T0_DATE) for channel in Channel)
    assert sum(reader.count(channel) for channel in Channel) == sum(1 for e in events if e.ts_recv >= T0 + DAY)
