"""Symbol naming: spot symbols are BASE-QUOTE in upper case (`BTC-USDT`); derivatives carry
cryptofeed's suffix (`BTC-USDT-PERP`, `BTC-USD-22M24`); options are named as cryptofeed names them,
BASE[-QUOTE]-STRIKE-EXPIRY-call|put (`BTC-8000-21U24-put` on Deribit)."""

from __future__ import annotations

import re
from functools import lru_cache

_SYMBOL = re.compile(r"^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(-[A-Z0-9]{1,12})?$")
_OPTION = re.compile(r"^[A-Z0-9]{1,20}(-[A-Z0-9]{1,20})?-[0-9.]{1,12}-[0-9]{2}[A-Z][0-9]{1,2}-(call|put)$")


def is_normalized(symbol: str) -> bool:
    return bool(_SYMBOL.match(symbol) or _OPTION.match(symbol))


@lru_cache(maxsize=4096)  # called for every leg of every evaluation; symbols are few
def split(symbol: str) -> tuple[str, str]:
    if not is_normalized(symbol):
        raise ValueError(f"symbol {symbol!r} is not of the form BASE-QUOTE (e.g. BTC-USDT)")
    base, quote = symbol.split("-")[:2]
    return base, quote
