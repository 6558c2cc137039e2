"""Fan-out benchmark: delivered events/s and latency for 1, 10 and 100 subscribers, against an in-run baseline.

The collector side (a synthetic source at a fixed rate feeding the real fan-out component through
the dispatcher) runs in this process; subscribers run in separate processes, 50 per process, as
real WebSocket clients on loopback (aiohttp's client, whose C frame reader keeps the measuring
side light), each subscribed to every stream. Latency is the collector receive timestamp
(`ts_recv`, set when the source publishes) to the moment the subscriber has the frame:
percentiles over every event of every 5th subscriber, the maximum over the oldest event of every
frame of all subscribers. Every subscriber counts its events and checks the sequence numbers.

The baseline is the websockets library's own `broadcast()` of pre-encoded frames: the same events,
encoded once, batched on the same interval into one shared frame written to every connection:
no subscriptions, no per-client sequence numbers, backlogs or coalescing. Server CPU (this
process, source included) per delivered event compares the two at equal delivered rates.

    .venv/bin/python bench/fanout.py [--rate 10000] [--seconds 8] [--sizes 1,10,100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

BUCKET_NS = 50_000  # latency histogram resolution: 50 us
BUCKETS = 200_000  # up to 10 s
EXCHANGES = ("binance", "bybit", "gateio", "kucoin")
SYMBOLS = ("BTC-USDT", "ETH-USDT", "ETH-BTC")
CLIENTS_PER_PROCESS = 50


# ---------------------------------------------------------------- collector side (this process)


def settings(batch_ms: float):  # type: ignore[no-untyped-def]
    from shared.settings import settings_from_mapping

    exchanges = {name: {"endpoint": "live", "symbols": list(SYMBOLS)} for name in EXCHANGES}
    return settings_from_mapping({"exchanges": exchanges, "server": {
        "port": 0, "batch_ms": batch_ms, "max_connections": 1000, "client_buffer_events": 200_000}})


def synthetic_events():  # type: ignore[no-untyped-def]
    """An endless mix over 12 streams: 40% tickers, 40% 10-level books, 20% trades; ts_recv is set at publish."""
    from shared.events import BookTop, Side, Ticker, Trade

    bids = tuple((65000.0 - i * 0.5, 0.25 + i) for i in range(10))
    asks = tuple((65000.5 + i * 0.5, 0.3 + i) for i in range(10))
    streams = [(e, s) for e in EXCHANGES for s in SYMBOLS]
    i = 0
    while True:
        exchange, symbol = streams[i % len(streams)]
        kind = i % 10
        now = time.time_ns()
        if kind < 4:
            yield Ticker(exchange, symbol, now, now, 65000.0, 1.5, 65000.5, 2.5)
        elif kind < 8:
            yield BookTop(exchange, symbol, now, now, bids, asks, i)
        else:
            yield Trade(exchange, symbol, now, now, str(i), Side.BUY, 65000.25, 0.01)
        i += 1


async def run_source(publish, rate: float, stop: asyncio.Event) -> int:  # type: ignore[no-untyped-def]
    events = synthetic_events()
    start = time.perf_counter()
    sent = 0
    while not stop.is_set():
        await asyncio.sleep(0.001)
        due = int((time.perf_counter() - start) * rate) - sent
        for _ in range(due):
            publish(next(events))
        sent += due
    return sent


class Baseline:
    """websockets' broadcast() of pre-encoded frames: each batch encoded once, the same bytes to everyone."""

    name = "baseline"

    def __init__(self, batch_ms: float) -> None:
        self._batch_s = batch_ms / 1000
        self._pending: list[bytes] = []
        self._encoder = msgspec.json.Encoder()
        self._connections: set = set()
        self.url = ""

    async def start(self) -> None:
        from websockets.asyncio.server import serve

        async def handler(connection) -> None:  # type: ignore[no-untyped-def]
            self._connections.add(connection)
            try:
                await connection.wait_closed()
            finally:
                self._connections.discard(connection)

        self._server = await serve(handler, "127.0.0.1", 0, compression=None, max_size=2**20, write_limit=2**18)
        self.url = f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/"

    def publish(self, event) -> None:  # type: ignore[no-untyped-def]
        self._pending.append(self._encoder.encode(event))
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_later(self._batch_s, self._flush)

    def _flush(self) -> None:
        from websockets.asyncio.server import broadcast

        frame = b'{"type":"events","seq":1,"events":[' + b",".join(self._pending) + b"]}"
        self._pending = []
        broadcast(self._connections, frame, text=True)

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()


