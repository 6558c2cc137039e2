"""Re-planning an arbitrage whose leg failed after something filled: complete it on the current books, or unwind.

Each leg goes as an IOC at the price it was planned at, so a book that moves while the chained legs are on
their way fails the next one. Sending it again at the same price fails again; unwinding at once gives back
the spread and fees of the legs that filled. Instead, the remaining legs (what is left of the failed one,
and the legs after it at their planned amounts) are priced again on the current books (depth-walked, with
their taker fees), and so is the unwind (`hedging.hedge_legs`: market orders back to the profit asset).
Both are valued from the same position: every asset they change is marked at its current price in the
profit asset, so what either leaves over (rounding, a buy that spends more than the previous leg yielded)
counts at what it is worth. Completing wins when it loses no more than unwinding; its legs go again as IOC
limits at the walked worst price moved by at most `slippage_bps`.

Pure: from the attempt, the instruments and the market view.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from shared.pricing import walk
from shared.trading import ArbitrageAttempt, Balances, Instruments, Leg, Side
from trader.engine.hedging import hedge_legs
from trader.market import MarketView

ONE = Decimal(1)
ZERO = Decimal(0)
_BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class Replan:
    legs: tuple[Leg, ...]  # the remaining legs priced on the current books, from the failed one on; () to unwind
    complete: Decimal | None  # the value completing adds, in the profit asset (None: it cannot be done now)
    unwind: Decimal | None  # and unwinding (None: it cannot be done now)

    @property
    def completes(self) -> bool:
        return bool(self.legs)

    def describe(self, asset: str) -> str:
        def show(value: Decimal | None) -> str:
            return "impossible" if value is None else f"{value:+.8f} {asset}"

        return f"completing {show(self.complete)}, unwinding {show(self.unwind)}"


def replan(attempt: ArbitrageAttempt, index: int, instruments: Instruments, view: MarketView, now: int, slippage_bps: Decimal,
           balances: Balances | None = None) -> Replan | None:
    """Complete from leg `index` on (its remainder, then the legs after it) or unwind; None when an asset has no price."""
    marks = _Marks(view, attempt.profit_asset)
    legs: list[Leg] = []
    for i in range(index, len(attempt.legs)):
        planned = attempt.legs[i]
        carried = _carried(attempt, i)
        if carried is not None and legs:  # and what the re-priced leg before it will yield
            carried += legs[-1].amount * (ONE - legs[-1].fee_rate) if legs[-1].side is Side.BUY else \
                legs[-1].amount * legs[-1].expected_price * (ONE - legs[-1].fee_rate)
        leg = _repriced(planned.leg, planned.remaining if i == index else planned.leg.amount, carried, instruments, view, now, slippage_bps)
        if leg is None:
            break
        legs.append(leg)
    complete = marks.value(legs) if len(legs) == len(attempt.legs) - index else None
    plan = hedge_legs(attempt, instruments, view, now, attempt.legs[0].leg.account, balances)
    unwind = None if plan.unhedgeable else marks.value(plan.legs)
    if marks.missing:
        return None
    if complete is not None and (unwind is None or complete >= unwind):
        return Replan(tuple(leg for leg in legs if leg is not None), complete, unwind)
    return Replan((), complete, unwind)


def _carried(attempt: ArbitrageAttempt, index: int) -> Decimal | None:
    """What leg `index` still has to spend of what the leg before it yielded so far, if it is chained to it on the same
    venue (None: it spends the venue's balance, as a cross-exchange sell does)."""
    leg = attempt.legs[index]
    previous = attempt.legs[index - 1].leg if index > 0 else None
    if not leg.leg.chained or previous is None or previous.venue != leg.leg.venue or previous.received_asset != leg.leg.spent_asset:
        return None
    asset = leg.leg.spent_asset
    return sum((fill.deltas().get(asset, ZERO) for prior in (attempt.legs[index - 1], leg) for fill in prior.fills), ZERO)


def _repriced(leg: Leg, amount: Decimal, carried: Decimal | None, instruments: Instruments, view: MarketView, now: int,
              slippage_bps: Decimal) -> Leg | None:
    """`leg` for `amount` (a chained leg: no more than `carried` pays for) at the current book's depth-walked price,
    limited `slippage_bps` past its worst level; None if the book cannot take it now."""
    spec = instruments.spec(leg.venue, leg.symbol)
    if not view.tradeable(leg.venue, leg.symbol, now):
        return None
    if carried is not None and leg.side is Side.SELL:
        amount = min(amount, carried)
    amount = spec.round_amount(amount)
    bids, asks = view.decimal_sides(leg.venue, leg.symbol)
    levels = asks if leg.side is Side.BUY else bids
    slip = slippage_bps / _BPS
    for _ in range(2):  # a chained buy the new price makes dearer is cut to what it was handed, and walked again
        taken = walk(levels, amount)
        if taken is None or spec.shortfall(amount, taken.vwap):
            return None
        limit = spec.ceil_price(taken.worst * (ONE + slip)) if leg.side is Side.BUY else spec.floor_price(taken.worst * (ONE - slip))
        if not (carried is not None and leg.side is Side.BUY and amount * limit > carried):
            return Leg(leg.venue, leg.symbol, leg.side, amount, limit, taken.vwap, spec.taker_fee, leg.type, leg.time_in_force,
                       leg.chained, leg.account)
        amount = spec.round_amount(carried / limit)
    return None


class _Marks:
    """Assets marked at their current price in the profit asset; remembers the ones without a price."""

    def __init__(self, view: MarketView, profit_asset: str) -> None:
        self._view, self._asset = view, profit_asset
        self.missing: set[str] = set()

    def value(self, legs: Iterable[Leg]) -> Decimal:
        """What the legs' fills at their expected prices, after their fees on what they receive, change the position's value by."""
        total = ZERO
        for leg in legs:
            got, paid = (leg.amount * (ONE - leg.fee_rate), leg.amount * leg.expected_price) if leg.side is Side.BUY else \
                (leg.amount * leg.expected_price * (ONE - leg.fee_rate), leg.amount)
            received, spent = (leg.base, leg.quote) if leg.side is Side.BUY else (leg.quote, leg.base)
            total += got * self._mark(received) - paid * self._mark(spent)
        return total

    def _mark(self, asset: str) -> Decimal:
        price = self._view.price(asset, self._asset)
        if price is None:
            self.missing.add(asset)
            return ZERO
        return Decimal(repr(price))
