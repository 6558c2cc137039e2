"""Pricing math for the trader, the backtest, the REST API and the analyzer: pure functions, no state.

A book side is a sequence of (price, size) levels, best first (bids descending, asks ascending), as in
`shared.events.BookTop`. Every function works on floats (market data as it arrives) or on Decimals
(order sizes and money), one or the other throughout a call.

Fees are rates (0.001 = 10 bps) charged on the asset received, as spot venues usually do: buying q
base yields q * (1 - fee) base, selling q yields q * price * (1 - fee) quote. A path's value is then the
product of its legs' rates, and what a leg hands to the next is what it really yields after its fee.
Edges are in basis points of what the path spends: +10 means 0.1% more comes back than went in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from shared.events import Side

N = TypeVar("N", float, Decimal)

BPS = 10_000


@dataclass(frozen=True, slots=True)
class Walk(Generic[N]):
    """Taking liquidity from one side of a book: `amount` base for `cost` quote, down to the `worst` price."""

    amount: N
    cost: N
    worst: N

    @property
    def vwap(self) -> N:
        return self.cost / self.amount


def walk(levels: Sequence[tuple[N, N]], amount: N) -> Walk[N] | None:
    """Take `amount` base from `levels`, best first; None if the levels hold less (or `amount` <= 0)."""
    if amount <= 0:
        return None
    left = amount
    cost = amount * 0
    for price, size in levels:
        take = size if size < left else left
        cost += take * price
        left -= take
        if left <= 0:
            return Walk(amount, cost, price)
    return None


def walk_quote(levels: Sequence[tuple[N, N]], budget: N) -> Walk[N] | None:
    """Spend exactly `budget` quote on `levels` (a buy sized in quote); None if the levels hold less."""
    if budget <= 0:
        return None
    left = budget
    amount = budget * 0
    for price, size in levels:
        level_cost = price * size
        if level_cost >= left:
            return Walk(amount + left / price, budget, price)
        amount += size
        left -= level_cost
    return None


def depth(levels: Sequence[tuple[N, N]], up_to: N | None = None) -> Walk[N] | None:
    """All of `levels` taken at once; None for an empty side. With `up_to`, only the best levels that
    together hold at least that much (all of them if they hold less): enough to cap a trade's size, without
    reading the levels past it."""
    if not levels:
        return None
    amount = levels[0][1] * 0
    cost = amount
    worst = levels[0][0]
    for price, size in levels:
        amount += size
        cost += price * size
        worst = price
        if up_to is not None and amount >= up_to:
            break
    return Walk(amount, cost, worst)


def vwap(levels: Sequence[tuple[N, N]], amount: N) -> N | None:
    """The volume-weighted average price of taking `amount` base; None if the book is too thin."""
    taken = walk(levels, amount)
    return taken.vwap if taken else None


def size_up_to(levels: Sequence[tuple[N, N]], limit: N, taker: Side) -> N:
    """Base available to a taker on `taker`'s side without going past `limit`: asks at or under it for a buy,
    bids at or over it for a sell."""
    total = limit * 0
    for price, size in levels:
        if (price > limit) if taker is Side.BUY else (price < limit):
            break
        total += size
    return total


def edge_bps(spent: N, received: N) -> N:
    """How much more comes back than went in, in bps of what went in."""
    return (received / spent - 1) * BPS


def cross_venue_rate(buy_price: N, sell_price: N, buy_fee: N, sell_fee: N) -> N:
    """Quote back per quote in when buying at `buy_price` on one venue and selling the base received on another."""
    return sell_price * (1 - sell_fee) * (1 - buy_fee) / buy_price


def cross_venue_edge_bps(buy_price: N, sell_price: N, buy_fee: N, sell_fee: N) -> N:
    return (cross_venue_rate(buy_price, sell_price, buy_fee, sell_fee) - 1) * BPS


@dataclass(frozen=True, slots=True)
class CrossPath(Generic[N]):
    buy: Walk[N]  # `amount` bought on the first venue's asks
    sell: Walk[N]  # what that yields after the buy fee, sold on the second venue's bids
    edge_bps: N


def cross_venue_edge(asks: Sequence[tuple[N, N]], bids: Sequence[tuple[N, N]], amount: N, buy_fee: N, sell_fee: N) -> CrossPath[N] | None:
    """Buy `amount` at the ask-side VWAP of one venue, sell what it yields at the bid-side VWAP of another,
    both fees paid; None if either book is too thin."""
    buy = walk(asks, amount)
    if buy is None:
        return None
    sell = walk(bids, amount * (1 - buy_fee))
    if sell is None:
        return None
    return CrossPath(buy, sell, edge_bps(buy.cost, sell.cost * (1 - sell_fee)))


@dataclass(frozen=True, slots=True)
class PathLeg(Generic[N]):
    """One conversion of a path: a buy spends the quote asset on `levels` (asks), a sell spends base (bids)."""

    levels: Sequence[tuple[N, N]]
    side: Side
    fee: N


@dataclass(frozen=True, slots=True)
class PathQuote(Generic[N]):
    walks: tuple[Walk[N], ...]
    amounts: tuple[N, ...]  # what each leg yields after its fee, in the asset the next leg spends
    edge_bps: N


def path_rate(legs: Sequence[tuple[Side, N, N]]) -> N:
    """What one unit of the start asset becomes over (side, price, fee) legs at those prices (no depth)."""
    rate = legs[0][1] * 0 + 1
    for side, price, fee in legs:
        rate = (rate / price if side is Side.BUY else rate * price) * (1 - fee)
    return rate


def path_edge(legs: Sequence[PathLeg[N]], amount: N) -> PathQuote[N] | None:
    """Put `amount` of the start asset through `legs` (a triangular path has three), walking each book and
    carrying what each leg yields after its fee to the next; None if a book is too thin."""
    carried = amount
    walks: list[Walk[N]] = []
    amounts: list[N] = []
    for leg in legs:
        if leg.side is Side.BUY:
            taken = walk_quote(leg.levels, carried)
            if taken is None:
                return None
            carried = taken.amount * (1 - leg.fee)
        else:
            taken = walk(leg.levels, carried)
            if taken is None:
                return None
            carried = taken.cost * (1 - leg.fee)
        walks.append(taken)
        amounts.append(carried)
    return PathQuote(tuple(walks), tuple(amounts), edge_bps(amount, carried))
