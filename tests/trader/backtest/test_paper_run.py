"""A backtest over a recorded lake gives the same trades as a paper run over the same stream; run twice, the
backtest gives the same report.

The lake is recorded for real: the simulator (at half the demo's rate, 20 frames/s per venue, with a 30 bps
dislocation about every 1.5 s so the demo's strategy instances trade) and a collector process writing the
lake, stopped with SIGTERM.
- The backtest is `spreadlake trader backtest --json`, run twice in two processes (so string hashing differs).
- The paper run is the trader service itself (`TraderService`: pre-start check, recovery, the stream client,
  housekeeping, shutdown) trading on paper on what `replay-lake` streams from the same lake through the
  collector's fan-out server, paced as recorded. Its clock reads the recording's time (the only fake: the
  events carry the times they were recorded at, and the trader ages books against its clock).
Both must make the same fills, in the same order (strategy instance, venue, symbol, side, price, amount,
fee and liquidity), and as many arbitrages per strategy instance that traded, ending alike (completed,
hedged, unhedged). How many unfilled limit orders the limit-then-hedge instance posted and repriced is not
compared: it follows every book, and its count moves by one or two between live runs of the same stream.

What only a live run has: each event reaches the trader a little after its receive time (the fan-out's
frame batching, a timer firing up to a millisecond late, its own work), while the backtest takes each event
at its receive time and works in no time. That matters only where an order reaches the paper venue within
those few milliseconds of a book for its market, and with the simulator that is no rare coincidence: it sends
its frames in bursts, every 50 ms at this rate (every 25 ms at the demo's 40 frames/s), and a paper latency
of 50 ms (the demo's) lands each fill on the next burst. There the two runs part ways on most recordings, so
this test's paper venue answers in 37 ms, and the paper run goes at half of real time (its clock, the paper
venue's latency and every interval of the service dilated alike), which halves the delays against the market.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from collector.dispatch import Dispatcher
from collector.fanout import fanout_component
from collector.lake.replay import replay_lake
from shared.events import Event
from shared.lake.events import EventSource, read_events
from shared.lake.storage import open_lake
from shared.settings import Settings, settings_from_mapping
from sim.runner import SimulatorThread
from spreadlake.replay_lake import wait_for_subscribers
from tests.e2e.market import market_config, write_config
from trader.engine import EngineConfig
from trader.journal import Journal
from trader.service import TraderService

RECORD_S = 16.0
SPEED = 0.5  # of the paper run, against real time
LATENCY_MS = 37  # of the paper venue; see above
Fill = list[str]


class RecordingClock:
    """The recording's time, running at `speed` x wall-clock pace; `anchor` sets it to an event's receive time
    as that event is published (it only ever moves forward)."""

    def __init__(self, start_ns: int, speed: float) -> None:
        self.speed = speed
        self.origin, self.started = start_ns, time.monotonic_ns()

    def anchor(self, ts_ns: int) -> None:
        assert self() <= ts_ns, "the trader's clock ran past the first event before it was published"
        self.origin, self.started = ts_ns, time.monotonic_ns()

    def __call__(self) -> int:
        return self.origin + round((time.monotonic_ns() - self.started) * self.speed)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("recorded")
    config = market_config(tmp, rate=20.0, lake={"flush_interval_s": 1.0})
    config["sim"]["dislocation"] = {"size_bps": 30, "every_s": 1.5, "duration_s": 1.5}
    config["trader"].update(journal_path=str(tmp / "trader" / "journal.sqlite"), paper_store_path=str(tmp / "trader" / "paper.sqlite"),
                            shutdown_grace_s=5)
    config["trader"]["paper"]["latency_ms"] = LATENCY_MS
    config["trader"]["api"]["enabled"] = False
    path = write_config(tmp, config)
    with SimulatorThread(settings_from_mapping(config).sim):
        collector = subprocess.Popen([sys.executable, "-m", "spreadlake", "collector", "--config", str(path)],
                                     stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        time.sleep(RECORD_S)
        collector.send_signal(signal.SIGTERM)
        _, err = collector.communicate(timeout=60)
    assert collector.returncode == 0, err.decode()[-3000:]
    return path, config


def backtest_cli(path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "spreadlake", "trader", "backtest", "--config", str(path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def fills(report: dict[str, Any]) -> list[Fill]:
    return [[t["instance_id"], t["venue"], t["symbol"], t["side"], t["price"], t["amount"], t["fee"], t["liquidity"]] for t in report["trades"]]


def dilated(config: dict[str, Any], run_dir: Path) -> Settings:
    """The recording's settings for the paper run: its own journal and paper store, every wall-clock interval
    of the trader stretched by 1 / SPEED."""
    live = copy.deepcopy(config)
    trader = live["trader"]
    trader.update(journal_path=str(run_dir / "journal.sqlite"), paper_store_path=str(run_dir / "paper.sqlite"))
    for key, default in (("shutdown_grace_s", 30.0), ("reconcile_interval_s", 10.0), ("summary_interval_s", 10.0)):
        trader[key] = trader.get(key, default) / SPEED
    trader["paper"]["latency_ms"] /= SPEED
    return settings_from_mapping(live)


async def paper_run(settings: Settings, lake: Settings) -> tuple[int, int]:
    """The trader service on replay-lake's stream of the whole lake; its exit code and how many events were streamed."""
    first = next(event for window in read_events(EventSource(open_lake(lake.lake))) for event in window)
    clock = RecordingClock(first.ts_recv - 3_000_000_000, SPEED)  # the trader is up before the data, as in the backtest
    dispatcher = Dispatcher()
    fanout = fanout_component(settings, dispatcher)
    await fanout.start()
    anchored: list[Event] = []

    def published(event: Event) -> None:  # the clock reads the first event's receive time as it goes out
        if not anchored:
            anchored.append(event)
            clock.anchor(event.ts_recv)

    dispatcher.attach(published)
    service = TraderService(settings, clock=clock, engine_config=EngineConfig(poll_s=0.05 / SPEED, send_timeout_s=10 / SPEED),
                            housekeeping_s=1 / SPEED, check_timeout_s=0.5)
    stop = asyncio.Event()
    trading = asyncio.create_task(service.run(stop))
    try:
        await asyncio.wait_for(service.ready.wait(), 30)
        await asyncio.wait_for(wait_for_subscribers(fanout, 1, stop), 30)
        while (ahead := first.ts_recv - 1_000_000_000 - clock()) > 0:  # reading starts 1 s (recorded) before the first event is due
            await asyncio.sleep(ahead / 1e9 / SPEED)
        replayed = await replay_lake(lake, None, None, SPEED, dispatcher)
        await asyncio.sleep(0.5)  # the last frames reach the trader
    finally:
        stop.set()
        code = await trading
        await fanout.stop()
    return code, replayed.total


