"""The in-process dispatch point: ingest publishes normalized events, consumers attach here.

Consumers are plain synchronous callables and must not block (the fan-out server and the lake
writer only enqueue). Ingest never knows who listens. A consumer that raises is logged and
counted, never allowed to stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shared.events import Event

LOG = logging.getLogger(__name__)

Consumer = Callable[[Event], None]


class Dispatcher:
    def __init__(self) -> None:
        self._consumers: tuple[Consumer, ...] = ()
        self.published = 0
        self.consumer_errors = 0

    def attach(self, consumer: Consumer) -> Callable[[], None]:
        """Attach a consumer; returns the function that detaches it."""
        self._consumers = (*self._consumers, consumer)

        def detach() -> None:
            self._consumers = tuple(c for c in self._consumers if c is not consumer)

        return detach

    def stats(self) -> dict[str, int]:
        return {"published": self.published, "consumer_errors": self.consumer_errors}

    def publish(self, event: Event) -> None:
        self.published += 1
        for consumer in self._consumers:
            try:
                consumer(event)
            except Exception:
                self.consumer_errors += 1
                LOG.exception("consumer %r failed on %s event; it stays attached", consumer, type(event).__name__)
