"""bench/ingest: cryptofeed's parsers alone vs the collector's full ingest path, on the same frames.

For each recorded exchange in ../shared/captures, the recorded websocket frames are fed straight
into a feed's `message_handler` twice per round: (i) the feed with no-op callbacks (cryptofeed's
parsing and book logic alone), (ii) the feed as the collector builds it (instrumented, callbacks
normalizing into events and publishing them to a Dispatcher with one consumer attached). Both use
the same redirected feed class, constructed against a real replay server (symbol lists, KuCoin's
token); REST book snapshots requested while parsing are answered from the recording in memory, in
both paths alike, so that the figures measure CPU work rather than loopback latency.

Prints per-exchange and total rates (messages/s) and the ratio (ii)/(i). Target: ratio >= 0.7.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptofeed.defines import L2_BOOK, TICKER, TRADES  # noqa: E402

from collector.dispatch import Dispatcher  # noqa: E402
from collector.feeds import instrument  # noqa: E402
from collector.ingest import FeedIngest, ReceiveClock  # noqa: E402
from collector.redirect import redirect  # noqa: E402
from collector.venues import venue_for  # noqa: E402
from shared.capture import Connect, Recv, read_capture  # noqa: E402
from shared.events import Channel  # noqa: E402
from sim.replay.recording import Recording  # noqa: E402
from sim.replay.server import ReplayServer  # noqa: E402

CAPTURES = ROOT.parent / "shared" / "captures"
CHANNELS = {TICKER: Channel.TICKER, TRADES: Channel.TRADE, L2_BOOK: Channel.BOOK}


class RecordedRest:
    """Answers the feed's async REST reads (book snapshots) from the recording, in memory."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording

    async def read(self, address: str, header: Any = None, **_: Any) -> str | bytes:
        url = urlsplit(address)
        body = self.recording.answer("GET", url.path, url.query)
        if body is None:
            raise LookupError(f"no recorded answer for {address}")
        return body

    async def close(self) -> None:
        return None


@dataclass
class Workload:
    exchange: str
    recording: Recording
    frames: list[tuple[str, float, str | bytes]]  # (recorded connection path, ts, payload)
    subscription: dict[str, list[str]]


def load(path: Path, recording: Recording) -> Workload:
    capture = read_capture(path)
    paths: dict[str, str] = {}
    frames = []
    for record in capture.records:
        if isinstance(record, Connect):
            paths[record.conn] = urlsplit(record.addr).path
        elif isinstance(record, Recv) and record.conn in paths:
            frames.append((paths[record.conn], record.ts, record.payload))
    subscription = {chan: list(syms) for chan, syms in capture.header.config.items() if chan in CHANNELS and syms}
    return Workload(capture.header.exchange.lower(), recording, frames, subscription)


def build(work: Workload, feed_cls: type, full: bool) -> tuple[Any, list[tuple[Any, Any]], FeedIngest | None]:
    venue = venue_for(work.exchange)
    ingest = None
    if full:
        ingest = FeedIngest(venue, tuple(CHANNELS[c] for c in work.subscription), 10, Dispatcher(), ReceiveClock())
        ingest.dispatcher.attach(lambda event: None)
        feed_cls = instrument(feed_cls, ingest)
        handlers = {TICKER: ingest.on_ticker, TRADES: ingest.on_trade, L2_BOOK: ingest.on_book}
        callbacks = {chan: handlers[chan] for chan in work.subscription}
    else:
        async def noop(obj: Any, receipt: float) -> None:
            return None

        callbacks = {chan: noop for chan in work.subscription}
    config = {"log": {"disabled": True}, "uvloop": False, work.exchange: {"key_id": "k", "key_secret": "s", "key_passphrase": "p"}}
    feed = feed_cls(subscription=work.subscription, callbacks=callbacks, config=config)
    feed.http_conn = RecordedRest(work.recording)
    if hasattr(feed, "_reset"):
        feed._reset()  # what cryptofeed does on (re)subscribe, which this harness skips
    routes = []
    for conn, _subscribe, handler, _auth in feed.connect():
        raw = getattr(conn, "_conn", conn)
        routes.append((urlsplit(raw.address).path, raw, handler))
    return feed, routes, ingest


def run_once(work: Workload, feed_cls: type, full: bool) -> tuple[float, int]:
    _feed, routes, _ = build(work, feed_cls, full)
    by_path = {path: (conn, handler) for path, conn, handler in routes}
    frames = [(by_path[p], ts, data) for p, ts, data in work.frames if p in by_path]

    async def process() -> float:
        gc.collect()
        start = time.perf_counter()
        for (conn, handler), ts, data in frames:
            await handler(data, conn, ts)
        return time.perf_counter() - start

    return asyncio.run(process()), len(frames)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    if not CAPTURES.is_dir():
        print(f"bench/ingest: skipped: {CAPTURES} (recorded exchange traffic) is absent")
        return 0
    paths = sorted(CAPTURES.glob("*.jsonl.zst"))
    totals = {False: 0.0, True: 0.0}
    total_frames = 0
    with tempfile.TemporaryDirectory() as tmp, ReplayServer(paths, Path(tmp) / "tls") as server:
        import ssl

        context = ssl.create_default_context(cafile=str(server.ca_file))
        for path, recording in zip(paths, server.recordings, strict=True):
            work = load(path, recording)
            venue = venue_for(work.exchange)
            endpoints = server.endpoints[work.exchange]
            feed_cls = redirect(venue.feed, endpoints.rest_url, endpoints.ws_url, context, venue.extra_rest_hosts)
            feed_cls.symbol_mapping(refresh=True)
            times: dict[bool, list[float]] = {False: [], True: []}
            frames = 0
            for _ in range(args.rounds):
                for full in (False, True):
                    elapsed, frames = run_once(work, feed_cls, full)
                    times[full].append(elapsed)
            alone, full_path = statistics.median(times[False]), statistics.median(times[True])
            totals[False] += alone
            totals[True] += full_path
            total_frames += frames
            print(f"ingest {work.exchange:8} frames {frames:5d} | cryptofeed alone {frames / alone:10,.0f} msg/s"
                  f" | full ingest {frames / full_path:10,.0f} msg/s | ratio {alone / full_path:.2f}")
    alone, full_path = totals[False], totals[True]
    print(f"ingest TOTAL    frames {total_frames:5d} | cryptofeed alone {total_frames / alone:10,.0f} msg/s"
          f" | full ingest {total_frames / full_path:10,.0f} msg/s | ratio {alone / full_path:.2f} (target >= 0.7)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
