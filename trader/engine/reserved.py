"""The liquidity the trader's own taker orders are about to take, per book version, so strategies plan on
what the executor can really fill.

When the risk manager approves a proposal, each leg that takes at once (a market order, an IOC or FOK limit)
reserves, from the current version of its venue/symbol's book, the levels it would walk within its limit.
Until that book's next version arrives, every strategy sees those levels less what is reserved; the next
version is what the venue shows after the trades, and replaces the reservations (the paper executor keeps
the same ledger of what it filled: `trader.execution.liquidity`). Resting orders reserve nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from shared.trading import Leg, OrderType, Proposal, Side, TimeInForce
from trader.engine.versions import Version, book_version
from trader.market import DecimalLevels, MarketView
from trader.strategies.context import Sides

ZERO = Decimal(0)
_RESTING = frozenset({TimeInForce.GTC, TimeInForce.POST_ONLY})


@dataclass(slots=True)
class _Reserved:
    version: Version
    bids: dict[Decimal, Decimal] = field(default_factory=dict)  # price -> size reserved by sells
    asks: dict[Decimal, Decimal] = field(default_factory=dict)  # price -> size reserved by buys


class ReservedLiquidity:
    def __init__(self, view: MarketView) -> None:
        self._view = view
        self._held: dict[tuple[str, str], _Reserved] = {}

    def left(self, venue: str, symbol: str, sides: Sides) -> Sides:
        """`sides` (the current book of venue/symbol) less what is reserved on this version."""
        held = self._current(venue, symbol)
        if held is None:
            return sides
        return _less(sides[0], held.bids), _less(sides[1], held.asks)

    def reserve(self, proposal: Proposal) -> None:
        """Reserve what each leg of an approved proposal that takes at once would take from its book now."""
        for leg in proposal.legs:
            if leg.type is OrderType.LIMIT and leg.time_in_force in _RESTING:
                continue
            self._reserve(leg)

    def reserved(self, venue: str, symbol: str) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
        """(bids, asks) reserved on the current version, price -> size (for status and tests)."""
        held = self._current(venue, symbol)
        return (dict(held.bids), dict(held.asks)) if held else ({}, {})

    def _reserve(self, leg: Leg) -> None:
        version = book_version(self._view.book(leg.venue, leg.symbol))
        if version is None:
            return
        key = (leg.venue, leg.symbol)
        held = self._current(*key)
        if held is None:
            held = self._held[key] = _Reserved(version)
        bids, asks = self._view.decimal_sides(*key)
        levels, taken = (_less(asks, held.asks), held.asks) if leg.side is Side.BUY else (_less(bids, held.bids), held.bids)
        left = leg.amount
        for price, size in levels:
            if left <= 0 or (leg.price is not None and (price > leg.price if leg.side is Side.BUY else price < leg.price)):
                break
            take = min(size, left)
            taken[price] = taken.get(price, ZERO) + take
            left -= take

    def _current(self, venue: str, symbol: str) -> _Reserved | None:
        held = self._held.get((venue, symbol))
        if held is not None and held.version != book_version(self._view.book(venue, symbol)):
            del self._held[(venue, symbol)]  # a newer book shows what is left
            return None
        return held


def _less(levels: DecimalLevels, taken: dict[Decimal, Decimal]) -> DecimalLevels:
    if not taken:
        return levels
    return tuple((price, size - taken.get(price, ZERO)) for price, size in levels if size > taken.get(price, ZERO))
