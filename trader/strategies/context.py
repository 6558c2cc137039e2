"""What every strategy reads and returns: the context of one evaluation, its plan, its inventory needs,
and the sizing search they share. A strategy proposes; it never holds an executor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Protocol, TypeVar

from shared.trading import Balances, Instruments, Proposal
from trader.market import DecimalLevels, MarketView

T = TypeVar("T")
Sides = tuple[DecimalLevels, DecimalLevels]


class Liquidity(Protocol):
    """What is left of a book once the trader's own orders under way have taken their share of it."""

    def left(self, venue: str, symbol: str, sides: Sides) -> Sides: ...


@dataclass(frozen=True, slots=True)
class StrategyContext:
    view: MarketView
    balances: Balances
    instruments: Instruments
    now: int
    new_id: Callable[[], str]  # proposal ids; a counter in backtests, so two runs give the same ids
    liquidity: Liquidity | None = None  # None: the books as they were received

    def sides(self, venue: str, symbol: str, taking: bool = True) -> Sides | None:
        """(bids, asks) as Decimals if the venue/symbol is tradeable now, else None. `taking`: what a taker order
        can still fill (a side the trader's own orders have emptied makes it None); otherwise the book as received
        (where a resting order must stay clear of)."""
        if not self.view.tradeable(venue, symbol, self.now):
            return None
        sides = self.view.decimal_sides(venue, symbol)
        if taking and self.liquidity is not None:
            sides = self.liquidity.left(venue, symbol, sides)
            if not sides[0] or not sides[1]:
                return None
        return sides

    def top(self, venue: str, symbol: str) -> tuple[float, float] | None:
        """(best bid, best ask) of the book as received, if tradeable: a screen before `sides`, which converts
        levels to Decimal. The trader's own orders under way only take liquidity away, so a price test that
        fails on this top fails on what is left too."""
        if not self.view.tradeable(venue, symbol, self.now):
            return None
        book = self.view.book(venue, symbol)
        if book is None or not book.bids or not book.asks:
            return None
        return book.bids[0][0], book.asks[0][0]

    def received_at(self, *keys: tuple[str, str]) -> int:
        """Receive time of the newest of these books: the market data a proposal is based on."""
        return max((book.ts_recv for key in keys if (book := self.view.book(*key))), default=0)


@dataclass(frozen=True, slots=True)
class Cancel:
    client_order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """One evaluation's output: new proposals for the risk manager, and resting orders to cancel first."""

    proposals: tuple[Proposal, ...] = ()
    cancels: tuple[Cancel, ...] = ()


NOTHING = Plan()


@dataclass(frozen=True, slots=True)
class Requirement:
    """A balance one direction of a strategy instance needs on a venue to trade at its configured size."""

    instance_id: str
    direction: str
    venue: str
    asset: str
    amount: Decimal


class Fit(Enum):
    OK = "ok"
    TOO_SMALL = "too_small"  # under a venue minimum: a larger size may pass
    TOO_BIG = "too_big"  # past the books' depth, a balance, or the edge: a smaller size may pass


def largest_fit(n_max: int, evaluate: Callable[[int], tuple[Fit, T | None]]) -> T | None:
    """The result for the largest n in 1..n_max that fits, by bisection.

    The full size is tried first, as it usually fits or the books show nothing. Fit is taken to fall as n
    grows past the depth and the edge; a result is only ever one `evaluate` accepted, so where that
    does not hold the search can miss a size, never propose a bad one.
    """
    if n_max < 1:
        return None
    fit, result = evaluate(n_max)
    if fit is Fit.OK:
        return result
    if fit is Fit.TOO_SMALL:
        return None
    low, high, best = 0, n_max, None
    while high - low > 1:
        middle = (low + high) // 2
        fit, result = evaluate(middle)
        if fit is Fit.TOO_BIG:
            high = middle
        else:
            low = middle
            if fit is Fit.OK:
                best = result
    return best


def quantize_bps(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))