async def run_case(mode: str, subscribers: int, rate: float, seconds: float, batch_ms: float, per_process: int,
                   timed_every: int) -> dict:
    stop = asyncio.Event()
    if mode == "fanout":
        from collector.dispatch import Dispatcher
        from collector.fanout import fanout_component

        dispatcher = Dispatcher()
        server = fanout_component(settings(batch_ms), dispatcher)
        await server.start()
        publish = dispatcher.publish
    else:
        baseline = Baseline(batch_ms)
        await baseline.start()
        server, publish = baseline, baseline.publish  # type: ignore[assignment]
    source = asyncio.create_task(run_source(publish, rate, stop))
    start_at = time.time() + 2.0 + subscribers * 0.03  # time for every subscriber to connect and subscribe
    warmup = 1.0
    procs = []
    remaining = subscribers
    while remaining:
        n = min(per_process, remaining)
        first = subscribers - remaining
        remaining -= n
        procs.append(await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--client", server.url, mode, str(first), str(n), str(timed_every),
            str(start_at + warmup), str(seconds), stdout=subprocess.PIPE))
    await asyncio.sleep(max(0.0, start_at + warmup - time.time()))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    outputs = [json.loads((await p.communicate())[0]) for p in procs]
    stop.set()
    await source
    await server.stop()
    hist = [0] * BUCKETS
    for out in outputs:
        for index, count in out["hist"]:
            hist[index] += count
    events = sum(out["events"] for out in outputs)
    return {
        "mode": mode, "subscribers": subscribers, "rate": rate,
        "delivered_per_s": events / seconds, "per_subscriber_per_s": events / seconds / subscribers,
        "p50_ms": _quantile(hist, 0.50), "p99_ms": _quantile(hist, 0.99),
        "max_ms": max(out["max_ns"] for out in outputs) / 1e6,
        "gaps": sum(out["gaps"] for out in outputs), "coalesced": sum(out["coalesced"] for out in outputs),
        "server_cpu": cpu,
        "client_cpu": sum(out["cpu"] for out in outputs), "load": os.getloadavg()[0],
        "timed_subscribers": sum(out["timed"] for out in outputs),
    }


def _quantile(hist: list[int], q: float) -> float:
    total = sum(hist)
    if not total:
        return float("nan")
    target = q * total
    running = 0
    for index, count in enumerate(hist):
        running += count
        if running >= target:
            return (index + 1) * BUCKET_NS / 1e6  # upper edge of the bucket
    return float("inf")


# ---------------------------------------------------------------- subscriber side (child processes)


class _Event(msgspec.Struct):
    ts_recv: int


class _Frame(msgspec.Struct):
    type: str
    seq: int = 0
    final: bool = False
    events: list[_Event] = []


async def subscriber(url: str, mode: str, begin: float, end: float, timed: bool, totals: dict) -> None:
    """One subscriber on aiohttp's client (its C frame reader keeps the measuring side light).

    Every subscriber counts events, checks sequence numbers and tracks the age of the oldest event
    of each frame (the worst case); `timed` ones also record the receive stamp of every event for the
    percentiles. Decoding every event of every subscriber would make the subscribers, not the server,
    the bottleneck of this 2-core machine.
    """
    import aiohttp

    decode = msgspec.json.Decoder(_Frame).decode
    stamps, receipts, ends = array("q"), array("q"), array("q")
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0, compress=0) as ws:
        if mode == "fanout":
            await ws.send_str('{"op":"subscribe","id":1}')
            while True:
                frame = decode((await ws.receive()).data)
                if frame.type == "snapshot" and frame.final:
                    break
        expected = 0
        events = gaps = worst = coalesced = 0
        while True:
            message = await ws.receive()
            now_ns = time.time_ns()
            if message.type is not aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"subscriber: unexpected {message.type.name} {message.data!r}")
            data: str = message.data
            if mode == "fanout":
                at = data.index('"seq":') + 6
                seq = int(data[at:data.index(",", at)])
                if expected and seq != expected:
                    gaps += 1
                expected = seq + 1
            if not data.startswith('{"type":"events"'):
                continue
            now = now_ns / 1e9
            if now < begin:
                continue
            if now >= end:
                break
            if totals["cpu0"] is None:
                totals["cpu0"] = time.process_time()
            if data.startswith('{"type":"events","seq":', 0) and '"coalesced":' in data[:80]:
                at = data.index('"coalesced":') + 12
                coalesced += int(data[at:data.index(",", at)])
            start = data.index('"ts_recv":') + 10
            oldest = now_ns - int(data[start:data.index(",", start)])
            if oldest > worst:
                worst = oldest
            if timed:
                frame = decode(data)
                events += len(frame.events)
                # Raw stamps now, the histogram after the window: building it costs no measured time.
                stamps.extend([event.ts_recv for event in frame.events])
                receipts.append(now_ns)
                ends.append(len(stamps))
            else:
                events += data.count('"channel":')
    totals["cpu1"] = time.process_time() if totals["cpu1"] is None else totals["cpu1"]
    totals["events"] += events
    totals["gaps"] += gaps
    totals["coalesced"] += coalesced
    totals["max_ns"] = max(totals["max_ns"], worst)
    totals["timed"] += timed
    if timed:
        totals["recorded"].append((stamps, receipts, ends))


