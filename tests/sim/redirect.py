"""Point cryptofeed's real feed classes at a simulated venue (stand-in for the collector's redirect module).

A subclass keeps the exchange `id` and overrides the endpoint class attributes with the same paths
on the simulator's host and ports, trusting the simulator's CA on its websockets.
"""

from __future__ import annotations

import ssl
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from cryptofeed.connection import HTTPSync, WebsocketEndpoint
from cryptofeed.defines import TICKER
from cryptofeed.exchanges.bybit import Bybit
from cryptofeed.exchanges.kucoin import KuCoin
from cryptofeed.feed import Feed

KUCOIN_API = "https://api.kucoin.com"


class _RewritingHTTPSync(HTTPSync):
    """KuCoin builds its bullet-public URL in the constructor: rewrite the host there."""

    def __init__(self, origin: str, target: str) -> None:
        self._origin, self._target = origin, target

    def _rewrite(self, address: str) -> str:
        return self._target + address[len(self._origin):] if address.startswith(self._origin) else address

    def read(self, address: str, *args: Any, **kwargs: Any) -> Any:
        return super().read(self._rewrite(address), *args, **kwargs)

    def write(self, address: str, *args: Any, **kwargs: Any) -> Any:
        return super().write(self._rewrite(address), *args, **kwargs)


def _moved(address: str, base: str) -> str:
    parts = urlsplit(address)
    return base + parts.path + (f"?{parts.query}" if parts.query else "")


def redirect(feed: type[Feed], rest_url: str, ws_url: str, context: ssl.SSLContext) -> type[Feed]:
    """A subclass of `feed` that talks to `rest_url` (http) and `ws_url` (wss) instead of the exchange."""
    rest = [replace(ep, address=rest_url, sandbox=None) for ep in feed.rest_endpoints]
    attrs: dict[str, Any] = {"rest_endpoints": rest}
    if feed.websocket_endpoints:
        sockets = []
        for ep in feed.websocket_endpoints:
            channels = ep.channel_filter
            if issubclass(feed, Bybit) and ep.address.endswith("/spot") and channels is not None:
                # cryptofeed 2.4.1 leaves `tickers` out of its spot endpoint, so it never subscribes
                # spot tickers; the collector needs them, the simulator serves them.
                channels = (*channels, feed.websocket_channels[TICKER])
            options = {**ep.options, "ssl": context}
            sockets.append(WebsocketEndpoint(_moved(ep.address, ws_url), instrument_filter=ep.instrument_filter,
                                             channel_filter=channels, limit=ep.limit, options=options,
                                             authentication=ep.authentication))
        attrs["websocket_endpoints"] = sockets
    if issubclass(feed, KuCoin):
        attrs["http_sync"] = _RewritingHTTPSync(KUCOIN_API, rest_url)

        def __init__(self: KuCoin, **kwargs: Any) -> None:
            feed.__init__(self, **kwargs)
            # The websocket endpoint comes from the bullet-public reply, made in the constructor.
            for endpoint in self.websocket_endpoints:
                endpoint.options["ssl"] = context

        attrs["__init__"] = __init__
    return type(f"Sim{feed.__name__}", (feed,), attrs)

