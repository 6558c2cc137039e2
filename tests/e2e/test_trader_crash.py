"""SIGKILL at random points of arbitrages: the simulator and the collector as processes, dislocations every
half second, and a real `spreadlake trader` process killed at least 20 times, mostly while an order of an
arbitrage is on its way or a leg is under way, each time restarted on the same journal and paper store.

Each restart must reconcile and trade again. At the end the trader is stopped by SIGTERM and the two SQLite
files are compared directly (`tests.e2e.trader_records`): no client order id twice at the venue, every
journaled order and fill as the venue has it, the venue's balances equal to the starting ones moved by its
fills, and every arbitrage ended: settled, or failed-unhedged with its report in the journal.

And the graceful stop with work under way: SIGTERM while a limit order rests and a leg of an arbitrage is on its
way cancels the one and completes the other within the grace (on test-published books, as `test_trader_cli`)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from shared.events import BookTop
from shared.settings import settings_from_mapping
from shared.trading import ArbitrageState, OrderStatus
from tests.e2e import test_trader_cli as cli
from tests.e2e import trader_records
from tests.e2e.market import market_config, write_config
from tests.trader.running import RESTING, XEX, book, http, port_of, start_fanout

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
KILLS = 20
VENUES4 = ["binance", "bybit", "gateio", "kucoin"]
# Every dislocation (40 bps, any venue and symbol, about every 0.5 s) is an opportunity for one of these.
INSTANCES = [
    {"id": "btc-x", "kind": "cross_exchange", "venues": VENUES4, "symbols": ["BTC-USDT"], "size": 0.01, "min_profit_bps": 3},
    {"id": "eth-x", "kind": "cross_exchange", "venues": VENUES4, "symbols": ["ETH-USDT"], "size": 0.2, "min_profit_bps": 3},
    {"id": "tri-binance", "kind": "triangular", "venues": ["binance"], "symbols": ["BTC-USDT", "ETH-BTC", "ETH-USDT"],
     "start_asset": "USDT", "size": 300, "min_profit_bps": 2},
    {"id": "eth-bybit-kucoin", "kind": "limit_hedge", "venues": ["bybit", "kucoin"], "symbols": ["ETH-USDT"], "size": 0.1,
     "min_profit_bps": 3, "reprice_bps": 2},
]


def spreadlake(log: IO[bytes], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "spreadlake", *args], env=ENV, stdout=log, stderr=subprocess.STDOUT)


@contextmanager
def process(log_path: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("ab") as log:
        proc = spreadlake(log, *args)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)


def wait_for(what: str, predicate: Any, timeout_s: float, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {proc.returncode}: {_tail(log)}")
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"{what}: not within {timeout_s} s: {_tail(log)}")


def _tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""


def answers(url: str, predicate: Any = None) -> Any:
    try:
        code, body = http("GET", url)
    except OSError:
        return None
    return body if code == 200 and (predicate is None or predicate(body)) else None


def started_line(log: Path, run: int) -> str | None:
    """The trader's "session N started: recovery ..." line of run `run` (1-based), once written."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if " started: recovery " in line]
    return lines[run - 1] if len(lines) >= run else None


