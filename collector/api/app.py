"""The REST API routes. Dashboards poll `/health`; Prometheus scrapes `/metrics`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry


def create_app(health: Callable[[], dict[str, Any]], registry: CollectorRegistry) -> FastAPI:
    app = FastAPI(title="spreadlake collector", version="1")

    @app.get("/health", summary="Feed, lake and fan-out health; HTTP 503 while degraded")
    def get_health() -> JSONResponse:
        report = health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @app.get("/metrics", summary="Prometheus metrics")
    def get_metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
