"""Gate.io spot: cryptofeed's feed as it is. `spot.tickers` carries no best bid/ask sizes."""

from __future__ import annotations

from cryptofeed.exchanges import Gateio

from collector.venues.base import Venue

VENUE = Venue(name="gateio", feed=Gateio)