def test_sigkill_at_random_points_of_arbitrages_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    config = market_config(
        tmp_path, rate=100,
        sim={"dislocation": {"size_bps": 40, "every_s": 0.5, "duration_s": 1.0}},
        trader={"shutdown_grace_s": 10, "summary_interval_s": 3600,
                "paper": {"latency_ms": 120, "balances": {v: {"USDT": 20000, "BTC": 0.3, "ETH": 5} for v in VENUES4}}},
    )
    config["trader"]["instances"] = INSTANCES
    path = write_config(tmp_path, config)
    settings = settings_from_mapping(config)
    journal, store = settings.trader.journal_path, settings.trader.paper_store_path
    starting = {(venue, asset): Decimal(amount) for venue, assets in settings.trader.paper.balances.items() for asset, amount in assets.items()}
    api = f"http://127.0.0.1:{config['trader']['api']['port']}"
    rng = random.Random(int(os.environ.get("CRASH_SEED", "8")))
    targets = rng.sample(["venue_ahead"] * 6 + ["sending"] * 6 + ["legs"] * 5 + ["random"] * 3, KILLS)
    log = tmp_path / "trader.log"
    moments: list[str] = []
    at_kill: list[trader_records.InFlight] = []  # what the journal held as under way when each run was killed
    began = time.monotonic()

    with ExitStack() as stack:
        stack.enter_context(process(tmp_path / "sim.log", "sim", "--config", str(path)))
        collector = stack.enter_context(process(tmp_path / "collector.log", "collector", "--config", str(path)))
        wait_for("the collector's feeds", lambda: answers(f"http://127.0.0.1:{config['api']['port']}/health"), 60, collector,
                 tmp_path / "collector.log")
        for run in range(1, KILLS + 2):
            with process(log, "trader", "--config", str(path)) as trader:
                wait_for(f"run {run} to start", lambda run=run: started_line(log, run), 60, trader, log)
                wait_for(f"run {run} to trade", lambda: answers(f"{api}/status", trading), 30, trader, log)
                if run <= KILLS:
                    moments.append(kill_moment(rng, targets[run - 1], journal, store, trader))
                    assert trader.wait(10) == -signal.SIGKILL, f"run {run} ended by itself: {_tail(log)}"
                    at_kill.append(trader_records.in_flight(journal))
                else:  # the last run trades on, then stops gracefully
                    time.sleep(3)
                    trader.send_signal(signal.SIGTERM)
                    assert trader.wait(60) == 0, _tail(log)
    elapsed = time.monotonic() - began

    records = trader_records.read(journal, store)
    summary = (f"{KILLS} kills in {elapsed:.0f} s at {dict(Counter(moments))}; under way at the kills: "
               f"{sum(len(s.orders) for s in at_kill)} orders ({sum(len(s.sending) for s in at_kill)} unanswered), "
               f"{sum(len(s.legs_under_way) for s in at_kill)} arbitrages with a leg filled; venue: {len(records.store_orders)} orders, "
               f"{len(records.store_fills)} fills; arbitrages {dict(Counter(a.state.value for a in records.attempts))}")
    print(summary)
    found = trader_records.problems(records, starting)
    # Every run started with a recovery that agreed with the venue and looked at every order the last one left under way.
    started = [started_line(log, run) or "" for run in range(1, KILLS + 2)]
    found += [f"run {run}: {line}" for run, line in enumerate(started, 1) if not line.endswith("started: recovery clean")]
    recoveries = {session: detail for session, _, detail in records.reconciliations}
    for session, left in enumerate(at_kill, 2):
        if not recoveries.get(session, "").startswith(f"{len(left.orders)} orders and "):
            found.append(f"session {session} reconciled {recoveries.get(session)!r}; run {session - 1} left {len(left.orders)} orders under way")
    assert [s[1] for s in records.sessions] == [None] * KILLS + ["shutdown"]  # killed, killed, ..., then stopped
    assert "trader stopped (shutdown)" in _tail(log)
    assert not found, "\n".join([summary, *found[:40]])


def trading(status: dict[str, Any]) -> bool:
    return status["state"] in ("running", "safe_mode") and status["stream"]["events"] > 0


