"""KuCoin spot: the bullet-public token URL is hard-coded in the feed's constructor, so its host is
redirected with the REST endpoints; the ticker frame carries best bid/ask sizes."""

from __future__ import annotations

from typing import Any

from cryptofeed.exchanges import KuCoin

from collector.venues.base import Venue


def _ticker_sizes(raw: Any) -> tuple[float, float] | None:
    data = raw["data"]
    return float(data["bestBidSize"]), float(data["bestAskSize"])


VENUE = Venue(name="kucoin", feed=KuCoin, extra_rest_hosts=("https://api.kucoin.com",), ticker_sizes=_ticker_sizes)
