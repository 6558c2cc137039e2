"""The fan-out core, synchronous and socket-free: routing, snapshots, batching, per-client backlogs.

Throughput comes from sharing work. Each event is JSON-encoded once (and not at all while no
client wants it). Clients with the same set of
subscription patterns share one *view*; an event is appended once per matching view (routes are
cached per stream), and at each flush a view joins its pending events into one `Batch` that every
client of the view receives by reference. Per client and flush there is one append to its outbox
and one wake-up call; nothing is done per client per event.

Ordering: the hub flushes before any subscription change, so a new subscriber's snapshot is taken
after every earlier event was handed to the clients that wanted it, and every later event reaches
it through its view: snapshot first, then live, with nothing lost or repeated in between.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from itertools import count

from collector.fanout.outbox import Batch, Entry, Message, Outbox, SnapshotChunk
from collector.fanout.subscriptions import Catalog, Pattern
from shared.events import BookTop, Event, Status, Ticker, Trade
from shared.protocol import ErrorCode, RequestError, Subscribe, Subscribed, Subscription, Unsubscribe, Unsubscribed, encode

_CHANNEL: dict[type, str] = {Ticker: "ticker", Trade: "trade", BookTop: "book", Status: "status"}
StreamKey = tuple[str, str, str | None]  # (channel, exchange, symbol)


class Subscriber:
    """One connection as the hub sees it: its patterns, its view, its outbox, and how to wake its writer."""

    __slots__ = ("id", "outbox", "patterns", "view", "wake")

    def __init__(self, sid: int, outbox: Outbox, wake: Callable[[], None]) -> None:
        self.id = sid
        self.outbox = outbox
        self.wake = wake
        self.patterns: frozenset[Pattern] = frozenset()
        self.view: View | None = None


class View:
    """The clients sharing one set of patterns, and the events they have pending since the last flush."""

    __slots__ = ("entries", "hard", "patterns", "subscribers")

    def __init__(self, patterns: frozenset[Pattern]) -> None:
        self.patterns = patterns
        self.subscribers: list[Subscriber] = []
        self.entries: list[Entry] = []
        self.hard = 0

    def matches(self, key: StreamKey) -> bool:
        return any(p.matches(*key) for p in self.patterns)


class Hub:
    def __init__(self, catalog: Catalog, buffer_events: int, max_frame_bytes: int,
                 max_subscriptions: int) -> None:
        self.catalog = catalog
        self._buffer_events = buffer_events
        self._max_frame_bytes = max_frame_bytes
        self._max_subscriptions = max_subscriptions
        self._ids = count(1)
        self.subscribers: dict[int, Subscriber] = {}
        self._views: dict[frozenset[Pattern], View] = {}
        self._routes: dict[StreamKey, tuple[View, ...]] = {}
        self._active: list[View] = []  # views with pending entries, in the order they got them
        self._latest: dict[StreamKey, Event] = {}  # snapshot cache: latest ticker, book and status per stream
        self.pending = 0  # events routed since the last flush
        self.published = 0

    # ingest side ------------------------------------------------------------------

    def publish(self, event: Event) -> int:
        """Encode and route one event; returns the number of routed events now waiting for a flush (0: none)."""
        self.published += 1
        key: StreamKey = (_CHANNEL[type(event)], event.exchange, event.symbol)
        coalesce: Hashable | None = None
        if type(event) is Ticker or type(event) is BookTop:
            self._latest[key] = event
            coalesce = key
        elif type(event) is Status:
            self._latest[key] = event
        views = self._routes.get(key)
        if views is None:
            views = self._routes[key] = tuple(v for v in self._views.values() if v.matches(key))
        if not views:
            return self.pending  # nobody listens: not even encoded (the ingest path pays nothing)
        entry: Entry = (coalesce, encode(event), event.ts_recv)
        for view in views:
            if not view.entries:
                self._active.append(view)
            view.entries.append(entry)
            if coalesce is None:
                view.hard += 1
        self.pending += 1
        return self.pending

    def flush(self) -> None:
        """Hand every view's pending events, as one shared batch, to each of its clients, and wake them."""
        active, self._active = self._active, []
        self.pending = 0
        for view in active:
            batch = Batch(view.entries, view.hard)
            view.entries = []
            view.hard = 0
            for subscriber in view.subscribers:
                subscriber.outbox.push_batch(batch)
                subscriber.wake()

    # client side ------------------------------------------------------------------

    def connect(self, wake: Callable[[], None]) -> Subscriber:
        subscriber = Subscriber(next(self._ids), Outbox(self._buffer_events, self._max_frame_bytes), wake)
        self.subscribers[subscriber.id] = subscriber
        return subscriber

    def disconnect(self, subscriber: Subscriber) -> None:
        if self.subscribers.pop(subscriber.id, None) is None:
            return
        self._move(subscriber, frozenset())

    def subscribe(self, subscriber: Subscriber, request: Subscribe) -> None:
        """Add patterns; queue the reply and the snapshot. Raises RequestError (nothing changes) on a bad request."""
        room = self._max_subscriptions - len(subscriber.patterns)
        wanted = self.catalog.patterns(request.channels, request.exchanges, request.symbols,
                                       self._max_subscriptions, request.id)
        added = [p for p in wanted if p not in subscriber.patterns]
        if len(added) > room:
            raise RequestError(ErrorCode.TOO_MANY_SUBSCRIPTIONS,
                               f"{len(added)} new subscriptions with {len(subscriber.patterns)} held exceeds the limit "
                               f"of {self._max_subscriptions} per connection", request.id)
        self.flush()
        self._move(subscriber, subscriber.patterns | frozenset(added))
        outbox = subscriber.outbox
        outbox.push(Message(Subscribed(seq=0, id=request.id, added=[p.wire() for p in added],
                                       subscriptions=_wire(subscriber.patterns))))
        chunks = _chunks(self._snapshot(wanted), self._max_frame_bytes)
        for i, chunk in enumerate(chunks):
            outbox.push(SnapshotChunk(request.id, i == len(chunks) - 1, chunk))
        subscriber.wake()

    def unsubscribe(self, subscriber: Subscriber, request: Unsubscribe) -> None:
        """Remove exactly the listed patterns; names are validated as for subscribe, so a typo is an error, not a no-op."""
        requested = set(self.catalog.patterns(request.channels, request.exchanges, request.symbols,
                                              self._max_subscriptions, request.id))
        removed = subscriber.patterns & requested
        self.flush()
        self._move(subscriber, subscriber.patterns - removed)
        subscriber.outbox.push(Message(Unsubscribed(seq=0, id=request.id, removed=_wire(removed),
                                                    subscriptions=_wire(subscriber.patterns))))
        subscriber.wake()

    def send(self, subscriber: Subscriber, message: Message) -> None:
        subscriber.outbox.push(message)
        subscriber.wake()

    # internals --------------------------------------------------------------------

    def _snapshot(self, patterns: list[Pattern]) -> list[bytes]:
        return [encode(event) for key, event in sorted(self._latest.items(), key=_sort_key)
                if any(p.matches(*key) for p in patterns)]

    def _move(self, subscriber: Subscriber, patterns: frozenset[Pattern]) -> None:
        """Put the subscriber in the view for `patterns` (creating it, dropping the old one when empty)."""
        old = subscriber.view
        if old is not None:
            old.subscribers.remove(subscriber)
            if not old.subscribers:
                del self._views[old.patterns]
                self._routes.clear()
        subscriber.patterns = patterns
        subscriber.view = None
        if patterns:
            view = self._views.get(patterns)
            if view is None:
                view = self._views[patterns] = View(patterns)
                self._routes.clear()
            view.subscribers.append(subscriber)
            subscriber.view = view

    def status(self) -> dict[str, int]:
        return {"clients": len(self.subscribers), "views": len(self._views), "routes": len(self._routes),
                "streams_cached": len(self._latest), "published": self.published}


def _wire(patterns: frozenset[Pattern] | set[Pattern]) -> list[Subscription]:
    return [p.wire() for p in sorted(patterns)]


def _chunks(events: list[bytes], max_bytes: int) -> list[list[bytes]]:
    """Split encoded events into frame-sized groups; always at least one (possibly empty) group."""
    chunks: list[list[bytes]] = [[]]
    size = 0
    for data in events:
        if chunks[-1] and size + len(data) + 1 >= max_bytes - 256:
            chunks.append([])
            size = 0
        chunks[-1].append(data)
        size += len(data) + 1
    return chunks


def _sort_key(item: tuple[StreamKey, Event]) -> tuple[str, str, str]:
    channel, exchange, symbol = item[0]
    return exchange, symbol or "", channel
