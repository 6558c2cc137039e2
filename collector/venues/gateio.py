"""Gate.io spot: cryptofeed's feed as it is.

Ticker sizes: `spot.tickers` frames carry no best bid/ask sizes (`highest_bid`/`lowest_ask` only),
so Gate.io tickers have `bid_size`/`ask_size` null. Book sequence: cryptofeed passes none with
`spot.order_book_update`; the frame's last update id is `result.u`, a REST snapshot's is `id`.
"""

from __future__ import annotations

from typing import Any

from cryptofeed.exchanges import Gateio

from collector.venues.base import Venue


def _book_sequence(raw: Any) -> int | None:
    result = raw.get("result")
    if isinstance(result, dict) and "u" in result:
        return int(result["u"])
    return int(raw["id"]) if "id" in raw else None


VENUE = Venue(name="gateio", feed=Gateio, book_sequence=_book_sequence)
