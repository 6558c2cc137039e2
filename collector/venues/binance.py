"""Binance spot: cryptofeed's feed as it is; bookTicker frames carry best bid/ask sizes (`B`, `A`)."""

from __future__ import annotations

from typing import Any

from cryptofeed.exchanges import Binance

from collector.venues.base import Venue


def _ticker_sizes(raw: Any) -> tuple[float, float] | None:
    return float(raw["B"]), float(raw["A"])


VENUE = Venue(name="binance", feed=Binance, ticker_sizes=_ticker_sizes)
