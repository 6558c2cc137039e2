"""The reference client of the collector's fan-out server (docs/protocol.md), for the trader, tools and notebooks.

    client = FanoutClient("ws://127.0.0.1:8765/", [Filter(channels=("ticker",), symbols=("BTC-USDT",))])
    async for item in client.stream():
        if isinstance(item, Received): ...      # item.event, item.snapshot
        else: ...                               # a Notice: connected, reconnected, gap, lagged, ...

It checks that frame numbers run 1, 2, 3... on each connection and reports any gap; it treats a
silence longer than a few heartbeat intervals as a dead server; it reconnects with exponential
backoff (with jitter) and resubscribes, after which a fresh snapshot arrives. Fatal problems (a
refused token, a rejected subscription, an unknown protocol version) raise `ClientError`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from shared.events import Event
from shared.protocol import (
    PROTOCOL_VERSION,
    WILDCARD,
    Error,
    Events,
    Hello,
    Lagged,
    ServerMessage,
    Snapshot,
    Subscribe,
    Subscribed,
    encode,
    read_server_frame,
)


@dataclass(frozen=True)
class Filter:
    """One subscribe request: the cross product of channels x exchanges x symbols (`*` wildcards)."""

    channels: tuple[str, ...] = (WILDCARD,)
    exchanges: tuple[str, ...] = (WILDCARD,)
    symbols: tuple[str, ...] = (WILDCARD,)


@dataclass(frozen=True, slots=True)
class Received:
    event: Event
    snapshot: bool  # part of the snapshot sent after (re)subscribing, not a live update


class NoticeKind(StrEnum):
    CONNECTED = "connected"  # first connection, subscriptions sent
    RECONNECTED = "reconnected"  # after a loss: events in between are missing; a snapshot follows
    DISCONNECTED = "disconnected"  # connection lost, refused, or the server went silent
    GAP = "gap"  # frame numbers skipped on a live connection (`missed` frames)
    COALESCED = "coalesced"  # the server dropped `missed` ticker/book updates because this client fell behind
    LAGGED = "lagged"  # the server is cutting this client off for falling too far behind
    ERROR = "error"  # the server rejected a request that was not a subscription


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    message: str
    missed: int = 0


class ClientError(Exception):
    """A problem reconnecting cannot fix: wrong token, rejected subscription, incompatible server,
    a frame this client cannot decode (named by type, seq and field)."""


def describe_frame(data: bytes, expected: int) -> str:
    """`events frame seq 17`, or what can be told of a frame whose envelope does not even parse."""
    try:
        envelope = msgspec.json.decode(data, type=dict[str, Any])
    except msgspec.MsgspecError:
        return f"an unreadable frame of {len(data)} bytes (expected seq {expected})"
    return f"{envelope.get('type', 'untyped')!s} frame seq {envelope.get('seq', '?')!s}"


Item = Received | Notice


class FanoutClient:
    def __init__(self, url: str, filters: Sequence[Filter] = (Filter(),), *, token: str | None = None,
                 min_backoff_s: float = 0.1, max_backoff_s: float = 5.0, silence_heartbeats: float = 3.0,
                 open_timeout_s: float = 5.0) -> None:
        self.url = url
        self.filters = tuple(filters)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._min_backoff = min_backoff_s
        self._max_backoff = max_backoff_s
        self._silence_heartbeats = silence_heartbeats
        self._open_timeout = open_timeout_s
        self.connects = 0
        self.gaps = 0  # frames found missing by sequence checks, over all connections
        self.hello: Hello | None = None

    async def stream(self) -> AsyncGenerator[Item, None]:
        """Events and notices until the caller stops iterating; reconnects forever on connection problems."""
        failures = 0
        lost_at: float | None = None
        while True:
            try:
                connection = await connect(self.url, additional_headers=self._headers, compression=None, max_size=None,
                                           open_timeout=self._open_timeout, close_timeout=1.0, proxy=None)
            except InvalidStatus as exc:
                status, body = exc.response.status_code, exc.response.body.decode(errors="replace").strip()
                if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
                    raise ClientError(f"{self.url} refused the connection (HTTP {status}): {body}") from None
                yield Notice(NoticeKind.DISCONNECTED, f"{self.url} refused the connection (HTTP {status}): {body}")
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                if failures == 0:
                    yield Notice(NoticeKind.DISCONNECTED, f"cannot connect to {self.url}: {exc or type(exc).__name__}")
            else:
                async with connection, aclosing(self._session(connection, lost_at)) as items:
                    failures = 0
                    async for item in items:
                        yield item
                    lost_at = time.monotonic()
            failures += 1
            await asyncio.sleep(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        delay = min(self._max_backoff, self._min_backoff * 2 ** min(failures - 1, 30))
        return delay * random.uniform(0.5, 1.0)

    async def _session(self, connection: ClientConnection, lost_at: float | None) -> AsyncGenerator[Item, None]:
        expected = 1
        silence = self._open_timeout
        pending: dict[str, Filter] = {}
        try:
            while True:
                async with asyncio.timeout(silence):
                    data = await connection.recv(decode=False)
                seq, message = self._read(data, expected)
                if seq != expected:
                    missed = seq - expected
                    self.gaps += max(missed, 0)
                    yield Notice(NoticeKind.GAP, f"frame {seq} after {expected - 1}: {missed} frame(s) missing", missed)
                expected = seq + 1
                if message is None:
                    continue  # a frame type newer than this client: numbered, otherwise ignored
                if isinstance(message, Hello):
                    self._check_hello(message)
                    silence = message.heartbeat_s * self._silence_heartbeats
                    pending = await self._subscribe(connection)
                    self.connects += 1
                    if lost_at is None:
                        yield Notice(NoticeKind.CONNECTED, f"connected to {self.url}, subscribed")
                    else:
                        yield Notice(NoticeKind.RECONNECTED,
                                     f"reconnected to {self.url} after {time.monotonic() - lost_at:.1f} s: events in between "
                                     "are missing; a fresh snapshot follows")
                    continue
                for item in self._items(message, pending):
                    yield item
        except TimeoutError:
            yield Notice(NoticeKind.DISCONNECTED, f"no frame from {self.url} for {silence:.1f} s: presuming the server dead")
        except ConnectionClosed as exc:
            reason = f"code {exc.rcvd.code}, {exc.rcvd.reason!r}" if exc.rcvd else "no close frame"
            yield Notice(NoticeKind.DISCONNECTED, f"connection to {self.url} closed ({reason})")

    def _read(self, data: bytes, expected: int) -> tuple[int, ServerMessage | None]:
        try:
            return read_server_frame(data)
        except msgspec.MsgspecError as exc:
            raise ClientError(f"cannot decode {describe_frame(data, expected)} from {self.url}: {exc}") from None

    def _items(self, message: ServerMessage, pending: dict[str, Filter]) -> list[Item]:
        if isinstance(message, Events):
            items: list[Item] = [Received(event, False) for event in message.events]
            if message.coalesced:
                items.insert(0, Notice(NoticeKind.COALESCED, f"server coalesced {message.coalesced} ticker/book updates "
                                       "(this client fell behind)", message.coalesced))
            return items
        if isinstance(message, Snapshot):
            return [Received(event, True) for event in message.events]
        if isinstance(message, Subscribed):
            pending.pop(str(message.id), None)
        elif isinstance(message, Error):
            if str(message.id) in pending:
                raise ClientError(f"subscription {pending[str(message.id)]} rejected: {message.code}: {message.message}")
            return [Notice(NoticeKind.ERROR, f"{message.code}: {message.message}")]
        elif isinstance(message, Lagged):
            return [Notice(NoticeKind.LAGGED, message.message, message.events)]
        return []

    def _check_hello(self, hello: Hello) -> None:
        if hello.protocol != PROTOCOL_VERSION:
            raise ClientError(f"{self.url} speaks protocol v{hello.protocol}; this client speaks v{PROTOCOL_VERSION}")
        self.hello = hello

    async def _subscribe(self, connection: ClientConnection) -> dict[str, Filter]:
        pending = {}
        for i, f in enumerate(self.filters):
            request_id = f"sub-{i}"
            pending[request_id] = f
            await connection.send(encode(Subscribe(channels=list(f.channels), exchanges=list(f.exchanges),
                                                   symbols=list(f.symbols), id=request_id)), text=True)
        return pending
