"""Helpers for the REST API tests: a running API component on a free port and a blocking HTTP GET."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from collector.api import ApiComponent
from collector.dispatch import Dispatcher
from collector.health import HealthTracker
from collector.latest import LatestMarket
from collector.metrics import CollectorMetrics, registry_for
from shared.clock import Clock, now_ns
from shared.settings import settings_from_mapping

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    """(status, content type, body), for error statuses too."""
    try:
        with _OPENER.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as reply:
            return int(reply.status), reply.headers.get("Content-Type", ""), reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


@asynccontextmanager
async def running_api(config: dict[str, Any] | None = None, market: LatestMarket | None = None, clock: Clock = now_ns,
                      **api: Any) -> AsyncIterator[str]:
    """The collector's REST API over real sockets (port 0), with a healthy collector behind it that has
    received what `market` holds (default: nothing), settings from `config`; yields its base URL."""
    config = config or {}
    settings = settings_from_mapping({**config, "api": {**config.get("api", {}), "port": 0, **api}})
    health = HealthTracker()
    component = ApiComponent(settings, health.snapshot, registry_for(CollectorMetrics(dict, health, Dispatcher().stats)),
                             market or LatestMarket(), clock)
    await component.start()
    try:
        port = component.url.rsplit(":", 1)[1]
        yield f"http://127.0.0.1:{port}"  # a wildcard bind is reached on loopback too
    finally:
        await component.stop()
