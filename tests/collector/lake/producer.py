"""Test-only producer: the real lake writer fed by a deterministic trade source, run as a subprocess.

    python tests/collector/lake/producer.py ROOT FIRST_ID RATE FLUSH_INTERVAL_S

Publishes trades with ids FIRST_ID, FIRST_ID+1, ... (one exchange, one symbol, so every flush
writes one file and the lake holds a prefix of the ids) at RATE per second, printing
`emitted <n>` (ids published so far) every 20 ms. SIGTERM/SIGINT stop the source, then
`await component.stop()`, then print `final <n>` and exit 0.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from collector.dispatch import Dispatcher
from collector.lake.component import LakeWriterComponent
from shared.events import Side, Trade
from shared.settings.lake import LakeSettings

BATCH_S = 0.005


async def main(root: str, first_id: int, rate: float, flush_interval_s: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    dispatcher = Dispatcher()
    writer = LakeWriterComponent(LakeSettings(root=root, flush_interval_s=flush_interval_s), dispatcher)
    await writer.start()
    emitted = 0

    async def source() -> None:
        nonlocal emitted
        started = time.monotonic()
        last_report = 0.0
        while not stop.is_set():
            due = int((time.monotonic() - started) * rate)
            while emitted < due:
                ts = time.time_ns()
                dispatcher.publish(Trade("binance", "BTC-USDT", ts, ts, str(first_id + emitted), Side.BUY, 100.0, 0.5))
                emitted += 1
            if time.monotonic() - last_report >= 0.02:
                print(f"emitted {emitted}", flush=True)
                last_report = time.monotonic()
            await asyncio.sleep(BATCH_S)

    print("ready", flush=True)
    task = asyncio.create_task(source())
    await stop.wait()
    await task
    await writer.stop()
    print(f"final {emitted}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])))