def histogram(recorded: list[tuple[array, array, array]]) -> list[int]:
    hist = [0] * BUCKETS
    for stamps, receipts, ends in recorded:
        start = 0
        for now_ns, end in zip(receipts, ends, strict=True):
            for i in range(start, end):
                delay = now_ns - stamps[i]
                hist[delay // BUCKET_NS if 0 < delay < BUCKETS * BUCKET_NS else (0 if delay <= 0 else BUCKETS - 1)] += 1
            start = end
    return hist


async def client_process(url: str, mode: str, first: int, count: int, timed_every: int, begin: float, seconds: float) -> None:
    totals: dict = {"events": 0, "gaps": 0, "coalesced": 0, "max_ns": 0, "timed": 0, "recorded": [], "cpu0": None, "cpu1": None}
    await asyncio.gather(*(subscriber(url, mode, begin, begin + seconds, (first + i) % timed_every == 0, totals)
                           for i in range(count)))
    hist = histogram(totals.pop("recorded"))
    totals["hist"] = [(i, c) for i, c in enumerate(hist) if c]
    totals["cpu"] = (totals.pop("cpu1") - totals.pop("cpu0")) / seconds  # measured window only
    print(json.dumps(totals))


# ---------------------------------------------------------------- report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10_000.0, help="events/s published by the synthetic source")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per case")
    parser.add_argument("--sizes", default="1,10,100", help="subscriber counts")
    parser.add_argument("--batch-ms", type=float, default=5.0, help="batching interval (fan-out and baseline)")
    parser.add_argument("--per-process", type=int, default=CLIENTS_PER_PROCESS, help="subscribers per client process")
    parser.add_argument("--timed-every", type=int, default=5,
                        help="every Nth subscriber records every event's latency (all count events and check seq)")
    parser.add_argument("--json", action="store_true", help="also print each result as a JSON line")
    args = parser.parse_args()
    print(f"fan-out benchmark: {args.rate:,.0f} events/s in, all streams to every subscriber, "
          f"{args.seconds:g} s per case, batch {args.batch_ms:g} ms")
    print(f"{'case':<18}{'delivered/s':>14}{'per sub/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'gaps':>6}{'coal':>6}{'srv cpu':>9}{'cli cpu':>9}{'load':>6}")
    results: dict[tuple[str, int], dict] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        for mode in ("fanout", "baseline"):
            r = asyncio.run(run_case(mode, size, args.rate, args.seconds, args.batch_ms, args.per_process, args.timed_every))
            results[(mode, size)] = r
            print(f"{mode + ' x' + str(size):<18}{r['delivered_per_s']:>14,.0f}{r['per_subscriber_per_s']:>11,.0f}"
                  f"{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['max_ms']:>9.1f}{r['gaps']:>6}{r['coalesced']:>6}"
                  f"{r['server_cpu']:>9.2f}{r['client_cpu']:>9.2f}{r['load']:>6.1f}", flush=True)
            if args.json:
                print(json.dumps(r))
    for size in (int(s) for s in args.sizes.split(",")):
        ours, base = results[("fanout", size)], results[("baseline", size)]
        ratio = ours["delivered_per_s"] / base["delivered_per_s"] if base["delivered_per_s"] else float("nan")
        cost = {m: r["server_cpu"] * 1e6 / r["delivered_per_s"] if r["delivered_per_s"] else float("nan")
                for m, r in (("fanout", ours), ("baseline", base))}
        print(f"ratio x{size}: fan-out delivers {ratio:.2f} of the baseline's events/s; server CPU per delivered event "
              f"{cost['fanout']:.2f} us vs {cost['baseline']:.2f} us (capacity ratio {cost['baseline'] / cost['fanout']:.2f}); "
              f"percentiles from {ours['timed_subscribers']} of {size} subscribers")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        _, _, url, mode, first, count, timed_every, begin, seconds = sys.argv
        asyncio.run(client_process(url, mode, int(first), int(count), int(timed_every), float(begin), float(seconds)))
    else:
        sys.exit(main())
