"""The REST API's routes over real HTTP, beside a real fan-out server whose clients come and go."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections import Counter

from websockets.asyncio.client import connect

from collector.api import ApiComponent
from collector.app import build_service
from collector.fanout import FanoutComponent
from shared.settings import settings_from_mapping
from tests.collector.api.harness import get

CLIENTS = 50


def test_health_and_metrics_never_fail_while_fifty_stream_clients_connect_and_disconnect() -> None:
    settings = settings_from_mapping({"server": {"port": 0}, "api": {"port": 0}, "lake": {"enabled": False}})
    service = build_service(settings)  # the collector's own wiring, without feeds
    fanout = next(c for c in service.components if isinstance(c, FanoutComponent))
    api = next(c for c in service.components if isinstance(c, ApiComponent))
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def poll(path: str) -> None:
        while not stop.is_set():
            statuses[get(api.url + path)[0]] += 1

    async def churn(until: float) -> None:
        while time.monotonic() < until:
            async with connect(fanout.url, compression=None, proxy=None) as ws:
                await ws.recv()  # hello: the session is registered
                await asyncio.sleep(0.005)

    async def scenario() -> None:
        for component in service.components:
            await component.start()
        pollers = [threading.Thread(target=poll, args=(path,)) for path in ("/health", "/metrics") * 2]
        try:
            for poller in pollers:
                poller.start()
            until = time.monotonic() + 8
            await asyncio.gather(*(churn(until) for _ in range(CLIENTS)))
        finally:
            stop.set()
            for poller in pollers:
                await asyncio.to_thread(poller.join)
            for component in reversed(service.components):
                await component.stop()

    # Frequent thread switches, so a read done off the event loop is caught halfway through a change
    # of the session set (before the handlers ran on the loop this failed 4 runs out of 4).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        asyncio.run(scenario())
    finally:
        sys.setswitchinterval(interval)
    assert sum(statuses.values()) > 100, statuses
    assert set(statuses) == {200}, statuses
