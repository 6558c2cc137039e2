"""The I/O edge of one simulated venue: plain-http REST and a wss server, fanning frames out.

Each websocket connection has a send queue drained by its own writer task, so a frame reaches a
connection in the order it was produced: subscription replies (including Bybit's book snapshot)
and market frames never overtake each other, and a stall (the writer pausing) delays without
reordering. Everything between taking a book snapshot and queueing later updates happens without
an `await`, which is what keeps snapshots and update ids consistent for clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable

from aiohttp import WSCloseCode, WSMsgType, web

from shared.events import Channel
from sim.faults import Faults
from sim.model_events import BookDelta, MarketEvent, TradeEvent
from sim.stats import VenueStats
from sim.venues.base import Reject, RestReply, RestRequest, Route, Session, Sub, Venue, channel_of, dumps

LOG = logging.getLogger(__name__)

MAX_QUEUED_FRAMES = 100_000  # a client this far behind is cut off, as exchanges do with slow consumers
CONTROL = "control"  # the stats label of frames that are not market data (acks, pongs, snapshots)
_CLOSE = None


class _Connection:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request, session: Session, stats: VenueStats, gate: asyncio.Event) -> None:
        self.ws = ws
        self.request = request
        self.session = session
        self.indexed: set[Sub] = set()
        self._stats = stats
        self._gate = gate
        self._queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue()

    def push(self, frame: str, label: str) -> None:
        if self._queue.qsize() >= MAX_QUEUED_FRAMES:
            self._stats.slow_consumers += 1
            self.abort()
            return
        self._queue.put_nowait((frame, label))

    def close_after_queued(self) -> None:
        self._queue.put_nowait(_CLOSE)

    def abort(self) -> None:
        """Cut the TCP connection without a close frame, like a network failure."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def write_loop(self) -> None:
        while True:
            item = await self._queue.get()
            if item is _CLOSE:
                await self.ws.close(code=WSCloseCode.OK)
                return
            if not self._gate.is_set():
                await self._gate.wait()
            frame, label = item
            try:
                await self.ws.send_str(frame)
            except ConnectionError:
                return
            self._stats.sent[label] += 1


