"""The registry of exchanges the collector knows specifics of: the one place that lists them.

Any other exchange cryptofeed supports still works (replay of its recordings, live feeds) through
`venue_for`, with cryptofeed's defaults and ticker sizes read by the generic rules of `generic.py`.
"""

from __future__ import annotations

from cryptofeed.exchanges import EXCHANGE_MAP

from collector.venues import binance, bybit, gateio, generic, kucoin
from collector.venues.base import Venue

VENUES: dict[str, Venue] = {v.VENUE.name: v.VENUE for v in (binance, bybit, gateio, kucoin)}


def known_exchanges() -> list[str]:
    return sorted({name.lower() for name in EXCHANGE_MAP})


def venue_for(name: str) -> Venue:
    if name in VENUES:
        return VENUES[name]
    feed = EXCHANGE_MAP.get(name.upper())
    if feed is None:
        raise KeyError(name)
    return Venue(name=name, feed=feed, ticker_sizes=generic.ticker_sizes)


__all__ = ["VENUES", "Venue", "known_exchanges", "venue_for"]