def kill_moment(rng: random.Random, target: str, journal: Path, store: Path, trader: subprocess.Popen[bytes]) -> str:
    """Kill the trader at a moment of `target`, and say which moment it was. The trader is frozen (SIGSTOP) every few
    milliseconds while both records are read; if they show the target, it is killed frozen (as if killed at that
    instant), else thawed. `venue_ahead`: the venue has an order or fill the journal has not heard of yet; `sending`: an
    order is journaled and not answered; `legs`: an arbitrage has filled a leg and is not settled; `random`: any time.
    After a few seconds without the target, the next best moment will do."""
    if target == "random":
        time.sleep(rng.uniform(0.05, 2.0))
        trader.send_signal(signal.SIGKILL)
        return target
    deadline = time.monotonic() + 6
    while True:
        time.sleep(rng.uniform(0, 0.01))
        trader.send_signal(signal.SIGSTOP)
        _until_frozen(trader.pid)
        seen = trader_records.moment(journal, store)
        late = time.monotonic() > deadline
        if target in seen or (late and seen) or time.monotonic() > deadline + 6:
            trader.send_signal(signal.SIGKILL)
            trader.send_signal(signal.SIGCONT)
            return target if target in seen else f"{target} (fallback: {', '.join(sorted(seen)) or 'random'})"
        trader.send_signal(signal.SIGCONT)


def _until_frozen(pid: int) -> None:
    for _ in range(1000):
        with open(f"/proc/{pid}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "T":
                return
        time.sleep(0.0005)


@contextmanager
def switchable_market(books: list[list[BookTop]], every_s: float = 0.1) -> Iterator[int]:
    """The fan-out server on a thread, publishing `books[-1]` (with fresh timestamps) every `every_s`; append to switch."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fanout, dispatcher = asyncio.run_coroutine_threadsafe(start_fanout(), loop).result(10)

    async def publish() -> None:
        while True:
            for top in books[-1]:
                dispatcher.publish(book(top.exchange, top.bids[0][0], top.asks[0][0]))
            await asyncio.sleep(every_s)

    publishing = asyncio.run_coroutine_threadsafe(publish(), loop)
    try:
        yield port_of(fanout)
    finally:
        publishing.cancel()
        asyncio.run_coroutine_threadsafe(fanout.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_sigterm_with_a_limit_order_resting_and_a_leg_in_flight_cancels_one_and_completes_the_other(tmp_path: Path) -> None:
    quiet = [book("binance", 99.90, 100.10), book("bybit", 100.00, 100.10)]
    # binance's bid 50 bps over bybit's ask: buy on bybit, sell on binance (30 bps after fees); bybit, which the
    # resting bid on binance is priced against, does not move, so the resting order stays as it is.
    dislocated = [book("binance", 100.60, 100.70), book("bybit", 100.00, 100.10)]
    books = [quiet]
    with switchable_market(books) as port:
        path, api = cli.config(tmp_path, port, instances=[XEX, RESTING], shutdown_grace_s=10, paper={"latency_ms": 800})
        journal = tmp_path / "journal.sqlite"
        with cli.trader(path) as proc:
            resting = cli.until(api, lambda b: len(b["open_orders"]) == 1, proc)["open_orders"][0]["client_order_id"]
            books.append(dislocated)
            sending = wait_for("a leg on its way", lambda: [o for o in trader_records.in_flight(journal).sending
                                                             if o.attempt_id and o.client_order_id.startswith(o.attempt_id)
                                                             and o.client_order_id != resting], 20, None)
            code, err = cli.stop(proc)
    assert code == 0, err[-3000:]
    assert "trader stopped (shutdown): 1 resting orders canceled, 0 arbitrages unfinished" in err, err[-3000:]

    records = trader_records.read(journal, tmp_path / "paper.sqlite")
    assert records.journal_orders[resting].status is OrderStatus.CANCELED and records.journal_orders[resting].reason == "shutdown: shutdown"
    in_flight = records.journal_orders[sending[0].client_order_id].attempt_id
    attempt = next(a for a in records.attempts if a.id == in_flight)
    assert attempt.instance_id == "xex" and attempt.state is ArbitrageState.FILLED, attempt  # both legs, within the grace
    assert [s[1] for s in records.sessions] == ["shutdown"]
    starting = {(venue, asset): Decimal(amount) for venue in ("binance", "bybit") for asset, amount in (("USDT", 10000), ("BTC", 1))}
    assert trader_records.problems(records, starting) == []
