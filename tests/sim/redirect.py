"""Point cryptofeed's real feed classes at a simulated venue, through the collector's own redirect.

One addition for these tests only: cryptofeed 2.4.1 leaves `tickers` out of Bybit's spot endpoint,
so it never subscribes spot tickers (the collector derives Bybit's spot tickers from the book
instead); here the channel is added back so the simulator's spot ticker stream is exercised too.
"""

from __future__ import annotations

import dataclasses
import ssl

from cryptofeed.defines import TICKER
from cryptofeed.exchanges.bybit import Bybit
from cryptofeed.feed import Feed

from collector.redirect import redirect as collector_redirect
from collector.venues import venue_for


def redirect(feed: type[Feed], rest_url: str, ws_url: str, context: ssl.SSLContext) -> type[Feed]:
    """A subclass of `feed` that talks to `rest_url` (http) and `ws_url` (wss) instead of the exchange."""
    venue = venue_for(feed.id.lower())
    cls = collector_redirect(feed, rest_url, ws_url, context, venue.extra_rest_hosts)
    if issubclass(feed, Bybit):
        cls.websocket_endpoints = [
            dataclasses.replace(ep, channel_filter=(*ep.channel_filter, feed.websocket_channels[TICKER]))
            if ep.address.endswith("/spot") and ep.channel_filter is not None else ep
            for ep in cls.websocket_endpoints
        ]
    return cls
