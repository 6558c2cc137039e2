"""The books the paper executor fills against, and the liquidity it has already taken from each version.

A book version is identified by (venue, symbol, sequence, ts_recv): until a new version arrives, what
one order took from a level is gone for the next order, so two orders never both fill against the same
size. A new version replaces the ledger: the venue's book now shows what is really left.
Pure and synchronous; prices and sizes become Decimals as they were printed (`to_decimal`), a side of a book
only when an order first needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from shared.events import BookTop, Side
from shared.trading import to_decimal

ZERO = Decimal(0)
Levels = tuple[tuple[Decimal, Decimal], ...]


@dataclass(slots=True)
class _Book:
    version: tuple[int | None, int]
    raw_bids: tuple[tuple[float, float], ...]
    raw_asks: tuple[tuple[float, float], ...]
    taken: dict[tuple[Side, Decimal], Decimal] = field(default_factory=dict)  # (book side, price) -> size taken
    decimal_bids: Levels | None = None  # converted when an order first needs them
    decimal_asks: Levels | None = None

    def levels(self, asks: bool) -> Levels:
        if asks:
            if self.decimal_asks is None:
                self.decimal_asks = _levels(self.raw_asks)
            return self.decimal_asks
        if self.decimal_bids is None:
            self.decimal_bids = _levels(self.raw_bids)
        return self.decimal_bids


def _levels(levels: tuple[tuple[float, float], ...]) -> Levels:
    return tuple((to_decimal(price), to_decimal(size)) for price, size in levels)


def _within(price: Decimal, limit: Decimal | None, taker: Side) -> bool:
    return limit is None or (price <= limit if taker is Side.BUY else price >= limit)


class BookLiquidity:
    def __init__(self) -> None:
        self._books: dict[tuple[str, str], _Book] = {}

    def update(self, book: BookTop) -> bool:
        """Take in a book; False (and nothing changes) if it is the version already held."""
        version = (book.sequence, book.ts_recv)
        held = self._books.get((book.exchange, book.symbol))
        if held is not None and held.version == version:
            return False
        self._books[(book.exchange, book.symbol)] = _Book(version, book.bids, book.asks)
        return True

    def has_book(self, venue: str, symbol: str) -> bool:
        return (venue, symbol) in self._books

    def available(self, venue: str, symbol: str, taker: Side, limit: Decimal | None = None) -> Levels:
        """What a taker on `taker`'s side can still take, best first, up to `limit` (asks for a buy, bids for a sell)."""
        book = self._books.get((venue, symbol))
        if book is None:
            return ()
        side = Side.SELL if taker is Side.BUY else Side.BUY  # the resting side the taker hits
        levels = book.levels(asks=taker is Side.BUY)
        left = []
        for price, size in levels:
            if not _within(price, limit, taker):
                break
            rest = size - book.taken.get((side, price), ZERO)
            if rest > 0:
                left.append((price, rest))
        return tuple(left)

    def best(self, venue: str, symbol: str, taker: Side) -> Decimal | None:
        """The best price a taker on `taker`'s side would get, taken liquidity aside; None without a book."""
        book = self._books.get((venue, symbol))
        if book is None:
            return None
        levels = book.raw_asks if taker is Side.BUY else book.raw_bids
        return to_decimal(levels[0][0]) if levels else None

    def plan(self, venue: str, symbol: str, taker: Side, amount: Decimal, limit: Decimal | None, lot: Decimal) -> list[tuple[Decimal, Decimal]]:
        """(price, size) slices that would fill up to `amount` within `limit`, each a whole number of lots; takes nothing."""
        slices = []
        left = amount
        for price, size in self.available(venue, symbol, taker, limit):
            take = min(size, left)
            take = (take / lot).to_integral_value(rounding="ROUND_DOWN") * lot
            if take > 0:
                slices.append((price, take))
                left -= take
            if left <= 0:
                break
        return slices

    def take(self, venue: str, symbol: str, taker: Side, slices: list[tuple[Decimal, Decimal]]) -> None:
        """Mark `slices` (from `plan`, or sizes a resting order took at its levels) as gone from this book version."""
        book = self._books[(venue, symbol)]
        side = Side.SELL if taker is Side.BUY else Side.BUY
        for price, size in slices:
            book.taken[(side, price)] = book.taken.get((side, price), ZERO) + size