class VenueServer:
    def __init__(
        self,
        venue: Venue,
        host: str,
        rest_port: int,
        ws_port: int,
        server_ssl: ssl.SSLContext,
        faults: Faults,
        clock: Callable[[], float],
    ) -> None:
        self.venue = venue
        self.stats = VenueStats()
        self._host = host
        self._ports = (rest_port, ws_port)
        self._ssl = server_ssl
        self._faults = faults
        self._clock = clock
        self._gate = asyncio.Event()
        self._gate.set()
        self._connections: set[_Connection] = set()
        self._index: dict[tuple[Channel, str], dict[Sub, set[_Connection]]] = {}
        self._runners: list[web.AppRunner] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.rest_port = 0
        self.ws_port = 0

    # --- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        rest = web.Application()
        for route in self.venue.routes():
            rest.router.add_route(route.method, route.path, self._rest_handler(route))
        ws = web.Application()
        ws.router.add_route("GET", "/{tail:.*}", self._ws_handler)
        self.rest_port = await self._serve(rest, self._ports[0], None)
        self.ws_port = await self._serve(ws, self._ports[1], self._ssl)
        self.venue.view.rest_url = f"http://{_url_host(self._host)}:{self.rest_port}"
        self.venue.view.ws_url = f"wss://{_url_host(self._host)}:{self.ws_port}"
        if self._faults.drops:
            self._tasks.append(asyncio.create_task(self._drop_loop()))
        if self._faults.stalls:
            self._tasks.append(asyncio.create_task(self._stall_loop()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._gate.set()
        closing = [c.ws.close(code=WSCloseCode.GOING_AWAY, message=b"simulator shutting down") for c in list(self._connections)]
        if closing:
            await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), timeout=5)
        for runner in self._runners:
            await runner.cleanup()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _serve(self, app: web.Application, port: int, context: ssl.SSLContext | None) -> int:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        self._runners.append(runner)
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # Binding our own socket is what lets port 0 work: the kernel's choice is read back from it.
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, port))
            await web.SockSite(runner, sock, ssl_context=context).start()
        except BaseException:
            sock.close()
            raise
        return int(sock.getsockname()[1])

    # --- market data ---------------------------------------------------------------------------

    def publish(self, event: MarketEvent) -> None:
        stats = self.stats
        if isinstance(event, BookDelta):
            first, last = self.venue.wire_book_ids(event)
            if self._faults.skip_book_update():
                stats.skipped_book_ids.append((event.symbol, first, last))
                return
            stats.book_ids.append((event.symbol, first, last))
        elif isinstance(event, TradeEvent):
            stats.trade_ids.append((event.symbol, self.venue.wire_trade_id(event)))
        channel = channel_of(event)
        for sub, connections in self._index.get((channel, event.symbol), {}).items():
            if connections:
                frame = self.venue.encode(event, sub)
                for connection in connections:
                    connection.push(frame, channel.value)

    # --- REST ----------------------------------------------------------------------------------

    def _rest_handler(self, route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            self.stats.rest_calls[route.name] += 1
            if self._faults.rest_error():
                self.stats.rest_errors += 1
                reply = self.venue.server_error()
            else:
                body = await request.read()
                reply = route.handler(RestRequest(request.method, request.path, request.query, request.headers, body))
            return _json(reply)

        return handle

    # --- websocket -----------------------------------------------------------------------------

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        try:
            session = self.venue.open_session(request.path, request.query)
        except Reject as reject:
            return _json(RestReply(reject.status, reject.body))
        ws = web.WebSocketResponse(autoping=True, compress=False, max_msg_size=1 << 20, heartbeat=type(self.venue).server_ping_s)
        if not ws.can_prepare(request).ok:
            return _json(RestReply(400, {"error": "websocket upgrade expected"}))
        await ws.prepare(request)
        connection = _Connection(ws, request, session, self.stats, self._gate)
        self._connections.add(connection)
        self.stats.ws_accepted += 1
        self.stats.ws_open += 1
        writer = asyncio.create_task(connection.write_loop())
        try:
            self._answer(connection, session.opening())
            if not session.close:
                async for message in ws:
                    if message.type == WSMsgType.TEXT:
                        self._answer(connection, session.on_text(message.data))
                    if session.close:
                        break
            if session.close:
                await asyncio.wait_for(writer, timeout=5)
        except (TimeoutError, ConnectionError):
            pass
        finally:
            self._unindex(connection)
            self._connections.discard(connection)
            self.stats.ws_open -= 1
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await writer
        return ws

    def _answer(self, connection: _Connection, frames: list[str]) -> None:
        """Queue a session's replies and bring the subscription index up to date, in one step."""
        for frame in frames:
            connection.push(frame, CONTROL)
        self._reindex(connection)
        if connection.session.close:
            connection.close_after_queued()

    def _reindex(self, connection: _Connection) -> None:
        current = connection.session.subs
        for sub in connection.indexed - current:
            self._index[(sub.channel, sub.symbol)][sub].discard(connection)
        for sub in current - connection.indexed:
            self._index.setdefault((sub.channel, sub.symbol), {}).setdefault(sub, set()).add(connection)
        connection.indexed = set(current)

    def _unindex(self, connection: _Connection) -> None:
        connection.session.subs = set()
        self._reindex(connection)

    # --- faults --------------------------------------------------------------------------------

    async def _drop_loop(self) -> None:
        while True:
            now = self._clock()
            await asyncio.sleep(max(0.0, self._faults.next_drop(now) - now))
            self.stats.drops += 1
            LOG.info("%s: dropping %d websocket connection(s) (injected fault)", self.venue.name, len(self._connections))
            for connection in list(self._connections):
                connection.abort()

    async def _stall_loop(self) -> None:
        while True:
            now = self._clock()
            begin, end = self._faults.next_stall(now)
            await asyncio.sleep(max(0.0, begin - now))
            self.stats.stalls += 1
            LOG.info("%s: stalling every stream for %.1f s (injected fault)", self.venue.name, end - begin)
            self._gate.clear()
            try:
                await asyncio.sleep(max(0.0, end - self._clock()))
            finally:
                self._gate.set()


def _json(reply: RestReply) -> web.Response:
    return web.Response(status=reply.status, text=dumps(reply.body), content_type="application/json")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
