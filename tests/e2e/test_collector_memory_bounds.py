"""A real collector whose lake writer and raw capture run into their byte bounds: the overflow is
counted in /health and /metrics, and streaming to other consumers goes on."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from collector.app import build_service
from shared.events import Event
from shared.settings import settings_from_mapping
from sim.runner import SimulatorThread
from tests.e2e.market import market_config
from tests.e2e.test_collector_health import get, metric


def test_overflowing_the_lake_and_capture_byte_bounds_shows_in_health_and_metrics(tmp_path: Path) -> None:
    blocker = tmp_path / "lake"
    blocker.write_text("a file where the lake directory should be: rows pile up in memory")
    config = market_config(
        tmp_path,
        lake={"root": str(blocker), "flush_interval_s": 0.5, "max_buffered_bytes": 64 * 1024},
        # Smaller than the venues' symbol lists and book snapshots: those replies cannot be queued.
        collector={"capture_dir": str(tmp_path / "capture"), "capture_max_buffered_bytes": 1024},
    )
    settings = settings_from_mapping(config)
    api = f"http://127.0.0.1:{settings.api.port}"
    seen: list[Event] = []
    observed: dict[str, tuple[int, bytes]] = {}

    async def scenario() -> None:
        service = build_service(settings)
        service.dispatcher.attach(seen.append)
        stop = asyncio.Event()
        runner = asyncio.create_task(service.run(stop))
        await asyncio.wait_for(service.ready.wait(), 60)
        for _ in range(150):  # the lake's 64 KiB fill within seconds at the test market's rate
            observed["health"] = await asyncio.to_thread(get, f"{api}/health")
            if json.loads(observed["health"][1])["lake"]["rows_overflowed"] > 0:
                break
            await asyncio.sleep(0.2)
        observed["metrics"] = await asyncio.to_thread(get, f"{api}/metrics")
        stop.set()
        await runner

    with SimulatorThread(settings.sim):
        asyncio.run(scenario())

    report = json.loads(observed["health"][1])
    lake, capture = report["lake"], report["capture"]
    assert lake["rows_overflowed"] > 0 and 0 < lake["bytes_buffered"] <= 64 * 1024
    assert capture["records_overflowed"] > 0 and capture["bytes_queued"] <= 1024
    text = observed["metrics"][1].decode()
    assert metric(text, "spreadlake_lake_rows_overflowed") >= lake["rows_overflowed"]
    assert 0 < metric(text, "spreadlake_lake_bytes_buffered") <= 64 * 1024
    assert metric(text, "spreadlake_capture_records_overflowed") > 0
    assert len(seen) > lake["rows_overflowed"], "subscribers kept getting events"
