"""An unwritable lake: the collector keeps streaming, /health and /metrics say so and count the
unwritten rows, and writing resumes once the lake is writable again."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

from collector.app import build_service
from shared.events import Event, Trade
from shared.settings import settings_from_mapping
from sim.runner import SimulatorThread
from tests.e2e.market import market_config


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def metric(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{"))


def test_unwritable_lake_is_reported_while_streaming_continues_and_writing_resumes(tmp_path: Path) -> None:
    blocker = tmp_path / "lake"
    blocker.write_text("a file where the lake directory should be")
    config = market_config(tmp_path, lake={"root": str(blocker), "flush_interval_s": 0.5})
    settings = settings_from_mapping(config)
    api = f"http://127.0.0.1:{settings.api.port}"
    seen: list[Event] = []
    observed: dict[str, object] = {}

    async def scenario() -> None:
        service = build_service(settings)
        service.dispatcher.attach(seen.append)
        stop = asyncio.Event()
        runner = asyncio.create_task(service.run(stop))
        await asyncio.wait_for(service.ready.wait(), 60)
        await asyncio.sleep(3)
        observed["health_failing"] = await asyncio.to_thread(get, f"{api}/health")
        observed["metrics_failing"] = await asyncio.to_thread(get, f"{api}/metrics")
        trades_while_failing = sum(isinstance(e, Trade) for e in seen)
        blocker.unlink()  # the lake becomes writable
        await asyncio.sleep(4)
        observed["health_ok"] = await asyncio.to_thread(get, f"{api}/health")
        observed["metrics_ok"] = await asyncio.to_thread(get, f"{api}/metrics")
        observed["trades"] = (trades_while_failing, sum(isinstance(e, Trade) for e in seen))
        stop.set()
        await runner

    with SimulatorThread(settings.sim):
        asyncio.run(scenario())

    status, body = observed["health_failing"]  # type: ignore[misc]
    report = json.loads(body)
    assert status == 503 and report["status"] == "degraded"
    assert report["lake"]["failing"] and report["lake"]["last_error"]
    assert any(problem.startswith("lake:") for problem in report["problems"])
    assert all(feed["healthy"] for feed in report["feeds"].values())
    text = observed["metrics_failing"][1].decode()  # type: ignore[index]
    assert metric(text, "spreadlake_lake_rows_buffered") > 0 or metric(text, "spreadlake_lake_rows_unwritten") > 0
    assert metric(text, "spreadlake_lake_write_errors") >= 1
    before, after = observed["trades"]  # type: ignore[misc]
    assert before > 0 and after > before, "streaming stopped while the lake was failing"

    status, body = observed["health_ok"]  # type: ignore[misc]
    assert status == 200, body
    text = observed["metrics_ok"][1].decode()  # type: ignore[index]
    assert metric(text, "spreadlake_lake_rows_written") > 0
    assert metric(text, "spreadlake_events_total") > 0
    assert metric(text, "spreadlake_feed_healthy") == 4
    assert list((tmp_path / "lake" / "market_data").glob("trade/*/*/*.parquet"))
