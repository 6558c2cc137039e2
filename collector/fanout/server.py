"""The fan-out server's edge: the WebSocket listener, admission (token, connection limit), flush timing, heartbeats.

`consume` is the dispatcher consumer: synchronous and cheap (encode once, route, maybe arm a timer);
the flush that hands batches to clients runs later on the event loop, at most batch_ms after the
first waiting event, or at once when batch_max_events are waiting.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from contextlib import suppress
from http import HTTPStatus
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from collector.fanout.hub import Hub
from collector.fanout.outbox import Message
from collector.fanout.session import Session
from collector.fanout.subscriptions import Catalog
from shared.auth import UNAUTHORIZED, refuse_exposed_without_token, supplied_token, token_matches
from shared.events import Event
from shared.protocol import PROTOCOL_VERSION, CloseCode, ExchangeInfo, Heartbeat, Hello, Limits
from shared.settings import ExchangeSettings
from shared.settings.server import ServerSettings

LOG = logging.getLogger(__name__)
SHUTDOWN_REASON = "collector shutting down"


class FanoutServer:
    def __init__(self, settings: ServerSettings, exchanges: dict[str, ExchangeSettings]) -> None:
        refuse_exposed_without_token("server", settings.host, settings.token)
        self.settings = settings
        self._token = settings.token_value()
        self.hub = Hub(Catalog(exchanges), settings.client_buffer_events, settings.max_frame_bytes, settings.max_subscriptions)
        self._hello_limits = Limits(max_request_bytes=settings.max_request_bytes, max_subscriptions=settings.max_subscriptions,
                                    requests_per_s=settings.requests_per_s, request_burst=settings.request_burst,
                                    client_buffer_events=settings.client_buffer_events, max_frame_bytes=settings.max_frame_bytes)
        self._exchanges = {name: ExchangeInfo(channels=sorted(channels), symbols=list(symbols))
                           for name, (channels, symbols) in self.hub.catalog.exchanges.items()}
        self._write_limit = max(64 * 1024, settings.max_frame_bytes // 2)
        self._batch_s = settings.batch_ms / 1000.0
        self._server: Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._soon = False
        self._heartbeats: asyncio.Task[None] | None = None
        self.sessions: set[Session] = set()
        self.refused = {"token": 0, "max_connections": 0}
        self.url = ""

    # lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._server = await serve(
            self._handle, s.host, s.port, process_request=self._admit, compression=None,
            max_size=s.max_message_bytes, ping_interval=s.ping_interval_s, ping_timeout=s.ping_timeout_s,
            close_timeout=s.close_timeout_s, write_limit=self._write_limit, logger=LOG,
        )
        port = self._server.sockets[0].getsockname()[1]
        host = f"[{s.host}]" if ":" in s.host else s.host
        self.url = f"ws://{host}:{port}/"
        self._heartbeats = asyncio.create_task(self._heartbeat_loop())
        LOG.info("fan-out server listening on %s", self.url)

    async def stop(self) -> None:
        """Deliver what is waiting (bounded by close_timeout_s), then close every client with 1001 and a reason."""
        if self._server is None:
            return
        if self._heartbeats is not None:
            self._heartbeats.cancel()
            with suppress(asyncio.CancelledError):
                await self._heartbeats
        self._flush()
        deadline = time.monotonic() + self.settings.close_timeout_s
        while time.monotonic() < deadline and not all(session.idle() for session in self.sessions):
            await asyncio.sleep(0.01)
        self._server.close(code=CloseCode.GOING_AWAY, reason=SHUTDOWN_REASON)
        await self._server.wait_closed()
        self._server = None

    def stats(self) -> dict[str, object]:
        """For /health and /metrics."""
        return {"url": self.url, "clients": len(self.sessions), "refused_token": self.refused["token"],
                "refused_max_connections": self.refused["max_connections"],
                "frames_written": sum(session.frames_written for session in self.sessions)}

    # ingest side -----------------------------------------------------------------------

    def consume(self, event: Event) -> None:
        """The dispatcher consumer: never blocks, never waits for a client."""
        if threading.get_ident() != self._loop_thread:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self.consume, event)
            return
        waiting = self.hub.publish(event)
        if waiting == 0:
            return
        assert self._loop is not None
        if waiting >= self.settings.batch_max_events:
            if not self._soon:
                self._soon = True
                self._loop.call_soon(self._flush)
        elif self._timer is None:
            self._timer = (self._loop.call_later(self._batch_s, self._flush) if self._batch_s > 0
                           else self._loop.call_soon(self._flush))

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._soon = False
        self.hub.flush()

    # connections -----------------------------------------------------------------------

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        if self._token is not None and not token_matches(
                supplied_token(request.headers.get("Authorization"), urlsplit(request.path).query), self._token):
            self.refused["token"] += 1
            return connection.respond(HTTPStatus.UNAUTHORIZED, UNAUTHORIZED + "\n")
        assert self._server is not None
        # Runs synchronously up to the handshake response, so counting open connections here cannot race.
        if len(self._server.connections) >= self.settings.max_connections:
            self.refused["max_connections"] += 1
            response = connection.respond(HTTPStatus.SERVICE_UNAVAILABLE,
                                          f"too many connections: this server accepts at most {self.settings.max_connections}\n")
            response.headers["Retry-After"] = "1"
            return response
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        session = Session(connection, self.hub, self.settings, self._write_limit)
        self.sessions.add(session)
        try:
            self.hub.send(session.subscriber, Message(Hello(
                seq=0, protocol=PROTOCOL_VERSION, heartbeat_s=self.settings.heartbeat_s,
                limits=self._hello_limits, exchanges=self._exchanges)))
            await session.serve()
        finally:
            self.sessions.discard(session)

    async def _heartbeat_loop(self) -> None:
        interval = self.settings.heartbeat_s
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval / 4)
            now = loop.time()
            for session in list(self.sessions):
                if now - session.last_write >= interval:
                    session.last_write = now  # one heartbeat per idle interval, even while it waits to be written
                    self.hub.send(session.subscriber, Message(Heartbeat(seq=0, ts=time.time_ns())))
