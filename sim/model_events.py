"""Venue-neutral events of the market model; each venue module encodes them in its own protocol.

Prices are integer ticks and sizes integer lots of the symbol's `Instrument`; times are float
epoch seconds. Update ids count level changes of one venue's book for one symbol (every change has
its own id, as on Binance, Gate.io and KuCoin); `seq` counts book messages (Bybit's `u`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BookSide(StrEnum):
    BID = "bid"
    ASK = "ask"


class TakerSide(StrEnum):
    BUY = "buy"  # the aggressor bought, lifting asks
    SELL = "sell"  # the aggressor sold, hitting bids


@dataclass(frozen=True, slots=True)
class LevelChange:
    side: BookSide
    price: int
    size: int  # the level's new total size; 0 removes it
    update_id: int


@dataclass(frozen=True, slots=True)
class BookDelta:
    venue: str
    symbol: str
    ts: float
    seq: int
    changes: tuple[LevelChange, ...]  # bids best first, then asks best first; update ids consecutive

    @property
    def first_id(self) -> int:
        return self.changes[0].update_id

    @property
    def last_id(self) -> int:
        return self.changes[-1].update_id

    def side(self, side: BookSide) -> list[LevelChange]:
        return [c for c in self.changes if c.side is side]


@dataclass(frozen=True, slots=True)
class TradeEvent:
    venue: str
    symbol: str
    ts: float
    trade_id: int
    taker: TakerSide
    price: int
    size: int
    update_id: int  # the book change this fill made


@dataclass(frozen=True, slots=True)
class SessionStats:
    """Trading since the venue opened (what exchanges report as 24h statistics)."""

    open: int  # ticks
    high: int
    low: int
    last: int
    last_size: int  # lots
    volume: int  # lots
    quote_volume: float


@dataclass(frozen=True, slots=True)
class TickerEvent:
    venue: str
    symbol: str
    ts: float
    update_id: int  # the book state the quote reflects
    bid: int
    bid_size: int
    ask: int
    ask_size: int
    stats: SessionStats


MarketEvent = BookDelta | TradeEvent | TickerEvent


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    venue: str
    symbol: str
    ts: float
    update_id: int  # the last change included
    seq: int  # the last book message included
    bids: tuple[tuple[int, int], ...]  # (price ticks, size lots), best first
    asks: tuple[tuple[int, int], ...]
