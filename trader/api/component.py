"""The trader's API as a component of the trader's event loop (served by shared/http_server.py).

Bound anywhere but loopback it needs `trader.api.token`: the settings refuse to validate without one,
and the component refuses to start without one (shared/auth.py).
"""

from __future__ import annotations

from prometheus_client.registry import CollectorRegistry
from pydantic import SecretStr

from shared.auth import refuse_exposed_without_token
from shared.http_server import HttpServer
from trader.api.app import Control, create_app
from trader.config import ApiConfig


class ApiComponent(HttpServer):
    name = "trader-api"

    def __init__(self, api: ApiConfig, control: Control, registry: CollectorRegistry) -> None:
        refuse_exposed_without_token("trader.api", api.host, SecretStr(api.token) if api.token else None)
        super().__init__(create_app(control, registry, api.token), api.host, api.port, "trader API",
                         "/status, /instances, /kill, /metrics; /docs")
