"""`spreadlake flows serve` on a real local Prefect server, started by flows/server.py: the three schedules
fire, their runs complete, summaries appear in the lake; SIGTERM stops the runner and the server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from analyzer.runner import last_closed_chunk
from flows.server import healthy
from shared.clock import now_ns
from shared.lake.storage import open_lake
from shared.settings import load_settings
from shared.summary import ANALYSES, SummaryStore
from tests.ports import free_port
from tests.shared.lake.synthetic import mixed, write

ROOT = Path(__file__).resolve().parents[2]
S = 1_000_000_000


def post(api_url: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(f"{api_url}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def completed_runs(api_url: str) -> dict[str, int]:
    """Completed flow runs per deployment name."""
    names = {d["id"]: d["name"] for d in post(api_url, "/deployments/filter", {})}
    runs = post(api_url, "/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}})
    counts: dict[str, int] = {}
    for run in runs:
        name = names.get(run["deployment_id"], "?")
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_served_schedules_fire_on_a_local_server_and_store_summaries(tmp_path: Path) -> None:
    port = free_port()
    config = {
        "lake": {"root": str(tmp_path / "lake"), "fsync": False, "compaction": {"min_age_s": 0}, "retention_days": 30},
        "analyzer": {"chunk_s": 10},
        "flows": {"server_port": port, "prefect_home": str(tmp_path / "prefect"), "analyze_interval_s": 10, "compact_interval_s": 10,
                  "retention_interval_s": 15, "retries": 0},
    }
    path = tmp_path / "spreadlake.yaml"
    path.write_text(yaml.safe_dump(config))
    settings = load_settings(path)
    start, _ = last_closed_chunk(now_ns(), 10)
    write(open_lake(settings.lake), settings.lake, mixed(3_000, t0=start - 20 * S, step=40_000_000))  # 2 minutes around now

    api_url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    serve = subprocess.Popen([sys.executable, "-m", "spreadlake", "flows", "serve", "--config", str(path)],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(iter(serve.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        deadline = time.monotonic() + 75
        counts: dict[str, int] = {}
        wanted = {"spreadlake-analyze", "spreadlake-compact", "spreadlake-retention"}
        while time.monotonic() < deadline and serve.poll() is None:
            if healthy(api_url):
                counts = completed_runs(api_url)
                if wanted <= set(counts):
                    break
            time.sleep(1)
        text = "".join(output)
        assert wanted <= set(counts), f"completed runs: {counts}\n{text[-4000:]}"
        assert f"Prefect UI: http://127.0.0.1:{port}" in text
        assert "starting a local Prefect server" in text
        store = SummaryStore(open_lake(settings.lake))
        assert store.analyses() == sorted(ANALYSES)
        manifests = store.manifests("candles")
        assert manifests and all(m.end_ns - m.start_ns == 10 * S for m in manifests)
        assert any(m.rows_read["trade"] > 0 for m in manifests)
        assert "analyze [" in text and "result rows written" in text  # the runs' logged summaries
    finally:
        serve.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        try:
            code = serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
            code = serve.wait()
        reader.join(timeout=5)
        assert serve.stdout is not None
        serve.stdout.close()
    print("".join(output)[-3000:])
    print(f"stopped {time.monotonic() - stopping:.1f} s after SIGTERM")
    assert code == 0, "".join(output)[-3000:]
    assert not healthy(api_url)  # the server it started is stopped with it
