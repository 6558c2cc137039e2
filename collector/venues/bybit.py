"""Bybit (API v5): spot, and perpetuals where configured.

cryptofeed 2.4.1 subscribes no tickers on Bybit's spot endpoint (Bybit's spot ticker has no best
bid/ask), so spot tickers are derived from the L2 book top. Its book handler does not check the
delta update ids (`u`) either; the collector does, forces a resubscribe (a fresh snapshot) on a
gap, and publishes `u` as the book's `sequence`. Ticker sizes: those of the best book levels.
"""

from __future__ import annotations

from typing import Any

from cryptofeed.connection import AsyncConnection
from cryptofeed.defines import FUNDING, INDEX, L2_BOOK, OPEN_INTEREST, TICKER
from cryptofeed.exchanges import Bybit

from collector.venues.base import Venue


class _Bybit(Bybit):
    """cryptofeed's Bybit, with one fix: on (re)subscribing a connection it cleared the ticker state
    of every connection, so with spot and perpetual connections both open, whichever subscribed
    second could wipe the other's ticker snapshot and its next delta raised KeyError (a reconnect)."""

    def _Bybit__reset(self, conn: AsyncConnection) -> None:  # replaces cryptofeed's private Bybit.__reset
        for pair in conn.subscription.get(self.std_channel_to_exchange(L2_BOOK), ()):
            self._l2_book.pop(self.exchange_symbol_to_std_symbol(pair), None)
        if "tickers" not in self.__dict__:
            self.tickers: dict[str, Any] = {}  # cryptofeed's class attribute is shared by every instance: never mutate it
        # Bybit carries tickers, funding, open interest and index on one `tickers` stream (as `subscribe` does).
        for channel in (self.std_channel_to_exchange(TICKER), OPEN_INTEREST, FUNDING, INDEX):
            for pair in conn.subscription.get(channel, ()):
                self.tickers.pop(self.exchange_symbol_to_std_symbol(pair), None)


def _book_continuity(raw: Any, previous: int | None) -> tuple[int | None, bool]:
    update_id = int(raw["data"]["u"])
    if raw.get("type") == "snapshot" or previous is None:
        return update_id, False
    return update_id, update_id != previous + 1


VENUE = Venue(name="bybit", feed=_Bybit, ticker_from_book=True, book_continuity=_book_continuity)
