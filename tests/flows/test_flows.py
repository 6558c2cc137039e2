"""The flows under Prefect's test harness (a real temporary Prefect server): the locked Prefect/FastAPI/
pydantic set runs a flow; analyze over a past range and over the chunks closed since the previous run,
compact, retention, retries, and the logged summaries."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect import flow, task
from prefect.client.orchestration import get_client

from analyzer.analysis import NS_PER_S
from analyzer.runner import last_closed_chunk
from flows.analyze import analyze, scheduled_range
from flows.deployments import EPOCH, deployments, with_retries
from flows.maintenance import compact_lake, retention
from shared.clock import now_ns
from shared.events import Channel
from shared.lake.reader import LakeReader
from shared.lake.storage import open_lake
from shared.settings import Settings, load_settings
from shared.summary import ANALYSES, SummaryStore
from tests.shared.lake.synthetic import T0, mixed, write

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Prefect's own server code on this pin set


@task
def double(x: int) -> int:
    return 2 * x


@flow
def trivial_flow(x: int) -> int:
    return double(x) + 1


def test_the_locked_prefect_fastapi_pydantic_set_runs_a_flow_in_prefects_test_harness(prefect_harness: None) -> None:
    assert trivial_flow(20) == 41

S = NS_PER_S


def config_file(tmp_path: Path, **sections: dict[str, Any]) -> Path:
    config: dict[str, Any] = {
        "lake": {"root": str(tmp_path / "lake"), "fsync": False},
        "analyzer": {"chunk_s": 60},
        "flows": {"retries": 0, "retry_delay_s": 0, "prefect_home": str(tmp_path / "prefect")},
    }
    for key, value in sections.items():
        config.setdefault(key, {}).update(value)
    path = tmp_path / "spreadlake.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def lake_with(path: Path, t0: int, events: int = 2_000, step: int = 50_000_000) -> Settings:
    settings = load_settings(path)
    write(open_lake(settings.lake), settings.lake, mixed(events, t0=t0, step=step))
    return settings


def flow_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What flow runs logged through Prefect's run logger (which also ships it to the server)."""
    return [r.getMessage() for r in caplog.records if r.name == "prefect.flow_runs"]


