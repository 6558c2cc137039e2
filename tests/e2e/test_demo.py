"""`spreadlake demo` as `make demo` runs it: the simulated market, the collector, the trader on paper (its checks,
its session, its running PnL, a clean stop that ends the session in the journal; which arbitrages it takes
depends on the market) and, beside them, a local Prefect server and the served flows (the Prefect UI address
printed, the analyze schedule storing summaries of the live lake); everything, the Prefect server included,
stopped on Ctrl-C. One demo run for all of it: each start costs the suite ~15 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flows.server import healthy
from shared.lake.storage import open_lake
from shared.settings import load_settings
from shared.summary import SummaryStore
from tests.e2e.market import market_config, write_config
from tests.ports import free_port
from trader.journal import Journal

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_trades_on_paper_serves_the_flows_on_a_local_prefect_server_and_stops_everything(tmp_path: Path) -> None:
    port = free_port()
    config = market_config(tmp_path, sim={"dislocation": {"size_bps": 40, "every_s": 3, "duration_s": 2}}, analyzer={"chunk_s": 10},
                           flows={"server_port": port, "prefect_home": str(tmp_path / "prefect"), "analyze_interval_s": 10})
    path = write_config(tmp_path, config)
    store = SummaryStore(open_lake(load_settings(path).lake))
    demo = subprocess.Popen([sys.executable, "-m", "spreadlake", "demo", "--config", str(path)], cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "PREFECT_RUNNER_POLL_FREQUENCY": "2"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and demo.poll() is None and not any(m.rows_read.get("trade") for m in store.manifests("quality")):
            time.sleep(1)  # quality is the last analysis of a run
        assert healthy(f"http://127.0.0.1:{port}/api")
    finally:
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=90)
    assert demo.returncode == 0, err[-3000:]
    assert f"Prefect UI: http://127.0.0.1:{port}" in out
    assert "flows: analyze every 10 s (chunks of 10 s)" in out
    assert any(line.startswith("events/s:") for line in out.splitlines())  # the collector's own lines are still there

    assert f"trader (paper): btc-binance-gateio, tri-binance, eth-bybit-kucoin; journal {tmp_path}/trader/journal.sqlite" in out
    lines = [line.removeprefix("trader: ") for line in out.splitlines() if line.startswith("trader: ")]
    assert [line.split(":")[0] for line in lines[:5]] == ["check ok   config", "check ok   journal", "check ok   stream", "check ok   balances",
                                                          "check ok   api"]
    assert lines[5] == "session 1 started: recovery clean"
    assert lines[-2].startswith("trader stopped (shutdown): ")
    assert lines[-1].startswith("pnl: session ") and "after fees" in lines[-1] and "state: stopped (shutdown)" in lines[-1]
    assert all(line.startswith(("trade ", "pnl: ", "safe mode ")) for line in lines[6:-2]), lines[6:-2]
    journal = Journal(tmp_path / "trader" / "journal.sqlite", time.time_ns)
    try:
        (session,) = journal.sessions()
        assert session.end_reason == "shutdown" and session.totals is not None
    finally:
        journal.close()

    manifests = store.manifests("candles")
    assert manifests and any(m.rows_read["trade"] > 0 for m in manifests), (tmp_path / "prefect" / "flows.log").read_text()[-3000:]
    assert set(store.analyses()) == {"candles", "spreads", "opportunities", "triangular", "volatility", "quality"}
    assert "Finished in state Completed()" in (tmp_path / "prefect" / "flows.log").read_text()
    assert not healthy(f"http://127.0.0.1:{port}/api")  # the server the demo started is stopped with it
