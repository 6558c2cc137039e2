"""Normalized market events: immutable typed values shared by every service.

Prices and sizes are float64 (as the lake stores them); timestamps are int64 nanoseconds UTC.
`ts_event` is the exchange's own timestamp, `ts_recv` the local receive time.

An unknown value is `None` in the model, `null` on the wire and in the JSON Schemas, and null in
the lake; never NaN, and never a stand-in such as the receive time. Fields that can be unknown:
`ts_event` (the exchange sent no timestamp: Binance's bookTicker, REST book snapshots), the ticker's
`bid_size`/`ask_size` (the venue's ticker frame carries none: Gate.io), a trade's `trade_id`, a
book's `sequence` and a venue-wide status's `symbol`.
The `channel` tag names the kind of event on the wire and in the lake. Events hold only scalars and
tuples of floats, so they can form no reference cycle: `gc=False` spares the garbage collector
from tracking the hundreds of thousands of them ingest creates each second.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Channel(StrEnum):
    TICKER = "ticker"
    TRADE = "trade"
    BOOK = "book"
    STATUS = "status"


MARKET_CHANNELS: tuple[Channel, ...] = (Channel.TICKER, Channel.TRADE, Channel.BOOK)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class StatusKind(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    GAP = "gap"
    RESYNC = "resync"


class Ticker(msgspec.Struct, frozen=True, gc=False, tag="ticker", tag_field="channel"):
    exchange: str
    symbol: str
    ts_event: int | None
    ts_recv: int
    bid: float
    bid_size: float | None
    ask: float
    ask_size: float | None


class Trade(msgspec.Struct, frozen=True, gc=False, tag="trade", tag_field="channel"):
    exchange: str
    symbol: str
    ts_event: int | None
    ts_recv: int
    trade_id: str | None
    side: Side
    price: float
    amount: float


Level = tuple[float, float]


class BookTop(msgspec.Struct, frozen=True, gc=False, tag="book", tag_field="channel"):
    """The best `depth` levels of an L2 book after an update; bids descending, asks ascending."""

    exchange: str
    symbol: str
    ts_event: int | None
    ts_recv: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    sequence: int | None = None

    @property
    def crossed(self) -> bool:
        return bool(self.bids and self.asks and self.bids[0][0] >= self.asks[0][0])


class Status(msgspec.Struct, frozen=True, gc=False, tag="status", tag_field="channel"):
    """Feed health: a consumer treats a venue's data as untrustworthy between DISCONNECTED/GAP and CONNECTED/RESYNC."""

    exchange: str
    symbol: str | None
    ts_event: int
    ts_recv: int
    kind: StatusKind
    detail: str = ""


MarketEvent = Ticker | Trade | BookTop
Event = Ticker | Trade | BookTop | Status

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode_json(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_json(data: bytes | str) -> Event:
    return _decoder.decode(data)


def channel_of(event: Event) -> Channel:
    return _CHANNEL_OF[type(event)]


_CHANNEL_OF: dict[type, Channel] = {
    Ticker: Channel.TICKER,
    Trade: Channel.TRADE,
    BookTop: Channel.BOOK,
    Status: Channel.STATUS,
}
