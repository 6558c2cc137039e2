"""`spreadlake demo` runs the trader on paper beside the collector: its checks, its session, its running PnL,
and a clean stop that ends the session in the journal (which arbitrages it takes depends on the market)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.market import market_config, write_config
from trader.journal import Journal


def test_the_demo_trades_on_paper_and_prints_the_traders_lines_and_running_pnl(tmp_path: Path) -> None:
    config = market_config(tmp_path, sim={"dislocation": {"size_bps": 40, "every_s": 3, "duration_s": 2}})
    path = write_config(tmp_path, config)
    demo = subprocess.run([sys.executable, "-m", "spreadlake", "demo", "--config", str(path), "--duration", "14", "--no-flows"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=120)
    assert demo.returncode == 0, demo.stderr[-3000:]
    out = demo.stdout
    assert f"trader (paper): btc-binance-gateio, tri-binance, eth-bybit-kucoin; journal {tmp_path}/trader/journal.sqlite" in out
    lines = [line.removeprefix("trader: ") for line in out.splitlines() if line.startswith("trader: ")]
    assert [line.split(":")[0] for line in lines[:5]] == ["check ok   config", "check ok   journal", "check ok   stream", "check ok   balances",
                                                          "check ok   api"]
    assert lines[5] == "session 1 started: recovery clean"
    assert lines[-2].startswith("trader stopped (shutdown): ")
    assert lines[-1].startswith("pnl: session ") and "after fees" in lines[-1] and "state: stopped (shutdown)" in lines[-1]
    assert all(line.startswith(("trade ", "pnl: ", "safe mode ")) for line in lines[6:-2]), lines[6:-2]
    assert any(line.startswith("events/s:") for line in out.splitlines())  # the collector's own lines are still there

    journal = Journal(tmp_path / "trader" / "journal.sqlite", time.time_ns)
    try:
        (session,) = journal.sessions()
        assert session.end_reason == "shutdown" and session.totals is not None
    finally:
        journal.close()
