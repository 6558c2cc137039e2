"""A stand-in collector for tests that need a real process: the real fan-out component fed by a synthetic source.

    python tests/collector/fanout/publisher.py --port PORT [--rate 200] [--heartbeat 0.2] [--token T]

Serves exchanges binance and bybit with symbols BTC-USDT and ETH-USDT. Publishes, per round, one
ticker and one trade per stream; trade ids count up per process from 1. Prints `ready <url>` once
listening. SIGTERM/SIGINT stop it through the component's graceful path; tests use SIGKILL and
SIGSTOP/SIGCONT for crashes and freezes.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from collector.dispatch import Dispatcher
from collector.fanout import fanout_component
from shared.events import Side, Ticker, Trade
from shared.settings import settings_from_mapping

EXCHANGES = ("binance", "bybit")
SYMBOLS = ("BTC-USDT", "ETH-USDT")


def settings(port: int, heartbeat_s: float, token: str | None):  # type: ignore[no-untyped-def]
    server = {"port": port, "heartbeat_s": heartbeat_s, "close_timeout_s": 1.0}
    if token:
        server["token"] = token
    return settings_from_mapping({
        "exchanges": {name: {"endpoint": "live", "symbols": list(SYMBOLS)} for name in EXCHANGES},
        "server": server,
    })


async def main(port: int, rate: float, heartbeat_s: float, token: str | None) -> None:
    dispatcher = Dispatcher()
    component = fanout_component(settings(port, heartbeat_s, token), dispatcher)
    await component.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready {component.url}", flush=True)
    trade_id = 0
    price = 100.0
    while not stop.is_set():
        for exchange in EXCHANGES:
            for symbol in SYMBOLS:
                now = time.time_ns()
                trade_id += 1
                price += 0.01
                dispatcher.publish(Ticker(exchange, symbol, now, now, price, 1.0, price + 0.01, 1.0))
                dispatcher.publish(Trade(exchange, symbol, now, now, str(trade_id), Side.BUY, price, 0.5))
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0 / rate)
        except TimeoutError:
            pass
    await component.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=200.0, help="rounds per second")
    parser.add_argument("--heartbeat", type=float, default=0.2)
    parser.add_argument("--token", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.rate, args.heartbeat, args.token))
