"""What an event costs in memory while the lake writer holds it, estimated cheaply from its shape.

The figures are what CPython 3.11 allocates for the msgspec structs of shared/events.py, measured
with tracemalloc (the struct, its ints and floats; exchange and symbol strings are shared by every
event of a stream, so they cost nothing per event); a book level is a tuple of two floats. The
estimates come within a few percent of the measured sizes. Encoded rows waiting for a retry are
Arrow tables, counted by their buffer sizes instead (`Table.nbytes`).
"""

from __future__ import annotations

from shared.events import BookTop, Event, Status, Ticker, Trade

TICKER_BYTES = 256
TRADE_BYTES = 256  # plus the trade id's characters
BOOK_BYTES = 264  # with its two tuples of levels
LEVEL_BYTES = 112
STATUS_BYTES = 144  # plus the detail's characters


def event_bytes(event: Event) -> int:
    kind = type(event)
    if kind is Ticker:
        return TICKER_BYTES
    if kind is BookTop:
        book: BookTop = event  # type: ignore[assignment]
        return BOOK_BYTES + LEVEL_BYTES * (len(book.bids) + len(book.asks))
    if kind is Trade:
        trade: Trade = event  # type: ignore[assignment]
        return TRADE_BYTES + len(trade.trade_id or "")
    status: Status = event  # type: ignore[assignment]
    return STATUS_BYTES + len(status.detail)
