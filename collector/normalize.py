"""Pure conversion of cryptofeed's parsed objects into spreadlake's event model.

cryptofeed hands us Decimal prices and float-second timestamps; the model wants float64 and int64
nanoseconds. When the exchange sends no timestamp of its own (Binance's bookTicker, REST book
snapshots), `ts_event` falls back to the receive time. Book events are built in `ingest`
(from `booktop`), where the previous top of each book is at hand.
"""

from __future__ import annotations

import math
from typing import Any

from shared.events import Side, Ticker, Trade

_NS = 1_000_000_000


def to_ns(seconds: float | None, fallback: int) -> int:
    """cryptofeed means seconds, but some feeds pass the exchange's milliseconds through (Bybit's book
    and ticker `ts`); the magnitude tells the unit apart for any date between 1973 and 5138."""
    if seconds is None:
        return fallback
    if seconds < 1e11:
        return int(seconds * _NS)
    if seconds < 1e14:
        return int(seconds * 1_000_000)  # milliseconds
    if seconds < 1e17:
        return int(seconds * 1_000)  # microseconds
    return int(seconds)  # nanoseconds


def ticker(exchange: str, symbol: str, obj: Any, ts_recv: int, sizes: tuple[float, float] | None) -> Ticker:
    bid_size, ask_size = sizes if sizes is not None else (math.nan, math.nan)
    stamp = obj.timestamp
    return Ticker(exchange, symbol, ts_recv if stamp is None else to_ns(stamp, ts_recv), ts_recv,
                  float(obj.bid), bid_size, float(obj.ask), ask_size)


def trade(exchange: str, symbol: str, obj: Any, ts_recv: int) -> Trade:
    stamp = obj.timestamp
    return Trade(exchange, symbol, ts_recv if stamp is None else to_ns(stamp, ts_recv), ts_recv,
                 str(obj.id), Side.BUY if obj.side == "buy" else Side.SELL, float(obj.price), float(obj.amount))
