"""Hedges: the market orders that close the exposure an arbitrage's fills left, one per asset.

Pure: from the attempt, the instruments and the market view. An asset is hedged against the attempt's
profit asset on the "other" venue first (a leg's venue where nothing filled: where the arbitrage meant
to trade it), then on any venue the attempt traded on; venues that hold what the hedge spends first,
then tradeable ones. A long position is sold
(rounded down to the lot); a short one is bought back with enough to cover the fee (rounded up).
What has no market or price cannot be hedged and is said so. What rounds under the venue's minimum order
(its lot, minimum size or notional) is dust: no order can close it, so it stays on the venue as inventory,
as the remainder of a completed arbitrage does, and is not unhedged exposure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.pricing import walk
from shared.trading import ArbitrageAttempt, Balances, Instruments, Leg, OrderType, Side, TimeInForce
from trader.market import MarketView

ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class NoHedge:
    reason: str
    dust: bool = False  # under the venue's minimum order: inventory, not exposure


@dataclass(frozen=True, slots=True)
class HedgePlan:
    legs: tuple[Leg, ...]
    unhedgeable: tuple[str, ...]  # why some exposure has no hedge
    dust: tuple[str, ...] = ()  # exposure under the minimum order of the venue it would be hedged on


def venue_preference(attempt: ArbitrageAttempt) -> tuple[str, ...]:
    unfilled = [leg.leg.venue for leg in attempt.legs if leg.filled == 0]
    every = [leg.leg.venue for leg in attempt.legs]
    return tuple(dict.fromkeys((*unfilled, *every)))


def hedge_leg(asset: str, amount: Decimal, profit_asset: str, venues: Sequence[str], instruments: Instruments, view: MarketView,
              now: int, account: str, last_price: Decimal | None = None, balances: Balances | None = None) -> Leg | NoHedge:
    """A market order closing `amount` of `asset` (positive: held, negative: owed), or why there is none."""
    symbol = f"{asset}-{profit_asset}"
    candidates = [v for v in venues if (v, symbol) in instruments]
    if not candidates:
        return NoHedge(f"{amount} {asset}: no {symbol} market on {', '.join(venues)}")
    if balances is not None:  # a venue that holds what the hedge spends: the base to sell, or the quote to buy it back
        spend = asset if amount > 0 else profit_asset
        funded = [v for v in candidates if balances.free(v, spend) > 0 and (amount < 0 or balances.free(v, spend) >= amount)]
        candidates = funded or candidates
    venue = next((v for v in candidates if view.tradeable(v, symbol, now)), candidates[0])
    spec = instruments.spec(venue, symbol)
    side = Side.SELL if amount > 0 else Side.BUY
    size = spec.round_amount(amount) if side is Side.SELL else spec.round_amount_up(-amount / (ONE - spec.taker_fee))
    reference = _reference(view, venue, symbol, side, size) or last_price
    if reference is None:
        return NoHedge(f"{amount} {asset}: no price for {symbol} on {venue}")
    short = spec.shortfall(size, reference)
    if short:
        return NoHedge(f"{amount} {asset} cannot be hedged: {short}", dust=True)
    return Leg(venue, symbol, side, size, None, reference, spec.taker_fee, type=OrderType.MARKET, time_in_force=TimeInForce.IOC,
               account=account)


def hedge_legs(attempt: ArbitrageAttempt, instruments: Instruments, view: MarketView, now: int, account: str,
               balances: Balances | None = None) -> HedgePlan:
    venues = venue_preference(attempt)
    last: dict[str, Decimal] = {}
    for leg in (*attempt.legs, *attempt.hedges):
        for fill in leg.fills:
            last[fill.symbol] = fill.price
    legs: list[Leg] = []
    problems: list[str] = []
    dust: list[str] = []
    for asset, amount in attempt.exposure().items():
        found = hedge_leg(asset, amount, attempt.profit_asset, venues, instruments, view, now, account, last.get(f"{asset}-{attempt.profit_asset}"),
                          balances)
        if isinstance(found, Leg):
            legs.append(found)
        else:
            (dust if found.dust else problems).append(found.reason)
    return HedgePlan(tuple(legs), tuple(problems), tuple(dust))


def _reference(view: MarketView, venue: str, symbol: str, side: Side, size: Decimal) -> Decimal | None:
    """The depth-walked price of `size` on the latest book (tradeable or not), or its best price if too thin."""
    if view.book(venue, symbol) is None:
        return None
    bids, asks = view.decimal_sides(venue, symbol)
    levels = bids if side is Side.SELL else asks
    taken = walk(levels, size)
    return taken.vwap if taken else (levels[0][0] if levels else None)
