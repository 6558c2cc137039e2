"""The in-process dispatch point: ingest publishes normalized events, consumers attach here.

Consumers are plain synchronous callables and must not block (the fan-out server and the lake
writer only enqueue). Ingest never knows who listens. A consumer that raises is counted, never
allowed to stop the others, and logged at most once per `log_interval_s` (with the number of
failures since its last line), so a consumer failing on every event cannot flood the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from shared.events import Event

LOG = logging.getLogger(__name__)

Consumer = Callable[[Event], None]


class Dispatcher:
    def __init__(self, log_interval_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._consumers: tuple[Consumer, ...] = ()
        self.published = 0
        self.consumer_errors = 0
        self._log_interval = log_interval_s
        self._clock = clock
        self._failures: dict[int, _Failures] = {}  # by id(consumer)

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
                self._failed(consumer, event)

    def _failed(self, consumer: Consumer, event: Event) -> None:
        now = self._clock()
        record = self._failures.get(id(consumer))
        if record is None:
            record = self._failures[id(consumer)] = _Failures(now - self._log_interval)
        record.unlogged += 1
        if now - record.logged_at < self._log_interval:
            return
        if record.unlogged == 1:
            LOG.exception("consumer %r failed on %s event; it stays attached", consumer, type(event).__name__)
        else:
            LOG.exception("consumer %r failed %d times in the last %.0f s (latest on a %s event); it stays attached",
                          consumer, record.unlogged, now - record.logged_at, type(event).__name__)
        record.logged_at = now
        record.unlogged = 0


class _Failures:
    __slots__ = ("logged_at", "unlogged")

    def __init__(self, logged_at: float) -> None:
        self.logged_at = logged_at
        self.unlogged = 0
