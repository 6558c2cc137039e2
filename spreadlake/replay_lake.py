"""`spreadlake replay-lake`: a time range of the lake re-streamed through the collector's WebSocket
protocol, so subscribers (the trader) run on recorded data with the same code as on live data.

Streaming starts once `wait_subscribers` connections hold a subscription: the fan-out hub routes an
event to a connection from the moment its subscribe request is handled, so from then on none of
the range is missed, however long a client takes between connecting and subscribing.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from collector.dispatch import Dispatcher
from collector.fanout import FanoutComponent, fanout_component
from collector.lake import replay_lake
from collector.service import install_stop_signals
from shared.settings import Settings

LOG = logging.getLogger("replay-lake")


_POLL_S = 0.01  # how often the wait looks at the hub's subscriptions (no event to await there)


def subscribed(fanout: FanoutComponent) -> int:
    """Connections holding at least one subscription."""
    return sum(1 for subscriber in fanout.server.hub.subscribers.values() if subscriber.patterns)


async def wait_for_subscribers(fanout: FanoutComponent, wanted: int, stop: asyncio.Event) -> None:
    while subscribed(fanout) < wanted and not stop.is_set():
        await asyncio.sleep(_POLL_S)


async def _run(settings: Settings, start_ns: int | None, end_ns: int | None, speed: float | None, wait_subscribers: int) -> int:
    dispatcher = Dispatcher()
    fanout = fanout_component(settings, dispatcher)
    await fanout.start()
    stop = asyncio.Event()
    install_stop_signals(stop)
    try:
        pace = "as fast as possible" if not speed else f"at {speed:g}x real time"
        print(f"replay-lake: serving {settings.lake.root} on {fanout.url} {pace}", flush=True)
        if wait_subscribers:
            print(f"replay-lake: waiting for {wait_subscribers} subscriber(s)", flush=True)
            await wait_for_subscribers(fanout, wait_subscribers, stop)
        report = await replay_lake(settings, start_ns, end_ns, speed, dispatcher, stop)
        counts = ", ".join(f"{channel.value} {n}" for channel, n in report.published.items())
        print(f"replay-lake: {'stopped after' if report.stopped else 'done:'} {report.total} events ({counts})", flush=True)
        return 0
    finally:
        await fanout.stop()


def main(settings: Settings, start_ns: int | None, end_ns: int | None, speed: float | None, wait_subscribers: int) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(_run(settings, start_ns, end_ns, speed, wait_subscribers))
    except OSError as exc:
        print(f"spreadlake replay-lake: {exc}", file=sys.stderr)
        return 1
