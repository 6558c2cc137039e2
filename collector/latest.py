"""The latest market state for the REST API: the last ticker and book of every (exchange, symbol).

A dispatcher consumer: it only replaces a dict entry per event, so it never holds ingest up. It
stamps each event with the local time it arrived (from `clock`), not with the event's `ts_recv`: a
replayed or recorded event carries the time it was first received, but its age here is how long
this process has gone without a newer one. The API reads it on the same event loop ingest publishes
on, so a reader never sees a half-made update.
"""

from __future__ import annotations

from typing import TypeAlias, TypeVar

from shared.clock import Clock, now_ns
from shared.events import BookTop, Event, Ticker

E = TypeVar("E", Ticker, BookTop)


# (event, local clock when this process got it): a plain tuple, as a NamedTuple costs four times as much to
# make, on every ticker and book ingest publishes.
Received: TypeAlias = tuple[E, int]


class LatestMarket:
    def __init__(self, clock: Clock = now_ns) -> None:
        self.clock = clock
        self.tickers: dict[tuple[str, str], Received[Ticker]] = {}
        self.books: dict[tuple[str, str], Received[BookTop]] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, Ticker):
            self.tickers[(event.exchange, event.symbol)] = (event, self.clock())
        elif isinstance(event, BookTop):
            self.books[(event.exchange, event.symbol)] = (event, self.clock())

    def books_of(self, symbol: str) -> dict[str, Received[BookTop]]:
        """The latest book of `symbol` on each venue that sent one."""
        return {exchange: seen for (exchange, sym), seen in self.books.items() if sym == symbol}
