"""Trader benchmark: tick-to-decision on live-rate streams, and backtest throughput over an hour of lake.

    .venv/bin/python bench/trader.py [--seconds 8] [--rates 1000,10000] [--cases full,...] [--hours 1] [--skip-latency] [--skip-backtest]

(a) Tick-to-decision: a real engine (the demo configuration's three strategy instances, its journal and
    paper store as SQLite files on the local disk) fed a synthetic stream (bench/trader_streams.py: books,
    tickers and trades of 4 venues x 3 symbols, a dislocation about every 2 s) at 1,000 and 10,000 events/s
    on a real event loop, each event stamped with the wall clock as it is handed over. The figure is the
    engine's own tick-to-decision (what /metrics exports): from `on_event` to the first order handed to its
    execution queue, or to the decision not to trade. Book events make decisions; percentiles are over all
    of them after a 1 s warm-up, and separately over those that led to an order. In-run baseline: the same
    loop and stream into an engine with no strategy instance (market view and paper venue only). As shipped
    with the paper venue, an order's intent commits like every other commit (`synchronous=NORMAL`, WAL: safe
    against a crash of the process), as the paper venue's own store does; with an executor whose record
    outlives a power cut (a live venue) the intent's commit is synced to disk first (`synchronous=FULL`):
    the case "intents synced" runs the paper venue flagged so. "every commit FULL": the journal before
    2026-11-30, for comparison. The feed yields to the loop once per 5 ms of schedule, as a client does once
    per fan-out frame, and right after an event that produced an approval (as trader/feed.py does); "1 event
    a frame" yields after every event.
    "feed lag" is how far behind its schedule an event was handed over (the loop was busy). Logging is set
    up as `spreadlake trader` sets it (INFO, its line format), into a null stream.
(b) Backtest throughput: one hour of demo-rate data (40 events/s per venue, 4 venues; a dislocation about
    every 15 s) written to a lake by the collector's writer in 5 s flushes, as the collector does; then the
    lake read back alone (baseline), the backtest over it, and the backtest of the same events from memory;
    then, over the first 10 minutes, the backtest with no strategy instance, with each alone, and with all.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # before bench/ (this file is trader.py too)

from trader_streams import StreamSpec, stream

from collector.lake.writer import PartitionWriter
from shared.events import BookTop, Channel, Event, channel_of
from shared.lake.storage import open_lake
from shared.settings import settings_from_mapping
from shared.settings.lake import LakeSettings
from trader.backtest import backtest, lake_events, run_backtest
from trader.config import TraderConfig, trader_config
from trader.engine import EngineConfig, build_engine

ROOT = Path(__file__).resolve().parents[1]
WARMUP_NS = 1_000_000_000
FRAME_NS = 5_000_000  # the feed yields to the loop once per 5 ms of schedule, as per fan-out frame (batch_ms)
SPLIT_NS = 600_000_000_000  # (b) the per-instance split runs over the first 10 minutes


def demo_config(workdir: Path) -> tuple[TraderConfig, LakeSettings]:
    raw = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    raw["trader"]["journal_path"] = str(workdir / "journal.sqlite")
    raw["trader"]["paper_store_path"] = str(workdir / "paper.sqlite")
    raw["lake"]["root"] = str(workdir / "lake")
    raw["lake"]["fsync"] = False
    settings = settings_from_mapping(raw)
    return trader_config(settings), settings.lake


def pct(values: list[int], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))] / 1e3  # us


# (a) tick-to-decision --------------------------------------------------------------------------


@dataclasses.dataclass
class LatencyRun:
    name: str
    events: int
    no_trade: list[int]
    orders: list[int]
    lag: list[int]
    wall_s: float

    def line(self) -> str:
        every = self.no_trade + self.orders
        return (f"  {self.name:<24} {self.events / self.wall_s:>8,.0f}/s  decisions {len(every):>7,}  "
                f"p50 {pct(every, 0.5):7.1f} us  p99 {pct(every, 0.99):8.1f} us  max {max(every, default=0) / 1e3:8.1f} us  | "
                f"orders {len(self.orders):>4}: p50 {pct(self.orders, 0.5):7.1f} us  p99 {pct(self.orders, 0.99):8.1f} us  | "
                f"feed lag p99 {pct(self.lag, 0.99):8.1f} us")


async def _feed(config: TraderConfig, events: list[Event], rate: float, synchronous: str,
                frame_ns: int = FRAME_NS, venue_record: bool = False) -> tuple[list[int], list[int], list[int], float]:
    engine = build_engine(config, time.time_ns, EngineConfig(latency_samples=len(events) + 10))
    if venue_record:  # the paper venue stands in for one whose record outlives a power cut: intents are synced first
        engine.queues.executor.survives_power_cut = True  # type: ignore[misc]
    if synchronous != "shipped":  # bench only: one level for every commit, whatever the journal asks for
        journal = engine.journal
        journal._db.execute(f"PRAGMA synchronous={synchronous}")
        plain = journal.transaction
        journal.transaction = lambda durable=False: plain(False)  # type: ignore[method-assign]
    await engine.start()
    inside = [False]
    no_trade: list[int] = []
    orders: list[int] = []
    warm = [False]
    record = engine.latency.record

    def tagged(ns: int) -> None:  # which decisions ended in on_event (no trade) and which with an order handed over
        if warm[0]:
            (no_trade if inside[0] else orders).append(ns)
        record(ns)

    engine.latency.record = tagged  # type: ignore[method-assign]
    lag: list[int] = []
    started = time.perf_counter_ns() + 20_000_000
    step = 1e9 / rate
    next_yield = started
    for i, event in enumerate(events):
        due = started + int(i * step)
        now = time.perf_counter_ns()
        if due - now > 1_000_000:
            await asyncio.sleep((due - now) / 1e9)
            next_yield = due + frame_ns
        elif now >= next_yield:
            await asyncio.sleep(0)
            next_yield = now + frame_ns
        handed = time.perf_counter_ns()
        warm[0] = handed - started > WARMUP_NS
        if warm[0]:
            lag.append(max(0, handed - due))
        wall = time.time_ns()
        stamped = msgspec.structs.replace(event, ts_event=wall - 40_000_000, ts_recv=wall)
        inside[0] = True
        await engine.on_event(stamped, wall)
        inside[0] = False
        if engine.handing_over:  # as trader/feed.py does
            await asyncio.sleep(0)
            next_yield = time.perf_counter_ns() + frame_ns
    wall_s = (time.perf_counter_ns() - started) / 1e9
    await engine.stop(2.0, "bench")
    engine.close()
    return no_trade, orders, lag, wall_s


CASES = (("baseline (no strategies)", "baseline", False, "shipped", FRAME_NS, False),
         ("engine, paper, as shipped", "shipped", True, "shipped", FRAME_NS, False),
         ("intents synced (a venue's)", "venue", True, "shipped", FRAME_NS, True),
         ("every commit FULL", "full", True, "FULL", FRAME_NS, False),
         ("shipped, 1 event a frame", "frame1", True, "shipped", 0, False))


def tick_to_decision(seconds: float, rates: list[float], cases: set[str] | None = None) -> list[LatencyRun]:
    runs = []
    for rate in rates:
        events = list(stream(StreamSpec(rate=rate, seconds=seconds, every_s=2.0, duration_s=1.0)))
        books = sum(1 for e in events if isinstance(e, BookTop))
        print(f"\n(a) {rate:,.0f} events/s for {seconds:g} s: {len(events):,} events, {books:,} books", flush=True)
        for name, key, instances, synchronous, frame_ns, venue_record in CASES:
            if cases is not None and key not in cases:
                continue
            with tempfile.TemporaryDirectory(prefix="bench-trader-") as tmp:
                config, _ = demo_config(Path(tmp))
                if not instances:
                    config = dataclasses.replace(config, instances=())
                no_trade, orders, lag, wall_s = asyncio.run(_feed(config, events, rate, synchronous, frame_ns, venue_record))
            run = LatencyRun(f"{name}", len(events), no_trade, orders, lag, wall_s)
            runs.append(run)
            print(run.line(), flush=True)
        if cases is not None:
            continue
        base, shipped, venue, _, _ = runs[-5:]
        every = [r.no_trade + r.orders for r in (base, shipped)]
        print(f"  ratio engine/baseline: p50 {pct(every[1], 0.5) / pct(every[0], 0.5):.2f}, p99 {pct(every[1], 0.99) / pct(every[0], 0.99):.2f};"
              f" order p50 paper / intents synced {pct(shipped.orders, 0.5) / pct(venue.orders, 0.5):.2f}", flush=True)
    return runs


# (b) backtest throughput -----------------------------------------------------------------------


def write_lake(settings: LakeSettings, events: list[Event], flush_ns: int) -> int:
    writer = PartitionWriter(open_lake(settings), settings)
    files, until = 0, events[0].ts_recv + flush_ns
    batch_events: dict[Channel, list[Event]] = {}
    for event in events:
        if event.ts_recv >= until:
            files += writer.flush(batch_events).files_written
            batch_events, until = {}, until + flush_ns
        batch_events.setdefault(channel_of(event), []).append(event)
    files += writer.flush(batch_events).files_written
    return files


def timed(work: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def backtest_throughput(hours: float) -> None:
    seconds = hours * 3600
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        config, lake = demo_config(Path(tmp))
        generated, events = timed(lambda: list(stream(StreamSpec(rate=160, seconds=seconds))))
        assert isinstance(events, list)
        wrote, files = timed(lambda: write_lake(lake, events, 5_000_000_000))
        span = (events[-1].ts_recv - events[0].ts_recv) / 1e9
        print(f"\n(b) {span / 3600:.2f} h of demo-rate data: {len(events):,} events (generated in {generated:.1f} s), "
              f"lake of {files} files written in {wrote:.1f} s", flush=True)
        read_s, count = timed(lambda: sum(1 for _ in lake_events(lake, config, None, None)))
        print(f"  read the lake back (baseline) {count:,} events in {read_s:6.2f} s: {len(events) / read_s:>9,.0f} events/s, "
              f"{span / read_s:7,.0f}x real time", flush=True)
        results = []
        for name, work in (("backtest from the lake", lambda: run_backtest(lake, config, None, None)),
                           ("backtest from memory", lambda: backtest(config, events))):
            wall, report = timed(work)
            results.append(report)
            print(f"  {name:<30} {wall:6.2f} s: {len(events) / wall:>9,.0f} events/s, {span / wall:7,.0f}x real time "
                  f"(ratio to reading alone {read_s / wall:.2f})", flush=True)
        first, second = (r.without_timing() for r in results)  # type: ignore[attr-defined]
        total = first.total
        print(f"  {total.attempts} arbitrages, {total.fills} fills, PnL {total.pnl_value:.2f} {first.valuation_asset}; "
              f"lake and memory runs agree: {first == second}", flush=True)
        by_instance(config, [e for e in events if e.ts_recv < events[0].ts_recv + SPLIT_NS])


def by_instance(config: TraderConfig, events: list[Event]) -> None:
    """Where the time goes: the backtest from memory with no strategy instance, each alone, and all."""
    span = (events[-1].ts_recv - events[0].ts_recv) / 1e9
    print(f"  by strategy instance, over the first {span / 60:.0f} min:", flush=True)
    for name, instances in (("none (market view, paper venue)", ()), *((i.id, (i,)) for i in config.instances), ("all", config.instances)):
        report = backtest(dataclasses.replace(config, instances=instances), events)
        assert report.timing is not None
        print(f"    {name:<32} {report.timing.events_per_s:>9,.0f} events/s, {span / report.timing.wall_s:7,.0f}x real time, "
              f"{report.total.attempts:>5} arbitrages", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="(a) seconds of stream per rate")
    parser.add_argument("--rates", default="1000,10000", help="(a) events per second, comma separated")
    parser.add_argument("--hours", type=float, default=1.0, help="(b) hours of demo-rate data")
    parser.add_argument("--cases", help="(a) only these cases, comma separated: baseline,shipped,full,normal,frame1")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-backtest", action="store_true")
    args = parser.parse_args()
    # Logged as `spreadlake trader` logs (INFO, its line format), into a null stream: the log records the trader
    # builds on its hot path are part of what is measured. Before the sixth round the trader's loggers were set
    # to ERROR here, which left them out.
    logging.basicConfig(level=logging.INFO, stream=open(os.devnull, "w"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.skip_latency:
        tick_to_decision(args.seconds, [float(r) for r in args.rates.split(",")], set(args.cases.split(",")) if args.cases else None)
    if not args.skip_backtest:
        backtest_throughput(args.hours)
    print(f"\nload average at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()
