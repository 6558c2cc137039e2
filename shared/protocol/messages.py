"""Every message of the fan-out protocol as a msgspec Struct: client requests and server frames.

Requests are tagged by `op`, server frames by `type`. Every server frame carries `seq`, numbered
1, 2, 3... per connection, so a client can prove it missed no frame. The JSON Schemas in
docs/schemas are generated from these classes (`python -m shared.protocol.schema`).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated

import msgspec

from shared.events import Event

PROTOCOL_VERSION = 1
WILDCARD = "*"

Seq = Annotated[int, msgspec.Meta(ge=1, description="Per-connection frame number: 1 for hello, then +1 per frame.")]
RequestId = Annotated[
    int | Annotated[str, msgspec.Meta(max_length=64)] | None,
    msgspec.Meta(description="Chosen by the client; echoed by the reply to the request."),
]
Pattern = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="A name, or a pattern where `*` matches any run of characters.")]
PatternList = Annotated[list[Pattern], msgspec.Meta(min_length=1, max_length=512)]
TimestampNs = Annotated[int, msgspec.Meta(description="Nanoseconds since the Unix epoch, UTC.")]


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"  # not parseable JSON (or not UTF-8)
    BAD_REQUEST = "bad_request"  # valid JSON, wrong shape: not an object, wrong types, unknown or missing fields
    UNKNOWN_OP = "unknown_op"
    UNKNOWN_CHANNEL = "unknown_channel"
    UNKNOWN_EXCHANGE = "unknown_exchange"
    UNKNOWN_SYMBOL = "unknown_symbol"
    TOO_LARGE = "too_large"  # a request above the server's max_request_bytes
    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
    RATE_LIMITED = "rate_limited"


class CloseCode(IntEnum):
    """WebSocket close codes the server uses (4000-4999 are application codes)."""

    GOING_AWAY = 1001  # the collector is shutting down
    INTERNAL_ERROR = 1011
    LAGGED = 4001  # the client fell too far behind (a `lagged` frame precedes the close)


# Client -> server -----------------------------------------------------------


class Subscribe(msgspec.Struct, tag="subscribe", tag_field="op", forbid_unknown_fields=True, frozen=True):
    """Add the cross product channels x exchanges x symbols to this connection's subscriptions.

    The reply is `subscribed`, then one or more `snapshot` frames (the last has final=true), then live events.
    """

    channels: PatternList = msgspec.field(default_factory=lambda: [WILDCARD])
    exchanges: PatternList = msgspec.field(default_factory=lambda: [WILDCARD])
    symbols: PatternList = msgspec.field(default_factory=lambda: [WILDCARD])
    id: RequestId = None


class Unsubscribe(msgspec.Struct, tag="unsubscribe", tag_field="op", forbid_unknown_fields=True, frozen=True):
    """Remove exactly these patterns (as they were subscribed); the reply is `unsubscribed`."""

    channels: PatternList = msgspec.field(default_factory=lambda: [WILDCARD])
    exchanges: PatternList = msgspec.field(default_factory=lambda: [WILDCARD])
    symbols: PatternList = msgspec.field(default_factory=lambda: [WILDCARD])
    id: RequestId = None


class Ping(msgspec.Struct, tag="ping", tag_field="op", forbid_unknown_fields=True, frozen=True):
    """Ask for a `pong` (application-level round trip)."""

    id: RequestId = None


Request = Subscribe | Unsubscribe | Ping
REQUEST_TYPES: dict[str, type[Subscribe] | type[Unsubscribe] | type[Ping]] = {
    "subscribe": Subscribe,
    "unsubscribe": Unsubscribe,
    "ping": Ping,
}


# Server -> client -----------------------------------------------------------


class Subscription(msgspec.Struct, frozen=True, order=True):
    """One subscription pattern: channel (or *), exchange pattern, symbol pattern."""

    channel: str
    exchange: str
    symbol: str


class ExchangeInfo(msgspec.Struct, frozen=True):
    channels: list[str]
    symbols: list[str]


class Limits(msgspec.Struct, frozen=True):
    max_request_bytes: int
    max_subscriptions: int
    requests_per_s: float
    request_burst: int
    client_buffer_events: int
    max_frame_bytes: int


class Hello(msgspec.Struct, tag="hello", tag_field="type", frozen=True):
    """The first frame of every connection: protocol version, liveness, limits and what can be subscribed."""

    seq: Seq
    protocol: int
    heartbeat_s: Annotated[float, msgspec.Meta(description="A frame (at least a heartbeat) arrives at least this often.")]
    limits: Limits
    exchanges: dict[str, ExchangeInfo]


class Subscribed(msgspec.Struct, tag="subscribed", tag_field="type", frozen=True):
    """Reply to `subscribe`: the patterns added and all of this connection's subscriptions."""

    seq: Seq
    id: RequestId
    added: list[Subscription]
    subscriptions: list[Subscription]


class Unsubscribed(msgspec.Struct, tag="unsubscribed", tag_field="type", frozen=True):
    seq: Seq
    id: RequestId
    removed: list[Subscription]
    subscriptions: list[Subscription]


class Snapshot(msgspec.Struct, tag="snapshot", tag_field="type", frozen=True):
    """The latest ticker, book (and status) of every stream the subscription matches, sent before live events.

    Large snapshots span several frames; the last one for a request has final=true.
    """

    seq: Seq
    id: RequestId
    final: bool
    events: list[Event]


class Events(msgspec.Struct, tag="events", tag_field="type", frozen=True):
    """Live events, oldest first: one frame may carry many (batching).

    `coalesced` counts ticker/book updates this client did not receive since its previous frame because it
    fell behind (a newer value of the same stream replaced them). Trades and status events are never coalesced.
    """

    seq: Seq
    events: list[Event]
    coalesced: Annotated[int, msgspec.Meta(ge=0)] = 0


class Pong(msgspec.Struct, tag="pong", tag_field="type", frozen=True):
    seq: Seq
    id: RequestId
    ts: TimestampNs


class Heartbeat(msgspec.Struct, tag="heartbeat", tag_field="type", frozen=True):
    """Sent when a connection has been idle for heartbeat_s."""

    seq: Seq
    ts: TimestampNs


class Error(msgspec.Struct, tag="error", tag_field="type", frozen=True):
    """A request was rejected; the connection stays open. `id` echoes the request's id when it could be read."""

    seq: Seq
    id: RequestId
    code: ErrorCode
    message: str


class Lagged(msgspec.Struct, tag="lagged", tag_field="type", frozen=True):
    """The client fell too far behind on events that are never dropped; the server closes with code 4001 next."""

    seq: Seq
    events: Annotated[int, msgspec.Meta(description="Events waiting for this client when it was cut off.")]
    trades: Annotated[int, msgspec.Meta(description="Of those, trades and status events (never coalesced).")]
    behind_s: Annotated[float, msgspec.Meta(description="Receive-time span of the waiting events, oldest to newest.")]
    message: str


ServerMessage = Hello | Subscribed | Unsubscribed | Snapshot | Events | Pong | Heartbeat | Error | Lagged
SERVER_TYPES = frozenset({"hello", "subscribed", "unsubscribed", "snapshot", "events", "pong", "heartbeat", "error", "lagged"})
