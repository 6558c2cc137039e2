"""Symbol naming: spot symbols are BASE-QUOTE in upper case (`BTC-USDT`); derivatives carry
cryptofeed's suffix (`BTC-USDT-PERP`, `BTC-USD-22M24`)."""

from __future__ import annotations

import re

_SYMBOL = re.compile(r"^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(-[A-Z0-9]{1,12})?$")


def is_normalized(symbol: str) -> bool:
    return bool(_SYMBOL.match(symbol))


def split(symbol: str) -> tuple[str, str]:
    if not is_normalized(symbol):
        raise ValueError(f"symbol {symbol!r} is not of the form BASE-QUOTE (e.g. BTC-USDT)")
    base, quote = symbol.split("-")[:2]
    return base, quote
