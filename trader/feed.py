"""The collector's stream into the engine: what the trader subscribes to, and a loop that hands every event
to `TradingEngine.on_event` with its local receive time and turns the client's notices into what the
market view must know.

Notices and what they mean for trading:
- `gap` (frames lost on our connection), `lagged` (the server is cutting us off) and `disconnected`:
  every book may have missed updates, so nothing is tradeable until a fresh book arrives;
- `reconnected`: the same, and the snapshot that follows is the fresh data;
- `coalesced`: the server kept only the latest ticker/book per stream for us; the latest is what the view
  holds anyway, so only counted.
The collector's own `status` events (a venue's feed disconnected, gapped, resynced) arrive as events and
the market view reads them itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from contextlib import aclosing

from shared.client import FanoutClient, Filter, Notice, NoticeKind, Received
from shared.clock import Clock
from shared.events import Channel
from shared.settings import Settings
from trader.config import TraderConfig
from trader.engine import TradingEngine

LOG = logging.getLogger("trader.feed")
WANTED = (Channel.BOOK, Channel.TICKER, Channel.TRADE)  # trades fill the paper venue's resting orders
_DATA_LOST = frozenset({NoticeKind.GAP, NoticeKind.LAGGED, NoticeKind.DISCONNECTED})


def subscriptions(settings: Settings, config: TraderConfig) -> tuple[Filter, ...]:
    """One filter per venue the trader has instruments on: its symbols, and of book, ticker and trade the
    channels the collector collects there, plus status (every feed reports it)."""
    symbols: dict[str, list[str]] = {}
    for venue, symbol in config.instruments:
        symbols.setdefault(venue, []).append(symbol)
    filters = []
    for venue, names in sorted(symbols.items()):
        exchange = settings.exchanges.get(venue)
        collected = set(exchange.channels) if exchange is not None else set(WANTED)
        channels = (*(c.value for c in WANTED if c in collected), Channel.STATUS.value)
        filters.append(Filter(channels=channels, exchanges=(venue,), symbols=tuple(sorted(names))))
    return tuple(filters)


class Feed:
    """Runs until cancelled; a `ClientError` (token refused, subscription rejected) ends it."""

    def __init__(self, client: FanoutClient, engine: TradingEngine, clock: Clock,
                 on_notice: Callable[[Notice], None] | None = None) -> None:
        self.client = client
        self.engine = engine
        self.clock = clock
        self.on_notice = on_notice
        self.events = 0
        self.errors = 0  # events the engine failed on
        self.notices: Counter[str] = Counter()
        self.connected = False
        self.last_notice: Notice | None = None

    async def run(self) -> None:
        async with aclosing(self.client.stream()) as items:
            async for item in items:
                if isinstance(item, Received):
                    await self._event(item)
                else:
                    self.notice(item)

    async def _event(self, item: Received) -> None:
        self.events += 1
        try:
            await self.engine.on_event(item.event, self.clock())
            if self.engine.handing_over:
                await asyncio.sleep(0)  # the approval's first order goes now, not after the rest of the frame
        except Exception as error:  # one bad event must not end the stream
            self.errors += 1
            LOG.exception("event %r not taken in", item.event)
            self.engine.risk.error(self.clock(), f"event from {item.event.exchange}: {error}")

    def notice(self, notice: Notice) -> None:
        self.notices[notice.kind.value] += 1
        self.last_notice = notice
        kind = notice.kind
        if kind is NoticeKind.CONNECTED:
            self.connected = True
            LOG.info("stream: %s", notice.message)
        elif kind is NoticeKind.RECONNECTED:
            self.connected = True
            self.engine.on_reconnected()
            LOG.warning("stream: %s", notice.message)
        elif kind in _DATA_LOST:
            if kind is NoticeKind.DISCONNECTED:
                self.connected = False
            self.engine.on_stream_gap()
            LOG.warning("stream %s: %s: nothing is tradeable until fresh books arrive", kind.value, notice.message)
        elif kind is NoticeKind.ERROR:
            LOG.error("stream: %s", notice.message)
        else:
            LOG.debug("stream %s: %s", kind.value, notice.message)
        if kind is not NoticeKind.COALESCED and self.engine.journal.session_id is not None:
            self.engine.journal.record_risk_event("stream", kind.value, notice.message)
        if self.on_notice is not None:
            self.on_notice(notice)

    def stats(self) -> dict[str, object]:
        return {"url": self.client.url, "connected": self.connected, "events": self.events, "errors": self.errors,
                "frames_missed": self.client.gaps, "notices": dict(self.notices),
                "last_notice": f"{self.last_notice.kind.value}: {self.last_notice.message}" if self.last_notice else ""}
