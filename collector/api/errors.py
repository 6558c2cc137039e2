"""One JSON error shape for every failure of the REST API, and the handlers that produce it.

A bad parameter is HTTP 422 naming the parameter (FastAPI's own validation errors are reshaped to
the same body), an unknown analysis, exchange or symbol is 404, a result that does not exist yet
is 503, and anything unexpected is a JSON 500 (logged), never an HTML or plain-text page.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from collector.api.models import ErrorBody, FieldProblem

LOG = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, detail: str, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problems = problems or []


def bad_parameter(field: str, problem: str, location: str = "query") -> ApiError:
    return ApiError(422, f"{field}: {problem}", [FieldProblem(field=field, location=location, problem=problem)])


def not_found(what: str, value: str, known: list[str]) -> ApiError:
    return ApiError(404, f"unknown {what} {value!r} (known: {', '.join(known) or 'none'})")


def no_result(detail: str) -> ApiError:
    return ApiError(503, detail)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for these error statuses (422 replaces FastAPI's own validation-error schema)."""
    meaning = {401: "Missing or wrong token", 404: "Unknown analysis, exchange or symbol",
               422: "A bad parameter, named in `detail` and `errors`", 503: "No result yet (nothing received or stored)"}
    return {status: {"model": ErrorBody, "description": meaning[status]} for status in statuses}


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _api_error(_: Request, error: ApiError) -> JSONResponse:
    return _body(error.status, error.detail, error.problems)


async def _validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
    problems = []
    for item in error.errors():
        location = str(item["loc"][0]) if item.get("loc") else "query"
        field = ".".join(str(part) for part in item.get("loc", ())[1:]) or location
        problems.append(FieldProblem(field=field, location=location, problem=str(item.get("msg", "invalid"))))
    return _body(422, "; ".join(f"{p.field}: {p.problem}" for p in problems) or "invalid request", problems)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    LOG.error("REST API: %s %s failed: %s (traceback follows from the server)", request.method, request.url.path, type(error).__name__)
    return _body(500, f"internal error ({type(error).__name__}); the collector's log has the details", [])


def _body(status: int, detail: str, problems: list[FieldProblem]) -> JSONResponse:
    return JSONResponse(ErrorBody(detail=detail, errors=problems).model_dump(), status_code=status)