def test_analyze_stores_every_analysis_for_a_past_range_and_logs_what_it_did(
    prefect_harness: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = config_file(tmp_path)
    settings = lake_with(path, T0)  # 100 s of every channel from T0
    state = analyze(str(path), start="2026-01-01T00:00:00Z", end="2026-01-01T00:01:40Z", return_state=True)
    assert state.is_completed(), state
    summary = state.result()
    store = SummaryStore(open_lake(settings.lake))
    assert store.analyses() == sorted(ANALYSES)
    for name in ANALYSES:
        assert [(m.start_ns, m.end_ns) for m in store.manifests(name)] == [(T0, T0 + 60 * S), (T0 + 60 * S, T0 + 120 * S)]
    reader = LakeReader(settings.lake)
    assert summary["analyses"]["quality"]["rows_read"] == sum(reader.count(c) for c in Channel)
    assert summary["results_written"] == 2 * len(ANALYSES)
    assert summary["rows_written"] == sum(m.rows for name in ANALYSES for m in store.manifests(name))
    logs = flow_logs(caplog)
    assert any(line.startswith("analyze [") and "rows read" in line and "result rows written" in line for line in logs), logs
    assert any(line.startswith("candles: 2 chunks") for line in logs), logs


def test_analyze_without_a_range_covers_the_chunks_closed_since_the_previous_run(prefect_harness: None, tmp_path: Path) -> None:
    path = config_file(tmp_path, flows={"analyze_interval_s": 120})
    start, _ = last_closed_chunk(now_ns(), 60)
    settings = lake_with(path, start - 120 * S, events=1_000, step=200_000_000)  # the last three minutes and a bit
    before = scheduled_range(now_ns(), 60, 120)
    summary = analyze(str(path), analyses=["candles"])
    after = scheduled_range(now_ns(), 60, 120)
    assert (summary["start_ns"], summary["end_ns"]) in (before, after)  # unless a minute closed meanwhile: then the next
    assert summary["end_ns"] - summary["start_ns"] == 120 * S and summary["end_ns"] % (60 * S) == 0
    manifests = SummaryStore(open_lake(settings.lake)).manifests("candles")
    assert [(m.start_ns, m.end_ns) for m in manifests] == [(summary["start_ns"], summary["start_ns"] + 60 * S),
                                                            (summary["start_ns"] + 60 * S, summary["end_ns"])]
    assert all(m.rows_read["trade"] > 0 for m in manifests)


def test_scheduled_ranges_are_the_chunks_closed_within_the_last_interval() -> None:
    assert scheduled_range(T0 + 3600 * S + 7, 3600, 3600) == (T0, T0 + 3600 * S)
    assert scheduled_range(T0 + 3600 * S + 7, 60, 3600) == (T0, T0 + 3600 * S)
    assert scheduled_range(T0 + 3600 * S + 7, 3600, 600) == (T0, T0 + 3600 * S)  # at least the last closed chunk
    assert scheduled_range(T0 + 150 * S, 60, 90) == (T0, T0 + 120 * S)


def test_a_failing_flow_is_retried_as_configured_then_fails(prefect_harness: None, tmp_path: Path) -> None:
    path = config_file(tmp_path, flows={"retries": 2, "retry_delay_s": 0})
    state = with_retries("analyze", load_settings(path))(str(path), start=str(T0), end=str(T0 + S), analyses=["nope"], return_state=True)
    assert state.is_failed()
    with pytest.raises(ValueError, match="unknown 'nope'"):
        state.result()

    async def run_count() -> int:
        async with get_client() as client:
            assert state.state_details.flow_run_id is not None
            return (await client.read_flow_run(state.state_details.flow_run_id)).run_count

    assert asyncio.run(run_count()) == 3


def test_analyze_refuses_half_a_range(prefect_harness: None, tmp_path: Path) -> None:
    path = config_file(tmp_path)
    state = analyze(str(path), start="2026-01-01T00:00:00Z", return_state=True)
    assert state.is_failed()
    with pytest.raises(ValueError, match="start/end"):
        state.result()


def test_compact_merges_small_files_and_logs_what_it_did(prefect_harness: None, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    path = config_file(tmp_path, lake={"compaction": {"min_age_s": 0}})
    settings = lake_with(path, T0)
    files_before = sum(len(LakeReader(settings.lake).files(c)) for c in Channel)
    state = compact_lake(str(path), return_state=True)
    summary = state.result()
    assert summary["partitions"] > 0 and summary["files_in"] > summary["files_out"] and summary["rows"] > 0
    assert sum(len(LakeReader(settings.lake).files(c)) for c in Channel) < files_before
    assert any(line.startswith(f"compact: {summary['partitions']} partitions") for line in flow_logs(caplog))


def test_retention_deletes_dates_older_than_the_setting(prefect_harness: None, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    path = config_file(tmp_path, lake={"retention_days": 30})
    settings = lake_with(path, T0)  # 2026-01-01: long expired
    state = retention(str(path), return_state=True)
    summary = state.result()
    assert "trade/2026-01-01" in summary["deleted"] and LakeReader(settings.lake).count(Channel.TRADE) == 0
    assert any(line.startswith("retention: ") and "deleted" in line for line in flow_logs(caplog))
    (tmp_path / "unset").mkdir()
    assert retention(str(config_file(tmp_path / "unset")))["cutoff"] is None  # no retention_days: nothing to do


def test_the_deployments_carry_intervals_retries_and_the_config_path(tmp_path: Path) -> None:
    path = config_file(tmp_path, flows={"analyze_interval_s": 600, "compact_interval_s": 1800, "retention_interval_s": 86_400,
                                        "retries": 3, "retry_delay_s": 5})
    settings = load_settings(path)
    built = {d.name: d for d in deployments(settings, path)}
    assert set(built) == {"spreadlake-analyze", "spreadlake-compact", "spreadlake-retention"}
    for name, seconds in (("analyze", 600), ("compact", 1800), ("retention", 86_400)):
        deployment = built[f"spreadlake-{name}"]
        (schedule,) = deployment.schedules
        assert schedule.schedule.interval == dt.timedelta(seconds=seconds)  # type: ignore[union-attr]
        anchor = schedule.schedule.anchor_date  # type: ignore[union-attr]
        assert EPOCH < anchor < EPOCH + dt.timedelta(seconds=seconds)  # epoch-aligned, after a short settle delay
        assert deployment.parameters == {"config": str(path.resolve())}
    assert with_retries("compact", settings).retries == 3 and with_retries("compact", settings).retry_delay_seconds == 5
    with pytest.raises(ValueError, match="unknown 'nightly'"):
        with_retries("nightly", settings)
