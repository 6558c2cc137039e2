"""Bybit spot (API v5).

cryptofeed 2.4.1 subscribes no tickers on Bybit's spot endpoint (Bybit's spot ticker has no best
bid/ask), so spot tickers are derived from the L2 book top. Its book handler does not check the
delta update ids (`u`) either; the collector does, and forces a resubscribe (a fresh snapshot) on a gap.
"""

from __future__ import annotations

from typing import Any

from cryptofeed.exchanges import Bybit

from collector.venues.base import Venue


def _book_continuity(raw: Any, previous: int | None) -> tuple[int | None, bool]:
    update_id = int(raw["data"]["u"])
    if raw.get("type") == "snapshot" or previous is None:
        return update_id, False
    return update_id, update_id != previous + 1


VENUE = Venue(name="bybit", feed=Bybit, ticker_from_book=True, book_continuity=_book_continuity)
