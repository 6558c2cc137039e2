"""The trader's API routes: status, sessions, strategy instances, the kill switch, safe mode and metrics.

The handlers are coroutines, so they run on the trader's own event loop, between two market events:
they read the engine whole and change it the way a market event would (a sync handler would run in a
worker thread, halfway through an event). Bound anywhere but loopback, every route but the API's
description needs the token (shared/auth.py, as the collector's listeners).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from shared.auth import UNAUTHORIZED, supplied_token, token_matches
from shared.trading import StrategyInstance, encode
from trader.api.bodies import (
    Conflict,
    InstanceRejected,
    InstanceSettings,
    KillRequest,
    SafeModeExit,
    SessionBody,
    StatusBody,
)
from trader.engine import KillReport

_REF = "#/components/schemas/{name}"
_ERROR_SCHEMA = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}


class Control(Protocol):
    """What the API may see and do of the running trader (`trader.service.TraderService`)."""

    def status(self) -> StatusBody: ...
    def sessions(self) -> tuple[SessionBody, ...]: ...
    def instances(self) -> tuple[StrategyInstance, ...]: ...
    def instance(self, instance_id: str) -> StrategyInstance: ...  # KeyError: unknown
    def add_instance(self, definition: InstanceSettings) -> StrategyInstance: ...  # InstanceRejected, Conflict
    def pause_instance(self, instance_id: str) -> StrategyInstance: ...
    def resume_instance(self, instance_id: str) -> StrategyInstance: ...
    def remove_instance(self, instance_id: str) -> StrategyInstance: ...
    async def kill(self, flatten: bool, reason: str) -> KillReport: ...  # Conflict: not trading
    def exit_safe_mode(self) -> SafeModeExit: ...


def create_app(control: Control, registry: CollectorRegistry, token: str | None = None) -> FastAPI:
    app = FastAPI(title="spreadlake trader", version="1",
                  description="Status, strategy instances, kill switch and metrics of a running `spreadlake trader` (docs/trader.md).")
    guarded = [Depends(_require(token))] if token else []
    (status_ref, sessions_ref, instance_ref, kill_ref, safe_ref), schemas = msgspec.json.schema_components(
        [StatusBody, tuple[SessionBody, ...], StrategyInstance, KillReport, SafeModeExit], ref_template=_REF)
    instances_ref = {"type": "array", "items": instance_ref}
    unauthorized = _errors({401: UNAUTHORIZED}) if token else {}
    unknown = _errors({404: "No strategy instance with this id"})

    def documented(schema: dict[str, Any], description: str, code: int = 200) -> dict[int | str, dict[str, Any]]:
        return {code: {"description": description, "content": {"application/json": {"schema": schema}}}, **unauthorized}

    @app.get("/status", summary="State, balances, positions, open orders, recent arbitrages, PnL, risk and market",
             dependencies=guarded, response_class=Response, responses=documented(status_ref, "The trader's status"))
    async def get_status() -> Response:
        return _json(control.status())

    @app.get("/sessions", summary="Every trader run, newest first, with its end reason and totals", dependencies=guarded,
             response_class=Response, responses=documented(sessions_ref, "Sessions"))
    async def get_sessions() -> Response:
        return _json(control.sessions())

    @app.get("/instances", summary="The strategy instances", dependencies=guarded, response_class=Response,
             responses=documented(instances_ref, "Strategy instances, by id"))
    async def get_instances() -> Response:
        return _json(control.instances())

    @app.post("/instances", summary="Add a strategy instance (described as in the settings file); it trades at once",
              dependencies=guarded, response_class=Response, status_code=201,
              responses={**documented(instance_ref, "The instance as added", 201), **_errors({409: "The id is in use"})})
    async def post_instance(definition: InstanceSettings) -> Response:
        try:
            return _json(control.add_instance(definition), 201)
        except InstanceRejected as error:
            raise RequestValidationError([{"type": "value_error", "loc": ("body", error.field), "msg": error.problem,
                                           "input": None}]) from None
        except Conflict as error:
            raise HTTPException(409, str(error)) from None

    @app.get("/instances/{instance_id}", summary="One strategy instance", dependencies=guarded, response_class=Response,
             responses={**documented(instance_ref, "The instance"), **unknown})
    async def get_instance(instance_id: str) -> Response:
        return _json(_known(control.instance, instance_id))

    @app.post("/instances/{instance_id}/pause", summary="Pause a strategy instance: it proposes nothing until resumed",
              dependencies=guarded, response_class=Response, responses={**documented(instance_ref, "The paused instance"), **unknown})
    async def pause_instance(instance_id: str) -> Response:
        return _json(_known(control.pause_instance, instance_id))

    @app.post("/instances/{instance_id}/resume", summary="Resume a paused strategy instance", dependencies=guarded,
              response_class=Response, responses={**documented(instance_ref, "The resumed instance"), **unknown})
    async def resume_instance(instance_id: str) -> Response:
        return _json(_known(control.resume_instance, instance_id))

    @app.delete("/instances/{instance_id}", summary="Remove a strategy instance (its arbitrages under way finish)",
                dependencies=guarded, response_class=Response, responses={**documented(instance_ref, "The removed instance"), **unknown})
    async def delete_instance(instance_id: str) -> Response:
        return _json(_known(control.remove_instance, instance_id))

    @app.post("/kill", summary="Kill switch: stop new proposals, cancel open orders, report the exposure left",
              dependencies=guarded, response_class=Response,
              responses={**documented(kill_ref, "What was canceled (and flattened), and the exposure left per venue and asset"),
                         **_errors({409: "The trader is not trading (stopping or stopped)"})})
    async def post_kill(request: KillRequest | None = None) -> Response:
        request = request or KillRequest()
        try:
            return _json(await control.kill(request.flatten, request.reason))
        except Conflict as error:
            raise HTTPException(409, str(error)) from None

    @app.post("/safe-mode/exit", summary="End safe mode now (an operator's decision); a cause that still holds re-enters it",
              dependencies=guarded, response_class=Response,
              responses={**documented(safe_ref, "Safe mode after the exit"), **_errors({409: "The trader has stopped"})})
    async def post_safe_mode_exit() -> Response:
        try:
            return _json(control.exit_safe_mode())
        except Conflict as error:
            raise HTTPException(409, str(error)) from None

    @app.get("/metrics", summary="Prometheus metrics (text exposition format)", dependencies=guarded,
             response_class=PlainTextResponse, responses=unauthorized)
    async def get_metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, body in schemas.items():
                components.setdefault(name, body)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _json(value: object, status: int = 200) -> Response:
    return Response(encode(value), status_code=status, media_type="application/json")


def _known(action: Callable[[str], StrategyInstance], instance_id: str) -> StrategyInstance:
    try:
        return action(instance_id)
    except KeyError as error:
        raise HTTPException(404, str(error.args[0]) if error.args else f"no strategy instance {instance_id!r}") from None


def _errors(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    # Spelled out: FastAPI would document extra responses in the route's own media type.
    return {code: {"description": text, "content": {"application/json": {"schema": _ERROR_SCHEMA}}} for code, text in codes.items()}


def _require(token: str) -> Callable[[Request], Awaitable[None]]:
    """The collector's check (shared/auth.py): a bearer header or `?token=`, compared in constant time."""

    async def check(request: Request) -> None:
        if not token_matches(supplied_token(request.headers.get("Authorization"), request.url.query), token):
            raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})

    return check
