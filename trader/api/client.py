"""A small blocking client of a running trader's API, for the command line and the pre-start check.

It reaches a wildcard bind on loopback, sends the token as a bearer header, never goes through a proxy,
and turns every failure into `ApiError` with a sentence that says what happened.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from trader.config import ApiConfig

_WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ApiError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, or None when nothing answered


def api_url(api: ApiConfig) -> str:
    host = _WILDCARD_HOSTS.get(api.host, api.host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{api.port}"


class TraderApi:
    def __init__(self, url: str, token: str | None = None, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = timeout_s

    @classmethod
    def of(cls, api: ApiConfig, timeout_s: float = 10.0) -> TraderApi:
        return cls(api_url(api), api.token, timeout_s)

    def get(self, path: str) -> Any:
        return self._call("GET", path, None)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call("POST", path, body)

    def delete(self, path: str) -> Any:
        return self._call("DELETE", path, None)

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self._headers, **({"Content-Type": "application/json"} if data is not None else {})}
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with _OPENER.open(request, timeout=self._timeout) as reply:
                return json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ApiError(f"{method} {self.url}{path}: HTTP {exc.code}: {_detail(exc.read())}", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(f"no trader API answers at {self.url} ({reason})") from None


def _detail(body: bytes) -> str:
    try:
        detail = json.loads(body).get("detail", body.decode(errors="replace"))
    except (ValueError, AttributeError):
        return body.decode(errors="replace")[:300]
    if isinstance(detail, list):  # a 422: each problem with the field it names
        return "; ".join(f"{'.'.join(str(p) for p in item.get('loc', ())[1:]) or 'body'}: {item.get('msg', '')}" for item in detail)
    return str(detail)
