"""Point a cryptofeed feed class at other endpoints (a simulator, a replay server, a proxy).

cryptofeed keeps endpoints as class attributes, so a subclass that overrides them (keeping `id`
and every URL path) redirects a feed while its parsing and book logic run unchanged. A few feeds
call hard-coded URLs through `http_sync` (KuCoin's bullet-public token); those hosts are rewritten
too. The websocket TLS context goes into each endpoint's connection options.
"""

from __future__ import annotations

import dataclasses
import ssl
from typing import Any
from urllib.parse import urlsplit

from cryptofeed.connection import HTTPSync, WebsocketEndpoint
from cryptofeed.feed import Feed


def rebase(url: str, base: str) -> str:
    """`wss://stream.bybit.com/v5/public/spot` rebased on `wss://127.0.0.1:9` -> `wss://127.0.0.1:9/v5/public/spot`."""
    original = urlsplit(url)
    target = urlsplit(base)
    path = target.path.rstrip("/") + original.path
    query = f"?{original.query}" if original.query else ""
    return f"{target.scheme}://{target.netloc}{path}{query}"


class RewritingHTTPSync(HTTPSync):
    """cryptofeed's blocking HTTP client, with some URL prefixes sent elsewhere."""

    def __init__(self, prefixes: dict[str, str]) -> None:
        super().__init__()
        self._prefixes = prefixes

    def _rewrite(self, address: str) -> str:
        for prefix, base in self._prefixes.items():
            if address.startswith(prefix):
                return rebase(address, base)
        return address

    def read(self, address: str, *args: Any, **kwargs: Any) -> Any:
        return super().read(self._rewrite(address), *args, **kwargs)

    def write(self, address: str, *args: Any, **kwargs: Any) -> Any:
        return super().write(self._rewrite(address), *args, **kwargs)


def redirect(
    feed_cls: type[Feed],
    rest_url: str,
    ws_url: str,
    ssl_context: ssl.SSLContext | None,
    extra_rest_hosts: tuple[str, ...] = (),
) -> type[Feed]:
    ws_endpoints = [_ws_endpoint(ep, ws_url, ssl_context) for ep in (feed_cls.websocket_endpoints or [])]
    rest_endpoints = [dataclasses.replace(ep, address=rebase(ep.address, rest_url), sandbox=None) for ep in (feed_cls.rest_endpoints or [])]
    prefixes = {ep.address: rest_url for ep in (feed_cls.rest_endpoints or [])}
    prefixes.update({host: rest_url for host in extra_rest_hosts})

    def __init__(self: Feed, *args: Any, **kwargs: Any) -> None:
        feed_cls.__init__(self, *args, **kwargs)
        # Feeds that build their websocket endpoint at run time (KuCoin's token reply) still need our TLS trust.
        for endpoint in self.websocket_endpoints or []:
            if ssl_context is not None and endpoint.address.startswith("wss://"):
                endpoint.options["ssl"] = ssl_context

    namespace = {
        "__init__": __init__,
        "websocket_endpoints": ws_endpoints,
        "rest_endpoints": rest_endpoints,
        "http_sync": RewritingHTTPSync(prefixes),
        "__module__": __name__,
    }
    return type(f"Redirected{feed_cls.__name__}", (feed_cls,), namespace)


def _ws_endpoint(endpoint: WebsocketEndpoint, ws_url: str, ssl_context: ssl.SSLContext | None) -> WebsocketEndpoint:
    options = dict(endpoint.options or {})
    if ssl_context is not None:
        options["ssl"] = ssl_context
    return dataclasses.replace(endpoint, address=rebase(endpoint.address, ws_url), sandbox=None, options=options)


__all__ = ["RewritingHTTPSync", "rebase", "redirect"]
