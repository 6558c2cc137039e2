"""The fan-out server as a collector component: attach to the dispatcher on start, detach and close on stop."""

from __future__ import annotations

import logging
from collections.abc import Callable

from collector.dispatch import Dispatcher
from collector.fanout.server import FanoutServer
from shared.settings import Settings

LOG = logging.getLogger(__name__)


class FanoutComponent:
    name = "fanout"

    def __init__(self, settings: Settings, dispatcher: Dispatcher) -> None:
        self.enabled = settings.server.enabled
        self.server = FanoutServer(settings.server, dict(settings.exchanges))
        self._dispatcher = dispatcher
        self._detach: Callable[[], None] | None = None

    @property
    def url(self) -> str:
        """ws://host:port/ once started (the real port when the settings say 0)."""
        return self.server.url

    async def start(self) -> None:
        if not self.enabled:
            LOG.info("fan-out server disabled (server.enabled: false)")
            return
        await self.server.start()
        self._detach = self._dispatcher.attach(self.server.consume)

    async def stop(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None
        await self.server.stop()


def fanout_component(settings: Settings, dispatcher: Dispatcher) -> FanoutComponent:
    """The fan-out server as a collector component; it attaches itself to `dispatcher` on start.

    With `server.enabled: false` it starts nothing (adding it anyway is harmless).
    """
    return FanoutComponent(settings, dispatcher)
