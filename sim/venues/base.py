"""What every venue module provides, and what it gets from the running simulator.

A venue module is protocol only: REST handlers that turn a `RestRequest` into a `RestReply`, a
websocket `Session` per connection that answers client frames and keeps the connection's
subscriptions, and encoders of the model's neutral events into the exchange's frames. It does no
I/O; `sim.server` carries bytes and fans frames out to subscribed connections.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import msgspec

from shared.events import Channel
from sim.instruments import Instrument
from sim.market import Market
from sim.model_events import BookDelta, BookSnapshot, MarketEvent, TradeEvent

_encoder = msgspec.json.Encoder()


def dumps(value: Any) -> str:
    return _encoder.encode(value).decode()


def loads(text: str | bytes) -> Any:
    return msgspec.json.decode(text)


def ms(ts: float) -> int:
    return int(ts * 1000)


@dataclass(frozen=True)
class RestRequest:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # case-insensitive in practice: the server passes a CIMultiDict
    body: bytes = b""


@dataclass(frozen=True)
class RestReply:
    status: int
    body: Any  # serialized as JSON


RestHandler = Callable[[RestRequest], RestReply]


class Route(NamedTuple):
    method: str
    path: str
    name: str  # counted per call in the simulator's statistics (e.g. "depth" for book snapshots)
    handler: RestHandler


class Sub(NamedTuple):
    """One subscription of one connection; `variant` carries how the client spelled it, when that shows on the wire."""

    channel: Channel
    symbol: str  # normalized, BASE-QUOTE
    variant: str = ""


class Reject(Exception):
    """Refuse a websocket upgrade with an HTTP status and an exchange-style body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


@dataclass
class VenueView:
    """The running simulator as one venue sees it."""

    name: str
    market: Market
    clock: Callable[[], float]  # epoch seconds, for timestamps in replies
    rest_url: str = ""  # filled in once the ports are bound
    ws_url: str = ""

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return self.market.instruments

    def snapshot(self, symbol: str, depth: int | None = None) -> BookSnapshot:
        return self.market.snapshot(self.name, symbol, depth)


@dataclass
class Session:
    """One websocket connection's protocol state."""

    subs: set[Sub] = field(default_factory=set)
    close: bool = False  # set when the venue would hang up after the frames already returned

    def opening(self) -> list[str]:
        return []

    def on_text(self, text: str) -> list[str]:
        return []


class Venue(ABC):
    name: ClassVar[str]
    ws_paths: ClassVar[tuple[str, ...]]  # for the start-up log line
    server_ping_s: ClassVar[float | None] = None  # the venue pings clients this often (None: only answers pings)

    def __init__(self, view: VenueView) -> None:
        self.view = view
        self.by_wire = {self.wire_symbol(s): s for s in view.instruments}

    @abstractmethod
    def routes(self) -> list[Route]: ...

    @abstractmethod
    def open_session(self, path: str, query: Mapping[str, str]) -> Session:
        """A new websocket connection on `path`; raise `Reject` to refuse it."""

    @abstractmethod
    def encode(self, event: MarketEvent, sub: Sub) -> str: ...

    @abstractmethod
    def wire_symbol(self, symbol: str) -> str: ...

    @abstractmethod
    def server_error(self) -> RestReply:
        """The body the exchange sends with an HTTP 500."""

    def wire_trade_id(self, trade: TradeEvent) -> str:
        """The trade id as clients read it."""
        return str(trade.trade_id)

    def wire_book_ids(self, delta: BookDelta) -> tuple[int, int]:
        """The first and last sequence numbers a client checks for this update."""
        return delta.first_id, delta.last_id


def channel_of(event: MarketEvent) -> Channel:
    if isinstance(event, BookDelta):
        return Channel.BOOK
    if isinstance(event, TradeEvent):
        return Channel.TRADE
    return Channel.TICKER
