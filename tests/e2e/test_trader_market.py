"""The trader against the simulated market, end to end: `spreadlake sim`, `spreadlake collector` and `spreadlake trader`
as separate processes on one settings file (the demo's, with its three strategy instances), for the same time with
dislocations on and off.

With a dislocation every second or so the trader takes opportunities and, stopped by SIGTERM, ends its session with a
positive realized PnL after fees, the circuit breaker never open, and no exposure left unreported: its journal and
the paper venue's own store agree order by order, fill by fill and on balances, and every arbitrage is settled or
failed-unhedged with its report (`tests.e2e.trader_records`). With dislocations off it makes no trade.
Results are read from the status API and the two SQLite records, never from log text."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.settings import settings_from_mapping
from shared.trading import ArbitrageState
from tests.e2e import trader_records
from tests.e2e.market import market_config, write_config
from tests.trader.running import http
from trader.journal import Journal

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
TRADING_S = 20.0  # how long the trader trades, in both runs


@dataclass(frozen=True, slots=True)
class Run:
    status: dict[str, Any]  # the trader's /status just before SIGTERM
    records: trader_records.Records  # its journal and the paper venue's store, after it stopped
    problems: list[str]  # where the two records disagree, or an arbitrage was left behind
    session_pnl: dict[str, Decimal]  # the ended session's realized PnL after fees, per asset
    end_reason: str | None


@contextmanager
def process(log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "spreadlake", *args], env=ENV, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)


def status(url: str) -> dict[str, Any] | None:
    try:
        code, body = http("GET", url)
    except OSError:
        return None
    return body if code == 200 else None


def wait_for(what: str, check: Any, timeout_s: float, proc: subprocess.Popen[bytes], log: Path) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{what}: the process exited with {proc.returncode}: {log.read_text(errors='replace')[-3000:]}"
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s} s: {log.read_text(errors='replace')[-3000:]}")


def run(tmp_path: Path, dislocation: dict[str, float]) -> Run:
    config = market_config(tmp_path, rate=100, sim={"dislocation": dislocation}, trader={"summary_interval_s": 3600})
    for instance in config["trader"]["instances"]:  # the demo's three
        if instance["kind"] == "limit_hedge":
            # Resting 30 bps off the hedge venue rather than 23: out of reach of the simulator's fastest swings without a
            # dislocation (it moves 25 bps within 250 ms at times, faster than a quote is repriced), within a 40 bps one's.
            instance["min_profit_bps"] = 10
    path = write_config(tmp_path, config)
    settings = settings_from_mapping(config).trader
    api = f"http://127.0.0.1:{config['trader']['api']['port']}"
    with ExitStack() as stack:
        stack.enter_context(process(tmp_path / "sim.log", "sim", "--config", str(path)))
        collector = stack.enter_context(process(tmp_path / "collector.log", "collector", "--config", str(path)))
        wait_for("the collector", lambda: status(f"http://127.0.0.1:{config['api']['port']}/health"), 60, collector, tmp_path / "collector.log")
        log = tmp_path / "trader.log"
        trader = stack.enter_context(process(log, "trader", "--config", str(path)))
        wait_for("the trader", lambda: (s := status(f"{api}/status")) and s["state"] == "running" and s["stream"]["events"] > 0, 60,
                 trader, log)
        time.sleep(TRADING_S)
        last = wait_for("its status", lambda: status(f"{api}/status"), 10, trader, log)
        trader.send_signal(signal.SIGTERM)
        assert trader.wait(60) == 0, log.read_text(errors="replace")[-3000:]
    records = trader_records.read(settings.journal_path, settings.paper_store_path)
    starting = {(venue, asset): Decimal(amount) for venue, assets in settings.paper.balances.items() for asset, amount in assets.items()}
    journal = Journal(settings.journal_path, time.time_ns)
    try:
        (session,) = journal.sessions()
    finally:
        journal.close()
    pnl = dict(session.totals.realized_pnl) if session.totals else {}
    return Run(last, records, trader_records.problems(records, starting), pnl, session.end_reason)


def test_with_dislocations_the_trader_takes_them_and_ends_with_a_profit_and_nothing_unreported(tmp_path: Path) -> None:
    result = run(tmp_path, {"size_bps": 40, "every_s": 2.0, "duration_s": 1.5})
    taken = [a for a in result.records.attempts if a.anything_filled]
    by_instance = {a.instance_id for a in taken}
    summary = (f"{len(taken)} arbitrages taken by {sorted(by_instance)}, "
               f"{[(a.id, a.state.value, a.reason[:80]) for a in taken if a.state is not ArbitrageState.FILLED]}; "
               f"session pnl {result.session_pnl}; decisions {result.status['risk']['decisions']}")
    assert result.end_reason == "shutdown"
    assert len(taken) >= 3, summary
    assert result.session_pnl.get("USDT", Decimal(0)) > 0 and set(result.session_pnl) == {"USDT"}, summary
    assert result.problems == [], result.problems
    assert not any(key.endswith("/circuit_open") for key in result.status["risk"]["decisions"]), summary
    assert result.status["state"] == "running", result.status["reason"]


def test_without_dislocations_the_trader_makes_no_trade(tmp_path: Path) -> None:
    result = run(tmp_path, {"size_bps": 40, "every_s": 0, "duration_s": 1.5})
    assert result.end_reason == "shutdown"
    assert result.records.journal_fills == {} and result.records.store_fills == {}
    assert not any(a.anything_filled for a in result.records.attempts)
    assert result.session_pnl == {} or set(result.session_pnl.values()) == {Decimal(0)}
    assert result.problems == [], result.problems
    assert result.status["state"] == "running" and result.status["stream"]["events"] > 0
