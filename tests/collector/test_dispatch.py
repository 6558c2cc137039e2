"""The dispatch point delivers every event to every consumer; a failing consumer harms no other."""

from __future__ import annotations

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
