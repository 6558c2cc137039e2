"""The stream contract, as a new user meets it after `make demo`: the demo config with the simulator
and the collector as separate processes, `spreadlake tail` with no filters and the reference client
subscribed to `*` for 30 s. Every frame decodes with the typed decoder and validates against
docs/schemas; every venue delivers tickers, trades and books, and status events arrive too.
(`tail` once ended within a second on the first Gate.io ticker, which carries no sizes.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import threading
import time
from collections import Counter
from contextlib import aclosing
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from websockets.asyncio.client import connect

from shared.client import FanoutClient, Notice, NoticeKind, Received
from shared.events import decode_json
from shared.protocol import decode_server_message
from tests.e2e.market import ROOT, VENUES, market_config, write_config
from tests.e2e.test_cli import spreadlake, stop

SECONDS = 30.0
SCHEMAS = ROOT / "docs" / "schemas"
DEMO_RATE = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())["sim"]["rate"]


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the collector exited: {log.read_text()}"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port}")


def validator(message_type: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / f"{message_type}.json").read_text()))


class Lines(threading.Thread):
    """Collects a process's stdout lines as they come (so the pipe never fills)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.lines: list[bytes] = []
        self.start()

    def run(self) -> None:
        for line in self.stream:
            self.lines.append(line)


async def follow(url: str) -> tuple[Counter[tuple[str, str]], list[Notice], list[dict[str, Any]]]:
    """The reference client and a raw connection side by side, both subscribed to everything."""
    counts: Counter[tuple[str, str]] = Counter()
    notices: list[Notice] = []
    frames: list[dict[str, Any]] = []

    async def reference() -> None:
        async with aclosing(FanoutClient(url).stream()) as items:
            async for item in items:
                if isinstance(item, Received):
                    counts[(item.event.exchange, type(item.event).__name__)] += 1
                else:
                    notices.append(item)

    async def raw() -> None:
        async with connect(url, compression=None, max_size=None, proxy=None) as ws:
            await ws.send(json.dumps({"op": "subscribe", "channels": ["*"], "exchanges": ["*"], "symbols": ["*"], "id": 1}))
            async for data in ws:
                decode_server_message(data)  # the typed decoder: raises on any frame it cannot read
                frames.append(json.loads(data))

    tasks = [asyncio.create_task(reference()), asyncio.create_task(raw())]
    done, _ = await asyncio.wait(tasks, timeout=SECONDS)
    for task in tasks:
        task.cancel()
    for task in done:
        task.result()  # a ClientError or a decoding error ended it early
    return counts, notices, frames


def test_tail_and_reference_client_decode_every_frame_of_the_demo_stream_for_30_s(tmp_path: Path) -> None:
    config = market_config(tmp_path, rate=DEMO_RATE)
    path = write_config(tmp_path, config)
    sim = spreadlake("sim", "--config", str(path), stderr=subprocess.DEVNULL)
    collector_log, tail_log = tmp_path / "collector.log", tmp_path / "tail.log"
    with collector_log.open("wb") as log:
        collector = spreadlake("collector", "--config", str(path), stderr=log)
    tail = None
    try:
        wait_for_port(config["server"]["port"], collector, collector_log)
        with tail_log.open("wb") as log:
            tail = spreadlake("tail", "--config", str(path), stdout=subprocess.PIPE, stderr=log)
        tail_out = Lines(tail.stdout)
        counts, notices, frames = asyncio.run(follow(f"ws://127.0.0.1:{config['server']['port']}/"))
        assert tail.poll() is None, f"tail exited early: {tail_log.read_text()}"
        assert stop(tail) == 0
        tail_out.join(timeout=10)
    finally:
        for proc in (tail, collector, sim):
            if proc is not None and proc.poll() is None:
                stop(proc)
        if tail is not None and tail.stdout is not None:
            tail.stdout.close()

    assert not [n for n in notices if n.kind not in (NoticeKind.CONNECTED, NoticeKind.DISCONNECTED)], notices
    for kind in ("Ticker", "Trade", "BookTop"):
        missing = [v for v in VENUES if counts[(v, kind)] == 0]
        assert not missing, f"no {kind} from {missing} through the reference client: {counts}"
    assert sum(n for (_, kind), n in counts.items() if kind == "Status") > 0

    validators = {t: validator(t) for t in {f["type"] for f in frames}}
    for frame in frames:
        validators[frame["type"]].validate(frame)
    events = [e for f in frames if f["type"] in ("events", "snapshot") for e in f["events"]]
    assert {(e["exchange"], e["channel"]) for e in events} >= {(v, c) for v in VENUES for c in ("ticker", "trade", "book")}
    assert any(e["channel"] == "ticker" and e["exchange"] == "gateio" and e["bid_size"] is None for e in events)
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))

    tail_events = [decode_json(line) for line in tail_out.lines]  # the typed decoder, line by line
    assert {(e.exchange, type(e).__name__) for e in tail_events} >= {(v, k) for v in VENUES for k in ("Ticker", "Trade", "BookTop")}
    assert any(type(e).__name__ == "Status" for e in tail_events)
