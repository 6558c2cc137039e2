"""Running the simulator: in the current event loop, in a background thread, or as the CLI command.

`Simulator` wires the market model to one `VenueServer` per configured venue and steps the model
from the wall clock. `SimulatorThread` runs it on its own loop, because cryptofeed fetches symbol
lists with blocking HTTP in its feed constructors and so cannot share a loop with the venues.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from shared.settings.sim import SimSettings
from shared.tls import client_ssl_context, ensure_certificates, server_ssl_context
from sim.dislocation import Dislocation
from sim.faults import Faults
from sim.instruments import Instrument
from sim.market import Market, sub_rng
from sim.model_events import BookDelta, BookSnapshot, MarketEvent
from sim.server import VenueServer
from sim.stats import VenueStats
from sim.venues import VENUES
from sim.venues.base import VenueView

LOG = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class VenueEndpoints:
    name: str
    host: str
    rest_port: int
    ws_port: int
    ws_paths: tuple[str, ...]

    @property
    def rest_url(self) -> str:
        return f"http://{_url_host(self.host)}:{self.rest_port}"

    @property
    def ws_url(self) -> str:
        return f"wss://{_url_host(self.host)}:{self.ws_port}"


class Simulator:
    def __init__(self, settings: SimSettings, clock: Callable[[], float] = time.time) -> None:
        unknown = sorted(set(settings.venues) - set(VENUES))
        if unknown:
            raise ValueError(f"sim.venues lists unknown venue(s) {unknown}; the simulator knows {sorted(VENUES)}")
        if not settings.venues:
            raise ValueError("sim.venues is empty: nothing to simulate")
        self.settings = settings
        self._clock = clock
        self.ca_path: Path = ensure_certificates(settings.tls_dir).ca
        self.market: Market | None = None
        self.servers: dict[str, VenueServer] = {}
        self._driver: asyncio.Task[None] | None = None
        self._watchers: list[Callable[[MarketEvent], None]] = []

    def watch(self, watcher: Callable[[MarketEvent], None]) -> None:
        """Call `watcher` with every market event from now on, before the venues publish it."""
        self._watchers.append(watcher)

    def wire_book_id(self, delta: BookDelta) -> int:
        """The id a client of `delta`'s venue reads as the update's last sequence number."""
        return self.servers[delta.venue].venue.wire_book_ids(delta)[1]

    @property
    def endpoints(self) -> dict[str, VenueEndpoints]:
        return {
            name: VenueEndpoints(name, self.settings.host, server.rest_port, server.ws_port, type(server.venue).ws_paths)
            for name, server in self.servers.items()
        }

    async def start(self) -> dict[str, VenueEndpoints]:
        start = self._clock()
        settings = self.settings
        self.market = Market(settings, list(settings.venues), start)
        context = server_ssl_context(settings.tls_dir)
        try:
            for name, venue_settings in settings.venues.items():
                view = VenueView(name, self.market, self._clock)
                faults = Faults(settings.faults, sub_rng(settings.seed, "faults", name), start)
                venue = VENUES[name](view)
                server = VenueServer(venue, settings.host, venue_settings.rest_port, venue_settings.ws_port, context, faults, self._clock)
                self.servers[name] = server
                await server.start()
        except BaseException:
            await self.stop()
            raise
        self._driver = asyncio.create_task(self._drive())
        self._driver.add_done_callback(_report_failure)
        return self.endpoints

    async def stop(self) -> None:
        if self._driver is not None:
            self._driver.cancel()
            try:
                await self._driver
            except asyncio.CancelledError:
                pass
            self._driver = None
        for server in self.servers.values():
            await server.stop()

    def stats(self) -> dict[str, VenueStats]:
        return {name: server.stats.copy() for name, server in self.servers.items()}

    async def _drive(self) -> None:
        assert self.market is not None
        # Frequent enough that frames leave close to their model time, rare enough to batch at low rates.
        interval = min(0.05, max(0.005, 1.0 / self.settings.rate))
        servers = self.servers
        watchers = self._watchers
        while True:
            for event in self.market.advance(self._clock()):
                for watcher in watchers:
                    watcher(event)
                servers[event.venue].publish(event)
            await asyncio.sleep(interval)


async def run_sim(settings: SimSettings, on_ready: Callable[[Simulator], None] | None = None) -> None:
    """Run every configured venue until cancelled; `on_ready` is called once the ports are bound."""
    simulator = Simulator(settings)
    try:
        await simulator.start()
        if on_ready is not None:
            on_ready(simulator)
        await asyncio.Event().wait()
    finally:
        await simulator.stop()


class SimulatorThread:
    """The simulator on its own event loop in a background thread; use as a context manager."""

    def __init__(self, settings: SimSettings, start_timeout: float = 30.0) -> None:
        self.settings = settings
        self._start_timeout = start_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._simulator: Simulator | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopping: asyncio.Event | None = None

    def __enter__(self) -> SimulatorThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoints(self) -> dict[str, VenueEndpoints]:
        return self._running().endpoints

    @property
    def ca_path(self) -> Path:
        return self._running().ca_path

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        """Listed symbols and their price/size grids (fixed once started, safe to read from any thread)."""
        return self._market().instruments

    def client_ssl_context(self) -> ssl.SSLContext:
        return client_ssl_context(self.settings.tls_dir)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="spreadlake-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._start_timeout):
            raise TimeoutError("the simulator did not start in time")
        if self._error is not None:
            self._thread.join()
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout=30)

    def stats(self) -> dict[str, VenueStats]:
        """A consistent copy of every venue's statistics and id records."""
        return self.call(lambda: self._running().stats())

    def book(self, venue: str, symbol: str, depth: int | None = None) -> BookSnapshot:
        """The venue's current book, taken on the simulator's loop (so consistent with what it sent)."""
        return self.call(lambda: self._market().snapshot(venue, symbol, depth))

    def watch(self, watcher: Callable[[MarketEvent], None]) -> dict[tuple[str, str], BookSnapshot]:
        """Install `watcher` on the simulator's loop; returns every book as it stands at that moment,
        so the watcher's events continue exactly from these states (e.g. to follow every book)."""

        def install() -> dict[tuple[str, str], BookSnapshot]:
            self._running().watch(watcher)
            market = self._market()
            return {(v, s): market.snapshot(v, s) for v in market.venues for s in market.symbols}

        return self.call(install)

    def wire_book_id(self, delta: BookDelta) -> int:
        return self._running().wire_book_id(delta)

    def dislocations(self) -> list[Dislocation]:
        """The dislocations started so far (those of the last ten minutes), e.g. for tests
        that look for the arbitrage they created."""
        return self.call(lambda: self._market().dislocations.until(self._market().now))

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the simulator's loop (e.g. to read the market model) and return its result."""
        assert self._loop is not None

        async def on_loop() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(on_loop(), self._loop).result(timeout=10)

    def _market(self) -> Market:
        market = self._running().market
        assert market is not None
        return market

    def _running(self) -> Simulator:
        if self._simulator is None:
            raise RuntimeError("the simulator is not running")
        return self._simulator

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the starting thread
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                LOG.exception("the simulator thread failed")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        simulator = Simulator(self.settings)
        await simulator.start()
        self._simulator = simulator
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            await simulator.stop()


def main(settings: SimSettings) -> int:
    """The `spreadlake sim` command: serve until SIGINT/SIGTERM, then close every connection cleanly."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(_serve(settings))
    except ValueError as exc:
        LOG.error("cannot start the simulator: %s", exc)
        return 2
    except OSError as exc:
        LOG.error("cannot start the simulator: %s", exc)
        return 1
    return 0


async def _serve(settings: SimSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    simulator = Simulator(settings)
    try:
        for name, ep in (await simulator.start()).items():
            LOG.info("sim %s: rest %s ws %s (paths %s)", name, ep.rest_url, ep.ws_url, ", ".join(ep.ws_paths))
        LOG.info(
            "sim: clients trust %s; %d symbols, %.0f messages/s per venue; stop with Ctrl-C",
            simulator.ca_path, len(settings.symbols), settings.rate,
        )
        await stop.wait()
        LOG.info("sim: shutting down")
    finally:
        await simulator.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _report_failure(task: asyncio.Task[None]) -> None:
    # The market driver only ends when cancelled; anything else would silently freeze every venue.
    if not task.cancelled() and task.exception() is not None:
        LOG.error("the simulator's market driver failed; venues are frozen", exc_info=task.exception())


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
