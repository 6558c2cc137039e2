"""The collector's REST API as a component of the collector's event loop (served by shared/http_server.py).

Bound anywhere but loopback it needs `api.token`: the settings refuse to validate without one, and the
component refuses to start without one (the same rule as the fan-out server, shared/auth.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client.registry import CollectorRegistry

from collector.api.app import create_app
from collector.latest import LatestMarket
from shared.auth import refuse_exposed_without_token
from shared.clock import Clock, now_ns
from shared.http_server import HttpServer
from shared.settings import Settings


class ApiComponent(HttpServer):
    name = "api"

    def __init__(self, settings: Settings, health: Callable[[], dict[str, Any]], registry: CollectorRegistry, market: LatestMarket,
                 clock: Clock = now_ns) -> None:
        api = settings.api
        refuse_exposed_without_token("api", api.host, api.token)
        super().__init__(create_app(settings, health, registry, market, clock), api.host, api.port, "REST API",
                         "/health, /metrics, /v1/exchanges, /v1/symbols, /v1/tickers, /v1/spreads, /v1/summary/{analysis}, /v1/candles")
