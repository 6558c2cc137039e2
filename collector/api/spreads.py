"""Live cross-exchange spreads from the latest books, with the pricing math the trader uses (shared/pricing.py).

For every ordered pair of venues holding a book of the symbol: buy on the first venue's asks, sell on
the second's bids. At the top of book the edge is `cross_venue_edge_bps` of the best ask and bid;
for a `size` (base units) each book is walked (`cross_venue_edge`), so a thin book gives the price of
taking it. Gross is without fees, net pays both taker fees. A value that cannot be known (an empty
side, a book thinner than `size`, no size asked) is null, with the reason beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from collector.api.models import Edge, SpreadRow
from collector.latest import Received
from shared.events import BookTop, Level
from shared.pricing import BPS, cross_venue_edge, cross_venue_edge_bps, depth

NS_PER_MS = 1_000_000


def cross_spreads(
    symbol: str,
    books: Mapping[str, Received[BookTop]],
    size: float | None,
    fee_bps: Callable[[str], float],
    now_ns: int,
    stale_after_ms: float,
) -> list[SpreadRow]:
    """A row per ordered venue pair of `books` (the latest book of `symbol` per venue), sorted by buy then sell venue."""
    rows = []
    for buy in sorted(books):
        for sell in sorted(books):
            if buy == sell:
                continue
            (bought, bought_ns), (sold, sold_ns) = books[buy], books[sell]
            buy_fee, sell_fee = fee_bps(buy), fee_bps(sell)
            buy_age = (now_ns - bought_ns) / NS_PER_MS
            sell_age = (now_ns - sold_ns) / NS_PER_MS
            rows.append(SpreadRow(
                symbol=symbol, buy_exchange=buy, sell_exchange=sell, buy_fee_bps=buy_fee, sell_fee_bps=sell_fee, size=size,
                top=top_edge(bought, sold, buy_fee, sell_fee),
                depth=depth_edge(bought, sold, size, buy_fee, sell_fee),
                buy_book_age_ms=buy_age, sell_book_age_ms=sell_age, stale=max(buy_age, sell_age) > stale_after_ms,
            ))
    return rows


def top_edge(bought: BookTop, sold: BookTop, buy_fee_bps: float, sell_fee_bps: float) -> Edge:
    empty = _empty_side(bought, sold)
    if empty:
        return Edge(buy_price=None, sell_price=None, gross_bps=None, net_bps=None, reason=empty)
    ask, bid = bought.asks[0][0], sold.bids[0][0]
    return Edge(buy_price=ask, sell_price=bid, gross_bps=cross_venue_edge_bps(ask, bid, 0.0, 0.0),
                net_bps=cross_venue_edge_bps(ask, bid, buy_fee_bps / BPS, sell_fee_bps / BPS), reason=None)


def depth_edge(bought: BookTop, sold: BookTop, size: float | None, buy_fee_bps: float, sell_fee_bps: float) -> Edge:
    reason = "no size: pass `size` or set analyzer.depth_size for the symbol" if size is None else _empty_side(bought, sold)
    if size is not None and reason is None:
        gross = cross_venue_edge(bought.asks, sold.bids, size, 0.0, 0.0)
        net = cross_venue_edge(bought.asks, sold.bids, size, buy_fee_bps / BPS, sell_fee_bps / BPS)
        if gross is not None and net is not None:
            return Edge(buy_price=gross.buy.vwap, sell_price=gross.sell.vwap, gross_bps=gross.edge_bps, net_bps=net.edge_bps, reason=None)
        reason = (_thinner(bought.exchange, "asks", bought.asks, size) or _thinner(sold.exchange, "bids", sold.bids, size)
                  or f"size {size:g} takes a whole book, to within rounding")
    return Edge(buy_price=None, sell_price=None, gross_bps=None, net_bps=None, reason=reason)


def _empty_side(bought: BookTop, sold: BookTop) -> str | None:
    if not bought.asks:
        return f"{bought.exchange} has no asks"
    if not sold.bids:
        return f"{sold.exchange} has no bids"
    return None


def _thinner(exchange: str, side: str, levels: tuple[Level, ...], size: float) -> str | None:
    held = depth(levels)
    amount = held.amount if held else 0.0
    if amount < size:
        return f"size {size:g} is beyond the book: {exchange} {side} hold {amount:g} in {len(levels)} levels"
    return None
