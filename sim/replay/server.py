"""The replay server: recorded captures served as local venues, one plain-http port and one wss port each.

`ReplayApp` runs on whatever event loop starts it (the `spreadlake replay` command). `ReplayServer`
runs one in its own thread and loop: cryptofeed's feed constructors fetch symbol lists with blocking
HTTP, so a server sharing the client's loop would never answer them.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiohttp import WSCloseCode, WSMsgType, web

from shared import tls
from sim.replay.playback import Client, Playback, PlaybackOptions
from sim.replay.recording import Recording, Script, load_recordings, query_words
from sim.replay.synthetic import rewrite_origins, synthesize

LOG = logging.getLogger(__name__)
_RELEASE_WAIT_S = 2.0
_POLL_S = 0.02


@dataclass(frozen=True)
class Endpoints:
    rest_url: str  # http://host:port, serving recorded REST answers by path and query
    ws_url: str  # wss://host:port, serving recorded websocket connections by path


class _Venue:
    """One recording behind one aiohttp application (reachable on both of its ports)."""

    def __init__(self, recording: Recording, options: PlaybackOptions, on_progress: asyncio.Event) -> None:
        self.recording = recording
        self.options = options
        self.ws_base = ""  # set once the wss port is known
        self.unanswered: list[str] = []
        self.sockets: set[web.WebSocketResponse] = set()
        self.playbacks: dict[Script, Playback] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_progress = on_progress
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path, query = request.rel_url.raw_path, request.rel_url.raw_query_string
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, path, query)
        body = self.recording.answer(request.method, path, query)
        if body is None:
            body = synthesize(self.recording, path, self.ws_base)
        if body is None:
            self.unanswered.append(f"{request.method} {request.rel_url}")
            LOG.warning("%s: no recorded answer for %s %s", self.recording.exchange, request.method, request.rel_url)
            return web.Response(status=404, text=f"no recorded answer for {request.method} {request.rel_url}\n")
        if isinstance(body, bytes):
            return web.Response(body=body, content_type="application/octet-stream")
        body = rewrite_origins(body, self.recording, self.ws_base)
        kind = "application/json" if body[:1] in ("{", "[") else "text/plain"
        return web.Response(text=body, content_type=kind, charset="utf-8")

    async def _websocket(self, request: web.Request, path: str, query: str) -> web.StreamResponse:
        if not self.recording.knows_path(path):
            LOG.warning("%s: no recorded websocket connection on %s", self.recording.exchange, path)
            return web.Response(status=404, text=f"no recorded websocket connection on {path}\n")
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        self.sockets.add(ws)
        client = Client(ws, query_words(query))
        fallback: asyncio.Task[None] | None = None
        try:
            # Subscribed in the URL (Binance's `?streams=`), or nothing to choose from: play at once.
            sole = self.recording.sole(path)
            if not self._attach(client, path, counted=False) and sole is not None:
                self._play(sole, client, counted=False)
            if not client.playbacks:
                fallback = asyncio.create_task(self._attach_when_quiet(client, path))
            # The client's frames say what it subscribes; a client that stays silent plays what is
            # left (after `send_quiet_s`); once every connection recorded on the path has been played,
            # the connection stays open and silent, so a client that reconnects does not spin.
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY) and client.received(message.data):
                    self._attach(client, path, counted=True)
        finally:
            client.close()
            if fallback is not None:
                fallback.cancel()
            self.sockets.discard(ws)
        return ws

    def _attach(self, client: Client, path: str, counted: bool, guess: bool = False) -> bool:
        """Play to `client` the recorded connections its subscription chooses; True if it got any."""
        mine = [p.script for p in client.playbacks]
        taken = {script: playback.subscribed_by_others(client) for script, playback in self.playbacks.items()}
        chosen = self.recording.choose(path, frozenset(client.words), mine, taken, guess)
        for script in chosen:
            self._play(script, client, counted)
        return bool(chosen)

    def _play(self, script: Script, client: Client, counted: bool) -> None:
        playback = self.playbacks.get(script)
        if playback is None:
            playback = self.playbacks[script] = Playback(script, self.options, self._ended)
            task = asyncio.create_task(playback.run())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            LOG.info("%s: playing %s (%d frames) from frame %d", self.recording.exchange, script.conn, script.frames, script.position)
        else:
            LOG.info("%s: %s shared with another client connection", self.recording.exchange, script.conn)
        playback.attach(client, counted)

    def _ended(self, playback: Playback) -> None:
        if self.playbacks.get(playback.script) is playback:
            del self.playbacks[playback.script]
        self._on_progress.set()

    async def _attach_when_quiet(self, client: Client, path: str) -> None:
        """For a client whose subscription chose nothing: once it is quiet, play it the first free
        recorded connection, waiting a moment for one a reconnecting client's old connection holds."""
        loop = asyncio.get_running_loop()
        while not client.playbacks and (wait := client.last + self.options.send_quiet_s - loop.time()) > 0:
            await asyncio.sleep(wait)
        deadline = loop.time() + _RELEASE_WAIT_S
        while not client.playbacks and not client.gone:
            if self._attach(client, path, counted=False, guess=True) or not self.recording.busy(path) or loop.time() > deadline:
                return
            await asyncio.sleep(_POLL_S)

    def unplayed(self) -> list[str]:
        return [script.describe() for script in self.recording.unplayed()]

    async def close_sockets(self) -> None:
        """Tell connected clients the server is going away (rather than dropping them at shutdown)."""
        await asyncio.gather(*(ws.close(code=WSCloseCode.GOING_AWAY) for ws in list(self.sockets)), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()


class ReplayApp:
    """Serves recordings on loopback until stopped; runs on the caller's event loop."""

    def __init__(
        self,
        recordings: Sequence[Recording],
        tls_dir: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        options: PlaybackOptions | None = None,
    ) -> None:
        names = [r.exchange for r in recordings]
        if len(set(names)) != len(names):
            raise ValueError(f"one recording per exchange (got {names})")
        self.recordings = list(recordings)
        self.tls_dir = Path(tls_dir)
        self.host = host
        self.port = port  # 0: ephemeral ports; otherwise exchange i gets port + 2i (http) and port + 2i + 1 (wss)
        self.options = options or PlaybackOptions()
        self.endpoints: dict[str, Endpoints] = {}
        self.progress = asyncio.Event()
        self._venues: dict[str, _Venue] = {}
        self._runners: list[web.AppRunner] = []

    @property
    def ca_file(self) -> Path:
        return tls.ca_path(self.tls_dir)

    async def start(self) -> None:
        context = await asyncio.to_thread(tls.server_ssl_context, self.tls_dir)
        try:
            for i, recording in enumerate(self.recordings):
                await self._start_venue(i, recording, context)
        except BaseException:
            await self.stop()
            raise

    async def _start_venue(self, index: int, recording: Recording, context: ssl.SSLContext) -> None:
        venue = _Venue(recording, self.options, self.progress)
        runner = web.AppRunner(venue.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        self._runners.append(runner)
        rest_sock = _bind(self.host, self.port + 2 * index if self.port else 0)
        ws_sock = _bind(self.host, self.port + 2 * index + 1 if self.port else 0)
        await web.SockSite(runner, rest_sock).start()
        await web.SockSite(runner, ws_sock, ssl_context=context).start()
        host = f"[{self.host}]" if ":" in self.host else self.host
        endpoints = Endpoints(f"http://{host}:{rest_sock.getsockname()[1]}", f"wss://{host}:{ws_sock.getsockname()[1]}")
        venue.ws_base = endpoints.ws_url
        self.endpoints[recording.exchange] = endpoints
        self._venues[recording.exchange] = venue

    async def stop(self) -> None:
        for venue in self._venues.values():
            await venue.close_sockets()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    @property
    def finished(self) -> bool:
        """Every recorded websocket connection has been played to its end."""
        return all(r.finished for r in self.recordings)

    def unanswered(self) -> dict[str, list[str]]:
        """Requests that had no recorded (or synthesized) answer, per exchange."""
        return {name: list(venue.unanswered) for name, venue in self._venues.items() if venue.unanswered}

    def unplayed(self) -> dict[str, list[str]]:
        """Recorded websocket connections no client has subscribed to (so far), per exchange."""
        return {name: unplayed for name, venue in self._venues.items() if (unplayed := venue.unplayed())}

    @property
    def playing(self) -> bool:
        """Some recorded connection is being played to a client."""
        return any(venue.playbacks for venue in self._venues.values())

    async def rewind(self, timeout: float = 5.0) -> None:
        """Serve every recording again from its start, once the connections playing now are gone."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.playing:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("recorded connections are still being played to clients")
            await asyncio.sleep(_POLL_S)
        for recording in self.recordings:
            recording.rewind()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


class ReplayServer:
    """A `ReplayApp` in its own thread and event loop, as a context manager.

        with ReplayServer(["BINANCE.jsonl.zst"], tls_dir) as server:
            server.rest_url("binance"), server.ws_url("binance"), server.ca_file
    """

    def __init__(
        self,
        captures: Iterable[str | Path | Recording],
        tls_dir: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        options: PlaybackOptions | None = None,
    ) -> None:
        items = list(captures)
        recordings = [c for c in items if isinstance(c, Recording)]
        recordings += load_recordings(c for c in items if not isinstance(c, Recording))
        self.app = ReplayApp(recordings, tls_dir, host, port, options)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._finished = threading.Event()

    @property
    def endpoints(self) -> dict[str, Endpoints]:
        return self.app.endpoints

    @property
    def recordings(self) -> list[Recording]:
        return self.app.recordings

    def rest_url(self, exchange: str) -> str:
        return self.app.endpoints[exchange.lower()].rest_url

    def ws_url(self, exchange: str) -> str:
        return self.app.endpoints[exchange.lower()].ws_url

    @property
    def ca_file(self) -> Path:
        return self.app.ca_file

    def start(self) -> None:
        ready: threading.Event = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, failure), name="replay-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join()
        self._loop = self._stop = self._thread = None

    def wait_finished(self, timeout: float) -> bool:
        """Block until every recorded websocket connection has been played to its end (True) or `timeout`."""
        return self._finished.wait(timeout)

    def unanswered(self) -> dict[str, list[str]]:
        return self.app.unanswered()

    def unplayed(self) -> dict[str, list[str]]:
        return self.app.unplayed()

    @property
    def playing(self) -> bool:
        return self.app.playing

    def rewind(self, timeout: float = 5.0) -> None:
        """Serve every recording again from its start (clients of the previous run must have gone)."""
        assert self._loop is not None, "the server is not running"
        asyncio.run_coroutine_threadsafe(self.app.rewind(timeout), self._loop).result()

    def __enter__(self) -> ReplayServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                await self.app.start()
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            watcher = asyncio.create_task(self._watch_progress())
            try:
                await self._stop.wait()
            finally:
                watcher.cancel()
                await self.app.stop()

        asyncio.run(main())

    async def _watch_progress(self) -> None:
        while True:
            if self.app.finished:
                self._finished.set()
                return
            await self.app.progress.wait()
            self.app.progress.clear()


__all__ = ["Endpoints", "ReplayApp", "ReplayServer"]
