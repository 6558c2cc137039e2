"""The REST API's wiring. Dashboards poll `/health`; Prometheus scrapes `/metrics`; the `/v1` routes serve
what is collected, the latest tickers and live spreads (collector/api/live.py), and the analyzer's results
and candles (collector/api/summaries.py), with one JSON error shape (collector/api/errors.py).

The handlers are coroutines on purpose: they run on the collector's event loop, where every
component they read (feed health, the fan-out's sessions, the lake's counters) changes, so a report
never sees a component halfway through a change (a sync handler would run in a worker thread).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from collector.api import errors
from collector.api.live import live_router
from collector.api.summaries import summary_router
from collector.latest import LatestMarket
from shared.auth import UNAUTHORIZED, supplied_token, token_matches, token_value
from shared.clock import Clock, now_ns
from shared.settings import Settings

# Spelled out: FastAPI would document extra responses in the route's own media type (text/plain for /metrics).
_ERROR_SCHEMA = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {401: {"description": UNAUTHORIZED, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}}
_DEGRADED: dict[int | str, dict[str, Any]] = {503: {"description": "Degraded: the same report, with `problems`",
                                                    "content": {"application/json": {"schema": {"type": "object"}}}}}


def create_app(settings: Settings, health: Callable[[], dict[str, Any]], registry: CollectorRegistry, market: LatestMarket,
               clock: Clock = now_ns) -> FastAPI:
    app = FastAPI(title="spreadlake collector", version="1",
                  description="Health, metrics, live tickers and spreads, analyzer summaries and candles of a running collector (docs/api.md).")
    token = token_value(settings.api.token)
    guarded = [Depends(_require(token))] if token else []
    metrics_guard = [] if settings.api.metrics_public else guarded
    errors.install(app)

    @app.get("/health", summary="Feed, lake and fan-out health; HTTP 503 while degraded", dependencies=guarded,
             responses={**_DEGRADED, **(_UNAUTHORIZED if guarded else {})})
    async def get_health() -> JSONResponse:
        report = health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @app.get("/metrics", summary="Prometheus metrics (text exposition format)", dependencies=metrics_guard,
             response_class=PlainTextResponse, responses=_UNAUTHORIZED if metrics_guard else {})
    async def get_metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(live_router(settings, market, clock, guarded))
    app.include_router(summary_router(settings, clock, guarded))
    return app


def _require(token: str) -> Callable[[Request], Awaitable[None]]:
    """The fan-out server's check (shared/auth.py): a bearer header or `?token=`, compared in constant time."""

    async def check(request: Request) -> None:
        if not token_matches(supplied_token(request.headers.get("Authorization"), request.url.query), token):
            raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})

    return check
