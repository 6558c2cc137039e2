"""Which book versions each strategy instance last traded against: an instance proposes again only once every
venue/symbol it trades has a newer book than the one its last attempt was based on.

A book the trader has just traded against still shows the liquidity its orders took (the venue has not
published the next version yet), so the same opportunity would be proposed again and fail on its first
or a later leg. Versions are told apart as the paper executor does: by the book's sequence and receive time.
"""

from __future__ import annotations

from shared.events import BookTop
from shared.trading import StrategyInstance
from trader.market import MarketView

Version = tuple[int | None, int]


def book_version(book: BookTop | None) -> Version | None:
    """What tells one book of a venue/symbol from the next; None before the first."""
    return None if book is None else (book.sequence, book.ts_recv)


class BookVersions:
    def __init__(self, view: MarketView) -> None:
        self._view = view
        self._based_on: dict[str, dict[tuple[str, str], Version | None]] = {}  # instance id -> its last attempt's books

    def traded(self, instance: StrategyInstance) -> None:
        """`instance` just had a proposal approved on the current books."""
        self._based_on[instance.id] = {(v, s): book_version(self._view.book(v, s)) for v in instance.venues for s in instance.symbols}

    def waiting(self, instance: StrategyInstance) -> bool:
        """Whether some venue/symbol of `instance` has had no new book since its last attempt was based on it."""
        based_on = self._based_on.get(instance.id)
        if based_on is None:
            return False
        if any(book_version(self._view.book(*key)) == version for key, version in based_on.items()):
            return True
        del self._based_on[instance.id]
        return False

    def forget(self, instance_id: str) -> None:
        self._based_on.pop(instance_id, None)
