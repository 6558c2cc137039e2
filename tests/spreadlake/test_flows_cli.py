"""`spreadlake flows run` as a user runs it: analyze a past range of a small lake in a subprocess (on Prefect's
temporary server, since none is configured or running), and clear exit-2 errors for bad names and ranges."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from shared.lake.storage import open_lake
from shared.settings import load_settings
from shared.summary import SummaryStore
from spreadlake.cli import app
from tests.ports import free_port
from tests.shared.lake.synthetic import T0, mixed, write

ROOT = Path(__file__).resolve().parents[2]
S = 1_000_000_000
runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "spreadlake.yaml"
    path.write_text(yaml.safe_dump({
        "lake": {"root": str(tmp_path / "lake"), "fsync": False},
        "analyzer": {"chunk_s": 60},
        # A port nothing listens on: no local server to use, so the run goes to Prefect's temporary one.
        "flows": {"prefect_home": str(tmp_path / "prefect"), "server_port": free_port(), "retries": 0},
    }))
    settings = load_settings(path)
    write(open_lake(settings.lake), settings.lake, mixed(2_000, step=60_000_000))  # two minutes from T0
    return path


def test_flows_run_analyze_stores_results_for_the_range_and_prints_its_summary(config: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "spreadlake", "flows", "run", "analyze", "--config", str(config),
         "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-01T00:02:00Z", "--analysis", "candles", "--analysis", "quality"],
        cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("analyze: ")
    summary = json.loads(last.removeprefix("analyze: "))
    assert set(summary["analyses"]) == {"candles", "quality"} and summary["results_written"] == 4
    assert (summary["start_ns"], summary["end_ns"]) == (T0, T0 + 120 * S)
    store = SummaryStore(open_lake(load_settings(config).lake))
    assert store.analyses() == ["candles", "quality"]
    assert [(m.start_ns, m.end_ns) for m in store.manifests("candles")] == [(T0, T0 + 60 * S), (T0 + 60 * S, T0 + 120 * S)]
    assert store.read("candles").num_rows == summary["analyses"]["candles"]["rows_written"] > 0
    assert "Finished in state Completed()" in out.stdout + out.stderr


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["nightly"], "unknown flow 'nightly'"),
        (["analyze", "--from", "2026-01-01"], "give both --from and --to"),
        (["analyze", "--from", "2026-01-02", "--to", "2026-01-01"], "is not after --from"),
        (["analyze", "--from", "yesterday", "--to", "2026-01-01"], "yesterday"),
        (["analyze", "--analysis", "spread"], "unknown 'spread'"),
        (["compact", "--from", "2026-01-01", "--to", "2026-01-02"], "are for analyze, not compact"),
    ],
)
def test_bad_flow_names_and_ranges_exit_2_naming_the_problem(config: Path, args: list[str], problem: str) -> None:
    result = runner.invoke(app, ["flows", "run", *args, "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert problem in " ".join(result.output.replace("│", " ").split()), result.output  # rich wraps the message in a box


def test_flows_help_lists_serve_and_run() -> None:
    result = runner.invoke(app, ["flows", "--help"])
    assert result.exit_code == 0 and "serve" in result.output and "run" in result.output
