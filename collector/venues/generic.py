"""Best bid/ask sizes from a raw ticker frame of an exchange the collector has no module for.

cryptofeed's Ticker has no sizes, but most exchanges' ticker frames carry them under one of a few
well-known pairs of names, at the top of the frame or nested under `data`, `result`, `params`,
`message`, `tick`... (or, for Bitfinex, at fixed places of an array). `ticker_sizes` looks for the
first such pair; a frame that has none gives None (sizes unknown), never NaN. A venue module that
knows its exchange's layout (`binance.py`, `kucoin.py`) still wins over this guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# (bid size, ask size) names, most specific first; case matters (crypto.com's `b`/`a` are prices).
SIZE_KEYS: tuple[tuple[str, str], ...] = (
    ("bestBidSize", "bestAskSize"),  # KuCoin
    ("best_bid_size", "best_ask_size"),  # bitFlyer, Coinbase
    ("best_bid_amount", "best_ask_amount"),  # Deribit
    ("best_bid_qty", "best_ask_qty"),
    ("bid1Size", "ask1Size"),  # Bybit v5
    ("bidSz", "askSz"),  # OKX, Bitget
    ("bidSize", "askSize"),  # Huobi, BitMEX
    ("bid_size", "ask_size"),  # Kraken Futures `ticker`
    ("bidQty", "askQty"),
    ("bs", "ks"),  # crypto.com (bid `b`, ask `k`)
    ("B", "A"),  # Binance `bookTicker`, Gate.io futures `book_ticker`
)
# Where exchanges nest the ticker object; searched breadth first, a few levels deep.
NESTS = ("data", "result", "params", "message", "tick", "ticker", "payload")
_DEPTH = 3


def ticker_sizes(raw: Any) -> tuple[float, float] | None:
    """(bid size, ask size) read from a raw ticker frame, or None where no known layout has them."""
    if isinstance(raw, list):
        return _array_sizes(raw)
    level: list[Any] = [raw]
    for _ in range(_DEPTH):
        deeper: list[Any] = []
        for node in level:
            if isinstance(node, list) and node:
                node = node[0]  # OKX: `data: [{...}]`
            if not isinstance(node, Mapping):
                continue
            for bid_key, ask_key in SIZE_KEYS:
                if bid_key in node and ask_key in node:
                    return _pair(node[bid_key], node[ask_key])
            deeper += [node[key] for key in NESTS if key in node]
        if not deeper:
            return None
        level = deeper
    return None


def _array_sizes(raw: list[Any]) -> tuple[float, float] | None:
    """Bitfinex's trading ticker `[CHANNEL_ID, [BID, BID_SIZE, ASK, ASK_SIZE, ...6 more]]`."""
    if len(raw) < 2 or not isinstance(raw[1], list) or len(raw[1]) != 10:
        return None
    bid, bid_size, ask, ask_size = raw[1][:4]
    prices = _pair(bid, ask)
    if prices is None or prices[0] > prices[1]:
        return None
    return _pair(bid_size, ask_size)


def _pair(bid: Any, ask: Any) -> tuple[float, float] | None:
    try:
        pair = float(bid), float(ask)
    except (TypeError, ValueError):
        return None
    return pair if all(math.isfinite(v) and v >= 0 for v in pair) else None


__all__ = ["NESTS", "SIZE_KEYS", "ticker_sizes"]
