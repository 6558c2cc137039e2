"""`spreadlake lake stats | compact | retention` on a real lake of small files, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import yaml
from typer.testing import CliRunner

from spreadlake.cli import app
from tests.analyzer.lake.conftest import BATCHES, ROWS, lake_settings, write_small_files

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    write_small_files(lake_settings(root))
    path = tmp_path / "spreadlake.yaml"
    path.write_text(yaml.safe_dump({"lake": {"root": str(root), "fsync": False, "row_group_rows": 2_000}}))
    return path


def stats(config: Path) -> list[dict[str, object]]:
    result = runner.invoke(app, ["lake", "stats", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_stats_give_files_rows_bytes_and_time_range_per_partition(config: Path, tmp_path: Path) -> None:
    entries = stats(config)
    assert [(e["channel"], e["date"], e["exchange"]) for e in entries] == [
        ("trade", "2026-01-01", "binance"), ("trade", "2026-01-01", "bybit"), ("trade", "2026-01-02", "binance"), ("trade", "2026-01-02", "bybit"),
    ]
    assert sum(e["rows"] for e in entries) == ROWS  # type: ignore[misc]
    for e in entries:
        folder = tmp_path / "lake" / "market_data" / "trade" / f"date={e['date']}" / f"exchange={e['exchange']}"
        files = sorted(folder.glob("*.parquet"))
        times = ds.dataset(files, format="parquet").to_table(columns=["ts_recv"]).column("ts_recv").cast("int64").to_pylist()
        assert e["files"] == len(files) and e["bytes"] == sum(f.stat().st_size for f in files)
        assert (e["rows"], e["first_ts"], e["last_ts"]) == (len(times), min(times), max(times))
    text = runner.invoke(app, ["lake", "stats", "--config", str(config)]).output
    assert text.splitlines()[0].split()[:3] == ["channel", "date", "exchange"]
    assert text.splitlines()[-1].split()[:3] == ["total", str(sum(e["files"] for e in entries)), str(ROWS)]  # type: ignore[misc]


def test_compact_merges_small_files_prints_a_summary_and_stats_see_each_row_once(config: Path) -> None:
    before = stats(config)
    result = runner.invoke(app, ["lake", "compact", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert f"compacted 4 partitions: {sum(e['files'] for e in before)} files -> 4, {ROWS} rows" in result.output  # type: ignore[misc]
    after = stats(config)  # the replaced files are still on disk (grace_s): stats count committed files only
    assert [e["files"] for e in after] == [1, 1, 1, 1]
    assert [e["rows"] for e in after] == [e["rows"] for e in before]
    assert sum(e["files"] for e in before) >= BATCHES  # type: ignore[misc]


def test_retention_deletes_dates_older_than_the_days_given(config: Path) -> None:
    result = runner.invoke(app, ["lake", "retention", "--config", str(config), "--older-than", "7"])
    assert result.exit_code == 0, result.output
    assert "deleted 2 date partitions (trade 2026-01-01, trade 2026-01-02)" in result.output
    assert stats(config) == []


def test_retention_without_days_given_or_configured_is_a_usage_error(config: Path) -> None:
    result = runner.invoke(app, ["lake", "retention", "--config", str(config)])
    assert result.exit_code == 2 and "--older-than" in result.output
    assert len(stats(config)) == 4
