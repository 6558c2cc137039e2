"""`spreadlake trader` as an operator runs it: a real trader process on the real fan-out server (fed quiet books
by a Dispatcher on a thread of the test), operated with `spreadlake trader kill | status | check`, and stopped
by SIGTERM with its session ended in the journal."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from collector.dispatch import Dispatcher
from tests.ports import free_port
from tests.trader.running import RESTING, XEX, book, http, port_of, start_fanout, trader_mapping
from trader.execution import PaperStore
from trader.journal import Journal

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


@contextmanager
def market(every_s: float = 0.1) -> Iterator[int]:
    """The fan-out server on a thread, publishing quiet books (no edge) every `every_s`; yields its port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fanout, dispatcher = asyncio.run_coroutine_threadsafe(start_fanout(), loop).result(10)

    async def publish(dispatcher: Dispatcher) -> None:
        while True:
            dispatcher.publish(book("binance", 99.90, 100.10))
            dispatcher.publish(book("bybit", 100.00, 100.10))
            await asyncio.sleep(every_s)

    publishing = asyncio.run_coroutine_threadsafe(publish(dispatcher), loop)
    try:
        yield port_of(fanout)
    finally:
        publishing.cancel()
        asyncio.run_coroutine_threadsafe(fanout.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def config(tmp_path: Path, stream_port: int, **trader: Any) -> tuple[Path, str]:
    api_port = free_port()
    mapping = trader_mapping(tmp_path, stream_port, api={"port": api_port}, **trader)
    path = tmp_path / "trader.yaml"
    path.write_text(yaml.safe_dump(mapping))
    return path, f"http://127.0.0.1:{api_port}"


def spreadlake(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "spreadlake", *args], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "spreadlake", *args], env=ENV, capture_output=True, text=True, timeout=60)


def until(api: str, predicate: Any, proc: subprocess.Popen[str], timeout_s: float = 30.0) -> dict[str, Any]:
    """Poll the trader's /status until `predicate` holds (while the process lives)."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the trader exited with {proc.returncode}: {proc.communicate()[1][-3000:]}"
        try:
            code, last = http("GET", f"{api}/status")
        except OSError:
            code = 0
        if code == 200 and predicate(last):
            return dict(last)
        time.sleep(0.1)
    raise AssertionError(f"not reached within {timeout_s} s; last status: {json.dumps(last)[:2000]}")


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err


@contextmanager
def trader(path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = spreadlake("trader", "--config", str(path))
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_kill_from_the_command_line_cancels_the_resting_order_and_stops_proposals(tmp_path: Path) -> None:
    with market() as port:
        path, api = config(tmp_path, port, instances=[XEX, RESTING])
        with trader(path) as proc:
            before = until(api, lambda b: len(b["open_orders"]) == 1, proc)
            resting = before["open_orders"][0]["client_order_id"]

            killed = command("trader", "kill", "--config", str(path))
            assert killed.returncode == 0, killed.stderr
            assert "kill switch engaged (operator (command line)): new proposals stopped" in killed.stdout
            assert f"open orders canceled: 1\n    {resting} buy 0.2 BTC-USDT on binance: canceled" in killed.stdout
            assert "exposure left: none" in killed.stdout

            after = until(api, lambda b: b["state"] == "killed", proc)
            assert after["open_orders"] == [] and after["risk"]["killed"] is True
            proposals = after["risk"]["decisions"]
            events = after["stream"]["events"]
            until(api, lambda b: b["stream"]["events"] > events + 10, proc)  # books keep coming...
            assert until(api, lambda b: True, proc)["risk"]["decisions"] == proposals  # ...and nothing is proposed

            shown = command("trader", "status", "--config", str(path))
            assert shown.returncode == 0, shown.stderr
            assert shown.stdout.startswith("trader killed (operator (command line)), paper mode, session 1")
            assert "kill switch ENGAGED" in shown.stdout and "open orders: 0" in shown.stdout
            raw = command("trader", "status", "--config", str(path), "--json")
            assert json.loads(raw.stdout)["state"] == "killed"

            code, err = stop(proc)
            assert code == 0, err[-3000:]


def test_sigterm_cancels_the_resting_order_and_ends_the_session_in_the_journal(tmp_path: Path) -> None:
    with market() as port:
        path, api = config(tmp_path, port, instances=[RESTING])
        with trader(path) as proc:
            body = until(api, lambda b: len(b["open_orders"]) == 1, proc)
            resting = body["open_orders"][0]["client_order_id"]

            checked = command("trader", "check", "--config", str(path))  # beside a running trader: its API answers for it
            assert checked.returncode == 0, checked.stdout + checked.stderr
            assert "ok   journal: " in checked.stdout and "is held by the running trader (session 1, running)" in checked.stdout
            assert "ok   api: the running trader answers" in checked.stdout

            code, err = stop(proc)
            assert code == 0, err[-3000:]
            assert "trader stopped (shutdown): 1 resting orders canceled, 0 arbitrages unfinished" in err

    journal = Journal(tmp_path / "journal.sqlite", time.time_ns)
    try:
        (session,) = journal.sessions()
        assert session.end_reason == "shutdown" and session.ended_ns is not None and session.totals is not None
        assert session.totals.orders == 1 and session.totals.arbitrages == {"aborted": 1}
        order = journal.order(resting)
        assert order is not None and order.status.value == "canceled" and order.reason == "shutdown: shutdown"
    finally:
        journal.close()
    store = PaperStore(tmp_path / "paper.sqlite")
    try:
        assert store.open_orders() == ()  # the venue's own record agrees
    finally:
        store.close()


def test_a_failed_pre_start_check_is_reported_and_the_trader_does_not_start(tmp_path: Path) -> None:
    path, _ = config(tmp_path, free_port())  # nothing listens there
    checked = command("trader", "check", "--config", str(path), "--timeout", "2")
    assert checked.returncode == 1
    lines = checked.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["ok   config", "ok   journal", "FAIL stream", "ok   balances", "ok   api"]
    assert "cannot connect to ws://127.0.0.1:" in lines[2]
    assert "1 failed" in checked.stderr

    started = command("trader", "--config", str(path))
    assert started.returncode == 1
    assert "trader not started: stream: cannot connect to ws://127.0.0.1:" in started.stderr

    api = f"http://127.0.0.1:{yaml.safe_load(path.read_text())['trader']['api']['port']}"
    for args in (("status", "--config", str(path)), ("kill", "--config", str(path)), ("--config", str(path), "status")):
        refused = command("trader", *args)
        assert refused.returncode == 1 and f"no trader API answers at {api}" in refused.stderr, args


def test_the_trader_command_documents_running_and_its_subcommands() -> None:
    shown = command("trader", "--help")
    assert shown.returncode == 0 and "--config" in shown.stdout and "--duration" in shown.stdout
    for sub in ("check", "status", "kill"):
        assert sub in shown.stdout
        assert "--config" in command("trader", sub, "--help").stdout
    assert "--flatten" in command("trader", "kill", "--help").stdout
