"""The collector's REST API as a component of the collector's event loop (served by shared/http_server.py).

Bound anywhere but loopback it needs `api.token`: the settings refuse to validate without one, and the
component refuses to start without one (the same rule as the fan-out server, shared/auth.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client.registry import CollectorRegistry

from collector.api.app import create_app
from shared.auth import refuse_exposed_without_token
from shared.http_server import HttpServer
from shared.settings.api import ApiSettings


class ApiComponent(HttpServer):
    name = "api"

    def __init__(self, settings: ApiSettings, health: Callable[[], dict[str, Any]], registry: CollectorRegistry) -> None:
        refuse_exposed_without_token("api", settings.host, settings.token)
        super().__init__(create_app(settings, health, registry), settings.host, settings.port, "REST API", "/health, /metrics")
