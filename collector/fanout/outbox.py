"""One client's bounded backlog: what waits to be written, coalescing when it falls behind, and framing.

Events arrive as `Batch`es shared by every client with the same subscriptions (the encoded bytes
are joined once per batch, never per client). Replies and snapshots arrive as control items.
Order is kept: frames leave in the order items arrived, numbered by the connection's `seq`.

When the backlog exceeds `buffer_events`, runs of batches are coalesced: for tickers and books
only the latest value per stream is kept (at its latest position); trades and status events are
never dropped. If that cannot bring the backlog under half the buffer, the client is *lagged*:
the backlog is discarded and a `Lagged` notice is all that is left to send.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Protocol

import msgspec

from shared.protocol import (
    Error,
    Heartbeat,
    Hello,
    Lagged,
    Pong,
    RequestId,
    Subscribed,
    Unsubscribed,
    encode,
    events_frame,
    snapshot_frame,
)

# (coalescing key, encoded event, ts_recv): the key is the stream for tickers and books, None for
# events that must never be dropped (trades, status).
Entry = tuple[Hashable | None, bytes, int]

# Room left in a frame for the `events` envelope around the joined events (type, seq, coalesced: 89
# bytes at most), so that whole frames, not just their events, stay under max_frame_bytes.
ENVELOPE_BYTES = 128


class Batch:
    """Events for one subscription view, in publish order; immutable once built and shared by clients."""

    __slots__ = ("body", "count", "entries", "hard")

    def __init__(self, entries: list[Entry], hard: int) -> None:
        self.entries = entries
        self.count = len(entries)
        self.hard = hard  # entries that are never coalesced
        self.body = b",".join([entry[1] for entry in entries])


class Control(Protocol):
    """A non-event frame waiting for its sequence number."""

    weight: int  # how much it counts in the backlog (1: a snapshot is bounded by the number of streams)

    def frame(self, seq: int) -> bytes: ...


ControlStruct = Hello | Subscribed | Unsubscribed | Pong | Heartbeat | Error | Lagged


class Message:
    __slots__ = ("message", "weight")

    def __init__(self, message: ControlStruct) -> None:
        self.message = message  # built with seq=0; the real number is set when framed
        self.weight = 1

    def frame(self, seq: int) -> bytes:
        return encode(msgspec.structs.replace(self.message, seq=seq))


class SnapshotChunk:
    __slots__ = ("body", "final", "request_id", "weight")

    def __init__(self, request_id: RequestId, final: bool, events: list[bytes]) -> None:
        self.request_id = request_id
        self.final = final
        self.weight = 1
        self.body = b",".join(events)

    def frame(self, seq: int) -> bytes:
        return snapshot_frame(seq, self.request_id, self.final, self.body)


class Outbox:
    def __init__(self, buffer_events: int, max_frame_bytes: int) -> None:
        self._items: deque[Batch | Control] = deque()
        self._limit = buffer_events
        self._max_body = max_frame_bytes - ENVELOPE_BYTES
        self.pending = 0  # events (and control frames) waiting
        self.hard = 0  # of which can never be coalesced
        self.seq = 0  # the last sequence number used
        self.coalesced = 0  # dropped by coalescing, not yet reported in an events frame
        self.coalesced_total = 0
        self.lagged: Lagged | None = None

    def __bool__(self) -> bool:
        return bool(self._items)

    def queued(self) -> tuple[Batch | Control, ...]:
        """What waits to be framed, oldest first."""
        return tuple(self._items)

    def push_batch(self, batch: Batch) -> None:
        if self.lagged is not None:
            return
        self._items.append(batch)
        self.pending += batch.count
        self.hard += batch.hard
        if self.pending > self._limit:
            self._relieve()

    def push(self, control: Control) -> None:
        if self.lagged is not None:
            return
        self._items.append(control)
        self.pending += control.weight
        self.hard += control.weight
        if self.pending > self._limit:
            self._relieve()

    def take_frames(self) -> list[bytes]:
        """Everything waiting, framed and numbered; consecutive batches share frames below max_frame_bytes
        (an event larger than that on its own is sent alone, in one larger frame)."""
        frames: list[bytes] = []
        bodies: list[bytes] = []
        size = 0
        for item in self._items:
            if isinstance(item, Batch):
                if bodies and size + len(item.body) >= self._max_body:
                    frames.append(self._events_frame(bodies))
                    bodies, size = [], 0
                if len(item.body) >= self._max_body:
                    for chunk in _split(item.entries, self._max_body):
                        frames.append(self._events_frame([chunk]))
                    continue
                bodies.append(item.body)
                size += len(item.body) + 1
            else:
                if bodies:
                    frames.append(self._events_frame(bodies))
                    bodies, size = [], 0
                self.seq += 1
                frames.append(item.frame(self.seq))
        if bodies:
            frames.append(self._events_frame(bodies))
        self._items.clear()
        self.pending = self.hard = 0
        return frames

    def lagged_frame(self) -> bytes:
        assert self.lagged is not None
        self.seq += 1
        return Message(self.lagged).frame(self.seq)

    def _events_frame(self, bodies: list[bytes]) -> bytes:
        self.seq += 1
        coalesced, self.coalesced = self.coalesced, 0
        return events_frame(self.seq, bodies[0] if len(bodies) == 1 else b",".join(bodies), coalesced)

    def _relieve(self) -> None:
        items: deque[Batch | Control] = deque()
        run: list[Batch] = []
        for item in self._items:
            if isinstance(item, Batch):
                run.append(item)
                continue
            if run:
                items.append(_coalesce(run))
                run = []
            items.append(item)
        if run:
            items.append(_coalesce(run))
        before = self.pending
        pending = sum(item.count if isinstance(item, Batch) else item.weight for item in items)
        self.coalesced += before - pending
        self.coalesced_total += before - pending
        self._items = items
        self.pending = pending
        if pending > self._limit // 2:
            self._lag()

    def _lag(self) -> None:
        stamps = [b.entries[i][2] for b in self._items if isinstance(b, Batch) and b.entries for i in (0, -1)]
        behind_s = (max(stamps) - min(stamps)) / 1e9 if stamps else 0.0
        self.lagged = Lagged(seq=0, events=self.pending, trades=self.hard, behind_s=round(behind_s, 3),
                             message=f"too far behind: {self.pending} events waiting, of which {self.hard} trades/status "
                                     f"that are never dropped, spanning {behind_s:.1f} s; disconnecting")
        self._items.clear()
        self.pending = self.hard = 0


def _coalesce(run: list[Batch]) -> Batch:
    """Keep every never-dropped entry and the latest entry per stream, in their original order."""
    if len(run) == 1 and run[0].hard == run[0].count:
        return run[0]
    seen: set[Hashable] = set()
    kept: list[Entry] = []
    hard = 0
    for batch in reversed(run):
        for entry in reversed(batch.entries):
            key = entry[0]
            if key is None:
                hard += 1
                kept.append(entry)
            elif key not in seen:
                seen.add(key)
                kept.append(entry)
    kept.reverse()
    return Batch(kept, hard)


def _split(entries: list[Entry], max_bytes: int) -> list[bytes]:
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for _, data, _ts in entries:
        if current and size + len(data) + 1 >= max_bytes:
            chunks.append(b",".join(current))
            current, size = [], 0
        current.append(data)
        size += len(data) + 1
    if current:
        chunks.append(b",".join(current))
    return chunks
