"""`spreadlake replay-lake`: a time range of the lake re-streamed through the collector's WebSocket
protocol, so subscribers (the trader) run on recorded data with the same code as on live data."""

from __future__ import annotations

import asyncio
import logging
import sys

from collector.dispatch import Dispatcher
from collector.fanout import fanout_component
from collector.lake import replay_lake
from collector.service import install_stop_signals
from shared.settings import Settings

LOG = logging.getLogger("replay-lake")


async def _run(settings: Settings, start_ns: int | None, end_ns: int | None, speed: float | None, wait_clients: int) -> int:
    dispatcher = Dispatcher()
    fanout = fanout_component(settings, dispatcher)
    await fanout.start()
    stop = asyncio.Event()
    install_stop_signals(stop)
    try:
        pace = "as fast as possible" if not speed else f"at {speed:g}x real time"
        print(f"replay-lake: serving {settings.lake.root} on {fanout.url} {pace}", flush=True)
        if wait_clients:
            print(f"replay-lake: waiting for {wait_clients} subscriber(s)", flush=True)
            while len(fanout.server.sessions) < wait_clients and not stop.is_set():
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # let the newcomers' subscribe requests land before the first event
        report = await replay_lake(settings, start_ns, end_ns, speed, dispatcher, stop)
        counts = ", ".join(f"{channel.value} {n}" for channel, n in report.published.items())
        print(f"replay-lake: {'stopped after' if report.stopped else 'done:'} {report.total} events ({counts})", flush=True)
        return 0
    finally:
        await fanout.stop()


def main(settings: Settings, start_ns: int | None, end_ns: int | None, speed: float | None, wait_clients: int) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(_run(settings, start_ns, end_ns, speed, wait_clients))
    except OSError as exc:
        print(f"spreadlake replay-lake: {exc}", file=sys.stderr)
        return 1
