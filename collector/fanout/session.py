"""One WebSocket connection: requests in, frames out, without ever letting it slow anyone else.

Writing has two paths. The fast path runs inside the hub's flush: when the socket's write buffer
is below its limit and no write is in progress, the outbox is framed and written synchronously
(no task switch per client per frame). Otherwise the connection's own writer task takes over: it
waits for the socket to drain while the outbox keeps filling (and coalescing) behind it.
A lagged client gets its `lagged` frame and a 4001 close, from a task of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

from collector.fanout.hub import Hub
from collector.fanout.limits import TokenBucket
from collector.fanout.outbox import Message
from shared.protocol import CloseCode, Error, ErrorCode, Ping, Pong, RequestError, Subscribe, parse_request
from shared.settings.server import ServerSettings

LOG = logging.getLogger(__name__)


class Session:
    def __init__(self, connection: ServerConnection, hub: Hub, settings: ServerSettings, write_limit: int) -> None:
        self.connection = connection
        self.hub = hub
        self.settings = settings
        self._write_limit = write_limit
        self._loop = asyncio.get_running_loop()
        self.subscriber = hub.connect(self.wake)
        self.outbox = self.subscriber.outbox
        self.last_write = self._loop.time()
        self._ready = asyncio.Event()
        self._writing = False
        self._closing = False
        self._lag_noticed = False
        self._bucket = TokenBucket(settings.requests_per_s, settings.request_burst, time.monotonic)
        self._rate_notice_at = -1.0e9
        self._rate_dropped = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.frames_written = 0

    # writing ------------------------------------------------------------------------

    def wake(self) -> None:
        """Called (synchronously) whenever something was queued for this client."""
        if self._closing:
            return
        if self.outbox.lagged is not None:
            self._closing = True
            if not self._writing:  # else the writer sends the notice once the frames it numbered are out
                self._spawn(self._close_lagged())
            return
        if self._writing or self.connection.transport.get_write_buffer_size() > self._write_limit:
            self._ready.set()
            return
        self._write_now(self.outbox.take_frames())

    def _write_now(self, frames: list[bytes]) -> None:
        connection = (self.connection,)
        try:
            for frame in frames:
                broadcast(connection, frame, raise_exceptions=True, text=True)
        except Exception as exc:  # this runs inside the hub's flush: one broken socket must not stop the others
            cause = exc.exceptions[0].__cause__ if isinstance(exc, ExceptionGroup) else exc
            LOG.info("client %d: write failed (%s); dropping it", self.subscriber.id, cause)
            self._closing = True
            self.connection.transport.abort()
            return
        self.frames_written += len(frames)
        self.last_write = self._loop.time()

    async def writer(self) -> None:
        """The slow path: write while waiting for the socket to drain; the outbox coalesces meanwhile."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self.outbox.lagged is not None:
                self._closing = True
                self._spawn(self._close_lagged())
                return
            if self._closing:
                return
            self._writing = True
            try:
                while self.outbox and self.outbox.lagged is None:
                    for frame in self.outbox.take_frames():
                        await self.connection.send(frame, text=True)
                        self.frames_written += 1
                    self.last_write = self._loop.time()
            except ConnectionClosed:
                return
            finally:
                self._writing = False
            if self.outbox.lagged is not None:
                # Every numbered frame is written: the notice follows them, so `seq` stays contiguous.
                self._closing = True
                self._spawn(self._close_lagged())
                return

    async def _close_lagged(self) -> None:
        report = self.outbox.lagged
        assert report is not None
        if self._lag_noticed:
            return
        self._lag_noticed = True
        LOG.warning("client %d lagged: %s", self.subscriber.id, report.message)
        # No backpressure on purpose: the notice goes behind what is already buffered for the socket.
        broadcast((self.connection,), self.outbox.lagged_frame(), text=True)
        await self.connection.close(CloseCode.LAGGED, f"lagged: {report.events} events behind")

    def idle(self) -> bool:
        return not self._writing and not self.outbox and self.connection.transport.get_write_buffer_size() == 0

    # reading ------------------------------------------------------------------------

    async def serve(self) -> None:
        """Read requests until the connection closes; every bad request is answered and the loop carries on."""
        writer = asyncio.create_task(self.writer())
        try:
            while True:
                data = await self.connection.recv(decode=False)
                self.handle(data)
        except ConnectionClosed:
            pass
        finally:
            self._closing = True
            self.hub.disconnect(self.subscriber)
            writer.cancel()
            for task in (writer, *self._tasks):
                try:
                    await task
                except (asyncio.CancelledError, ConnectionClosed):
                    pass

    def handle(self, data: bytes) -> None:
        if not self._bucket.allow():
            self._rate_limited()
            return
        try:
            request = parse_request(data, self.settings.max_request_bytes)
            if isinstance(request, Subscribe):
                self.hub.subscribe(self.subscriber, request)
            elif isinstance(request, Ping):
                self.hub.send(self.subscriber, Message(Pong(seq=0, id=request.id, ts=time.time_ns())))
            else:
                self.hub.unsubscribe(self.subscriber, request)
        except RequestError as exc:
            self.hub.send(self.subscriber, Message(Error(seq=0, id=exc.request_id, code=exc.code, message=exc.message)))

    def _rate_limited(self) -> None:
        """One notice per second at most, counting what was dropped: a flood must not become a reply flood."""
        self._rate_dropped += 1
        now = time.monotonic()
        if now - self._rate_notice_at < 1.0:
            return
        self._rate_notice_at = now
        dropped, self._rate_dropped = self._rate_dropped, 0
        message = (f"more than {self.settings.requests_per_s:g} requests/s (burst {self.settings.request_burst}): "
                   f"{dropped} request(s) ignored since the last notice; retry after {self._bucket.retry_after():.2f} s")
        self.hub.send(self.subscriber, Message(Error(seq=0, id=None, code=ErrorCode.RATE_LIMITED, message=message)))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
