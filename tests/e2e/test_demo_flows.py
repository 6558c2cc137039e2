"""`spreadlake demo` with its flows (what `make demo` runs): a local Prefect server and the served flows beside
the simulated market, the collector and the trader; the Prefect UI address printed; the analyze schedule
storing summaries of the live lake; everything, the Prefect server included, stopped on Ctrl-C."""

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

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_serves_the_flows_on_a_local_prefect_server_and_stops_it(tmp_path: Path) -> None:
    port = free_port()
    config = market_config(tmp_path, analyzer={"chunk_s": 10},
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
    assert any(line.startswith("events/s:") for line in out.splitlines())  # the demo's own lines are still there
    manifests = store.manifests("candles")
    assert manifests and any(m.rows_read["trade"] > 0 for m in manifests), (tmp_path / "prefect" / "flows.log").read_text()[-3000:]
    assert set(store.analyses()) == {"candles", "spreads", "opportunities", "triangular", "volatility", "quality"}
    assert "Finished in state Completed()" in (tmp_path / "prefect" / "flows.log").read_text()
    assert not healthy(f"http://127.0.0.1:{port}/api")  # the server the demo started is stopped with it
