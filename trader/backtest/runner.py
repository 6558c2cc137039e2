"""The backtest: a range of the lake through the same strategies, risk manager and paper executor as
a live paper run, as fast as possible, on the recording's clock.

A fresh engine (`build_engine`, the service's own wiring) is made on a journal and paper store in
memory (the same SQLite schema and statements as live), and runs on a `SimulatedLoop`. It starts
(recovery, balances: each a call to the paper venue, with its latency) `warmup_ns` before the first
event (the larger of 1 s and 10 paper latencies), as a live trader is up before the data it trades
on. Then, before each event, simulated time runs to the event's receive time (every timer due before
it fires first, at its own time: paper latency, leg polls, deadlines), and the engine takes the event
at exactly that time. After the last event the engine stops as on SIGTERM (resting orders canceled,
in-flight legs given the shutdown grace, in simulated time) and the report is read from its journal.
The lake is read window by window on a thread while the engine runs.

The service's housekeeping runs too, on the simulated clock: every second the risk manager looks at how
long each traded venue/symbol has been untradeable (stale data enters safe mode), and balances and open
orders are reconciled with the paper venue every `reconcile_interval_ns`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tempfile
import time
from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

import msgspec

from shared.events import Channel, Event, channel_of
from shared.lake.events import EventSource, read_events
from shared.lake.storage import open_lake
from shared.settings.lake import LakeSettings
from trader.backtest.loop import SimulatedLoop
from trader.backtest.report import BacktestReport, Timing, build_report
from trader.config import TraderConfig
from trader.engine import EngineConfig, EngineState, TradingEngine, build_engine
from trader.journal import IN_MEMORY

__all__ = ["CHANNELS", "NoMarketData", "backtest", "lake_events", "run_backtest"]

CHANNELS = (Channel.BOOK, Channel.TICKER, Channel.TRADE, Channel.STATUS)  # what the engine and the paper venue use
STOP_REASON = "backtest: end of data"
HOUSEKEEPING_NS = 1_000_000_000  # as the service's
_TRADING = frozenset({EngineState.RUNNING, EngineState.SAFE_MODE})


class NoMarketData(LookupError):
    """The lake holds no event of the traded venues in the range."""


def lake_events(lake: LakeSettings, config: TraderConfig, start_ns: int | None, end_ns: int | None,
                window_s: float = 60.0) -> Iterator[Event]:
    """The range's events of the traded venues, every channel the engine needs, in receive-time order."""
    venues = sorted({venue for venue, _ in config.instruments})
    source = EventSource(open_lake(lake), CHANNELS, start_ns, end_ns, venues)
    for window in read_events(source, round(window_s * 1e9)):
        yield from window


def run_backtest(lake: LakeSettings, config: TraderConfig, start_ns: int | None, end_ns: int | None, *,
                 workdir: Path | None = None, engine_config: EngineConfig | None = None) -> BacktestReport:
    """Backtest the lake's range [start_ns, end_ns) (None: open) with the trader's configuration."""
    return backtest(config, lake_events(lake, config, start_ns, end_ns), workdir=workdir, engine_config=engine_config)


def warmup_ns(config: TraderConfig) -> int:
    return max(1_000_000_000, 10 * config.paper.latency_ns)


def backtest(config: TraderConfig, events: Iterable[Event], *, workdir: Path | None = None,
             engine_config: EngineConfig | None = None) -> BacktestReport:
    """Run `events` (in receive-time order) through a fresh paper engine in simulated time. Raises
    `NoMarketData` if there are none. The run's journal and paper store are SQLite databases in memory
    (nothing outlives the run, so their commits need not write a file: about 10% of a backtest's
    time); with `workdir`, temporary files under it, for runs whose journal would not fit."""
    started = time.perf_counter()
    stream = iter(events)
    try:
        first = next(stream, None)
        if first is None:
            raise NoMarketData("no market data for the traded venues in this range")
        with contextlib.ExitStack() as files:
            journal_path = store_path = IN_MEMORY
            if workdir is not None:
                tmp = Path(files.enter_context(tempfile.TemporaryDirectory(prefix="spreadlake-backtest-", dir=workdir)))
                journal_path, store_path = tmp / "journal.sqlite", tmp / "paper.sqlite"
            fresh = dataclasses.replace(config, journal_path=journal_path, paper=dataclasses.replace(config.paper, store_path=store_path))
            with asyncio.Runner(loop_factory=lambda: SimulatedLoop(first.ts_recv - warmup_ns(config))) as runner:
                loop = runner.get_loop()
                assert isinstance(loop, SimulatedLoop)
                report = runner.run(_run(fresh, loop, first, stream, engine_config))
    finally:
        if isinstance(stream, Generator):
            stream.close()  # a lake reader stops reading ahead
    wall = time.perf_counter() - started
    total = sum(report.events.values())
    assert report.first_ts is not None and report.last_ts is not None
    span = (report.last_ts - report.first_ts) / 1e9
    timing = Timing(wall, total / wall if wall else 0.0, span / wall if span and wall else None)
    return msgspec.structs.replace(report, timing=timing)


async def _run(config: TraderConfig, loop: SimulatedLoop, first: Event, rest: Iterator[Event],
               engine_config: EngineConfig | None) -> BacktestReport:
    engine = build_engine(config, loop.now_ns, engine_config)
    try:
        await engine.start()
        housekeeping = asyncio.create_task(_housekeeping(engine, config, loop), name="backtest-housekeeping")
        counts: Counter[Channel] = Counter()
        last = first.ts_recv
        for event in _chain(first, rest):
            if not loop.advance(event.ts_recv):
                await loop.until(event.ts_recv)
            await engine.on_event(event, loop.now_ns())
            counts[channel_of(event)] += 1
            last = event.ts_recv
        await engine.stop(config.shutdown_grace_ns / 1e9, STOP_REASON)
        housekeeping.cancel()
        await engine.refresh_balances()
        return build_report(engine, counts, first.ts_recv, last)
    finally:
        await _settle(engine)
        engine.close()


async def _housekeeping(engine: TradingEngine, config: TraderConfig, loop: SimulatedLoop) -> None:
    """What the service does about once a second (trader.service), on simulated time."""
    next_reconcile = loop.now_ns() + config.reconcile_interval_ns
    while True:
        await asyncio.sleep(HOUSEKEEPING_NS / 1e9)
        if engine.state not in _TRADING:
            continue
        now = loop.now_ns()
        engine.observe_staleness()
        if now >= next_reconcile:
            next_reconcile = now + config.reconcile_interval_ns
            try:
                await engine.reconcile()
            except Exception as error:  # as the service: an error towards safe mode, trading goes on
                engine.risk.error(loop.now_ns(), f"reconciliation: {error}")


def _chain(first: Event, rest: Iterator[Event]) -> Iterator[Event]:
    yield first
    yield from rest


async def _settle(engine: TradingEngine) -> None:
    """Cancel whatever the stop left running (its grace ran out) so the loop closes cleanly."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
