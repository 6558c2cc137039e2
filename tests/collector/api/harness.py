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
from collector.metrics import CollectorMetrics, registry_for
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
async def running_api(**api: Any) -> AsyncIterator[str]:
    """The collector's REST API over real sockets (port 0), with a healthy empty collector behind it; yields its base URL."""
    settings = settings_from_mapping({"api": {"port": 0, **api}})
    health = HealthTracker()
    component = ApiComponent(settings.api, health.snapshot, registry_for(CollectorMetrics(dict, health, Dispatcher().stats)))
    await component.start()
    try:
        port = component.url.rsplit(":", 1)[1]
        yield f"http://127.0.0.1:{port}"  # a wildcard bind is reached on loopback too
    finally:
        await component.stop()
