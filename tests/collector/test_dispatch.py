"""The dispatch point delivers every event to every consumer; a failing consumer harms no other."""

from __future__ import annotations

import logging

import pytest

from collector.dispatch import Dispatcher
from shared.events import Event, Status, StatusKind

EVENT = Status(exchange="binance", symbol=None, ts_event=1, ts_recv=1, kind=StatusKind.CONNECTED)


def test_failing_consumer_does_not_stop_the_others() -> None:
    dispatcher = Dispatcher()
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    dispatcher.attach(broken)
    dispatcher.attach(seen.append)
    dispatcher.publish(EVENT)
    dispatcher.publish(EVENT)
    assert seen == [EVENT, EVENT]
    assert dispatcher.consumer_errors == 2
    assert dispatcher.published == 2


def test_detached_consumer_receives_nothing_more() -> None:
    dispatcher = Dispatcher()
    seen: list[Event] = []
    detach = dispatcher.attach(seen.append)
    dispatcher.publish(EVENT)
    detach()
    dispatcher.publish(EVENT)
    assert seen == [EVENT]


def test_consumer_failing_on_every_event_is_logged_once_per_interval_with_a_count(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    dispatcher = Dispatcher(log_interval_s=10.0, clock=lambda: now[0])

    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    dispatcher.attach(broken)
    with caplog.at_level(logging.ERROR, logger="collector.dispatch"):
        for _ in range(1000):  # within one interval
            dispatcher.publish(EVENT)
        now[0] += 10.5
        dispatcher.publish(EVENT)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "failed on Status event" in lines[0]
    assert "failed 1000 times in the last 10 s" in lines[1]
    assert dispatcher.consumer_errors == 1001
