"""What the collector needs to know about one exchange beyond what cryptofeed already knows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptofeed.feed import Feed


def no_sizes(raw: Any) -> tuple[float, float] | None:
    return None


@dataclass(frozen=True)
class Venue:
    name: str  # lowercase venue id used in events, config and the lake
    feed: type[Feed]  # cryptofeed's feed class, used as it is
    # Hosts the feed calls through hard-coded URLs besides its rest_endpoints (redirected with them).
    extra_rest_hosts: tuple[str, ...] = ()
    # cryptofeed's Ticker has no sizes; where the exchange's ticker frame carries them, read them from `raw`.
    ticker_sizes: Callable[[Any], tuple[float, float] | None] = no_sizes
    # For feeds whose cryptofeed class does not check book sequence numbers itself: given the raw
    # frame and the previous sequence, return (sequence, gap_detected).
    book_continuity: Callable[[Any, int | None], tuple[int | None, bool]] | None = None
    # For feeds whose cryptofeed class passes no sequence number with book updates: the venue's
    # update id read from the raw frame (or REST snapshot), published as the book's `sequence`.
    book_sequence: Callable[[Any], int | None] | None = None
    # The exchange publishes no best bid/ask ticker for spot (Bybit v5): derive tickers from the L2 book top.
    ticker_from_book: bool = False
    feed_kwargs: dict[str, Any] = field(default_factory=dict)
