"""The collector process: components up, feeds up, run until told to stop, then everything down in order.

Shutdown order matters for zero loss: feeds stop first (no new events), then components stop in
reverse start order (the lake writer flushes what it holds, the fan-out server closes its clients).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from cryptofeed import FeedHandler

from collector.capture import RawCapture, raw_capture
from collector.component import Component
from collector.dispatch import Dispatcher
from collector.feeds import build_feeds
from collector.ingest import FeedIngest, ReceiveClock
from shared.settings import Settings

LOG = logging.getLogger(__name__)


class CollectorService:
    def __init__(self, settings: Settings, source: str = "<settings>") -> None:
        self.settings = settings
        self.source = source
        self.dispatcher = Dispatcher()
        self.clock = ReceiveClock()
        self.components: list[Component] = []
        self.ingests: list[FeedIngest] = []
        self.capture: RawCapture | None = None  # while collector.capture_dir records the raw traffic
        self.ready = asyncio.Event()

    def add(self, component: Component) -> None:
        self.components.append(component)

    async def run(self, stop: asyncio.Event) -> None:
        started: list[Component] = []
        handler: FeedHandler | None = None
        capture: RawCapture | None = None
        try:
            for component in self.components:
                await component.start()
                started.append(component)
            collector = self.settings.collector
            if collector.capture_dir:
                # Before the feeds: their constructors already talk to the exchange (symbol lists, tokens).
                capture = self.capture = raw_capture(collector.capture_dir, collector.capture_rotate_mb << 20,
                                                     collector.capture_rotate_s, collector.capture_max_buffered_bytes)
            feeds = await asyncio.to_thread(build_feeds, self.settings, self.dispatcher, self.clock, self.source)
            self.ingests = [ingest for _, ingest in feeds]
            handler = FeedHandler(config={"log": {"disabled": True}, "uvloop": False}, raw_data_collection=capture)
            for feed, _ in feeds:
                handler.add_feed(feed)
            handler.run(start_loop=False, install_signal_handlers=False)
            LOG.info("collector running: %s", ", ".join(self.settings.exchanges))
            self.ready.set()
            await stop.wait()
        finally:
            if handler is not None:
                LOG.info("stopping feeds")
                await handler.stop_async()
            if capture is not None:
                await asyncio.to_thread(capture.close)
            for component in reversed(started):
                LOG.info("stopping %s", component.name)
                try:
                    await component.stop()
                except Exception:
                    LOG.exception("%s did not stop cleanly", component.name)

    def counts(self) -> dict[str, dict[str, int]]:
        return {ingest.exchange: dict(ingest.counts) for ingest in self.ingests}


def install_stop_signals(stop: asyncio.Event, on_signal: Callable[[str], None] | None = None) -> None:
    """SIGINT/SIGTERM set `stop`, so shutdown runs the same path as any other stop."""
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        def handle(name: str = sig.name) -> None:
            if on_signal:
                on_signal(name)
            stop.set()

        loop.add_signal_handler(sig, handle)
