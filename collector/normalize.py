"""Pure conversion of cryptofeed's parsed objects into spreadlake's event model.

cryptofeed hands us Decimal prices and float-second timestamps; the model wants float64 and int64
nanoseconds. What the exchange did not send stays unknown (`None`): `ts_event` without an exchange
timestamp (Binance's bookTicker, REST book snapshots), ticker sizes the frame lacks, a trade without
an id. Book events are built in `ingest` (from `booktop`), where the previous top of each book is at hand.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.events import Side, Ticker, Trade

_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _digits(value: float | Decimal) -> int:
    """Decimal digits from the stamp's unit to ns. cryptofeed means seconds, but some feeds pass the
    exchange's milliseconds through (Bybit's book and ticker `ts`): the magnitude tells the unit apart
    for any date between 1973 and 5138."""
    if value < 1e11:
        return 9
    if value < 1e14:
        return 6  # milliseconds
    if value < 1e17:
        return 3  # microseconds
    return 0  # nanoseconds


def to_ns(stamp: float | Decimal | datetime | None, fallback: int) -> int:
    """An exchange timestamp as int ns, exactly: `1634000000.123456` s is 1634000000123456000, where
    `int(stamp * 1e9)` would add the binary float's error (...123456000064). Floats are read as the
    decimal they print as; ints, Decimals and datetimes convert with integer arithmetic. None, NaN
    and infinities give `fallback`."""
    if stamp is None:
        return fallback
    if isinstance(stamp, float):
        # Floats below 2**33 s (year 2242) lie closer together than a microsecond, so at most one whole
        # number of microseconds prints as a given float: if rounding finds one that converts back to
        # it, that is the float's decimal, exactly (the hot path: seconds with up to 6 decimals).
        if 0.0 <= stamp < 8_589_934_592.0:
            micros = round(stamp * 1e6)
            if micros / 1e6 == stamp:
                return micros * 1_000
        return _float_ns(stamp, fallback)
    if isinstance(stamp, int):
        return stamp * 10 ** _digits(stamp)
    if isinstance(stamp, datetime):
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)  # exchanges stamp in UTC; a naive datetime is not local time
        delta = stamp - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1_000
    return int(stamp.scaleb(_digits(stamp))) if stamp.is_finite() else fallback


def _float_ns(value: float, fallback: int) -> int:
    if 1e11 <= value < 8_796_093_022_208.0:  # milliseconds below 2**43: as for seconds in `to_ns`
        micros = round(value * 1e3)
        if micros / 1e3 == value:
            return micros * 1_000
    if not math.isfinite(value):
        return fallback
    return int(Decimal(repr(value)).scaleb(_digits(value)))


def ticker(exchange: str, symbol: str, obj: Any, ts_recv: int, sizes: tuple[float | None, float | None] | None) -> Ticker:
    bid_size, ask_size = sizes if sizes is not None else (None, None)
    stamp = obj.timestamp
    return Ticker(exchange, symbol, None if stamp is None else to_ns(stamp, ts_recv), ts_recv,
                  float(obj.bid), bid_size, float(obj.ask), ask_size)


def trade(exchange: str, symbol: str, obj: Any, ts_recv: int) -> Trade:
    stamp = obj.timestamp
    trade_id = obj.id
    return Trade(exchange, symbol, None if stamp is None else to_ns(stamp, ts_recv), ts_recv,
                 None if trade_id is None else str(trade_id), Side.BUY if obj.side == "buy" else Side.SELL,
                 float(obj.price), float(obj.amount))