ENDINGS = ("completed", "hedged", "unhedged")  # of arbitrages that filled something (the backtest's names for the states)


def outcomes(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per strategy instance, how its arbitrages that traded ended."""
    return {r["instance_id"]: {name: r[name] for name in ENDINGS if r[name]} for r in report["instances"] if any(r[n] for n in ENDINGS)}


def journaled(path: Path) -> tuple[list[Fill], dict[str, dict[str, int]]]:
    """The paper run's fills and arbitrage outcomes, from its journal."""
    states = {"filled": "completed", "done": "hedged", "failed_unhedged": "unhedged"}
    journal = Journal(path, time.time_ns)
    try:
        attempts = {a.id: a for a in journal.attempts()}
        attempt_of = {o.client_order_id: o.attempt_id for o in journal.orders()}
        fills = [[attempts[a].instance_id if (a := attempt_of.get(f.client_order_id) or "") in attempts else "", f.venue, f.symbol,
                  f.side.value, str(f.price), str(f.amount), str(f.fee), f.liquidity.value] for f in journal.fills()]
        ended: dict[str, dict[str, int]] = {}
        for attempt in attempts.values():
            if attempt.state.value in states:
                counts = ended.setdefault(attempt.instance_id, {})
                counts[states[attempt.state.value]] = counts.get(states[attempt.state.value], 0) + 1
        return fills, ended
    finally:
        journal.close()


def test_two_backtests_give_the_same_report(recorded: tuple[Path, dict[str, Any]]) -> None:
    path, _ = recorded
    first, second = backtest_cli(path), backtest_cli(path)
    assert first.pop("timing")["wall_s"] > 0 and second.pop("timing")
    assert first == second
    assert first["total"]["fills"] > 0, "the dislocations made no trade: nothing was compared"
    assert sum(first["events"].values()) > 1_000


def test_a_backtest_over_the_lake_makes_the_same_trades_as_a_paper_run_over_the_same_stream(recorded: tuple[Path, dict[str, Any]]) -> None:
    path, config = recorded
    report = backtest_cli(path)
    backtested = fills(report)
    run_dir = path.parent / "paper-run"
    code, streamed = asyncio.run(paper_run(dilated(config, run_dir), settings_from_mapping(config)))
    assert code == 0 and streamed > 1_000
    traded, ended = journaled(run_dir / "journal.sqlite")
    assert len(backtested) >= 4, "too few trades to compare"
    assert traded == backtested
    assert ended == outcomes(report)
