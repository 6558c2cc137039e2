"""Compaction and retention survive a power cut in a consistent state: each step that readers depend
on is made durable (its directory fsynced) before the next one starts, so a crash can never keep a
later step and lose an earlier one (observed on real runs through os.fsync)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.lake.compaction import compact
from analyzer.lake.retention import apply_retention
from shared.clock import seconds_to_ns
from shared.events import Channel
from shared.lake.layout import TXN_DIR
from shared.lake.manifest import TxnState, list_records, read_record
from shared.lake.storage import open_lake
from shared.settings.lake import LakeSettings
from tests.analyzer.lake.conftest import LATER
from tests.fsyncs import dir_synced_with, record_fsyncs


def durable(settings: LakeSettings) -> LakeSettings:
    return settings.model_copy(update={"fsync": True})


def records(root: Path) -> set[str]:
    folder = root / TXN_DIR / "trade"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_pending_record_then_outputs_then_commit_record_each_durable_before_the_next(
    small_files: LakeSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = record_fsyncs(monkeypatch)
    compact(durable(small_files), lambda: LATER)
    txn = tmp_path / TXN_DIR / "trade"
    commits = list_records(open_lake(small_files), Channel.TRADE)[TxnState.COMMIT]
    assert len(commits) == 4
    for txid in commits:
        outputs = sorted(tmp_path.glob(f"market_data/trade/*/*/c-*-{txid}_*.parquet"))
        assert outputs
        pending_at = min(dir_synced_with(synced, txn / f"{txid}.pending.json"))
        outputs_at = [min(dir_synced_with(synced, output)) for output in outputs]
        commit_at = min(dir_synced_with(synced, txn / f"{txid}.commit.json"))
        assert pending_at < min(outputs_at) and max(outputs_at) < commit_at


def test_vacuum_deletes_pending_record_inputs_and_commit_record_each_durably_in_turn(
    small_files: LakeSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = durable(small_files)
    compact(settings, lambda: LATER)
    lake = open_lake(settings)
    committed = [read_record(lake, Channel.TRADE, txid, TxnState.COMMIT) for txid in list_records(lake, Channel.TRADE)[TxnState.COMMIT]]
    synced = record_fsyncs(monkeypatch, probe=lambda: records(tmp_path))
    assert compact(settings, lambda: LATER + seconds_to_ns(settings.compaction.grace_s)).vacuumed == 4
    txn = tmp_path / TXN_DIR / "trade"
    for record in committed:
        assert record is not None
        partition = tmp_path / record.partition.path
        pending_gone = [i for i, s in enumerate(synced) if s.path == txn and f"{record.txid}.pending.json" not in (s.entries or ())]
        inputs_gone = [i for i, s in enumerate(synced) if s.path == partition and not set(record.inputs) & (s.entries or set())]
        assert pending_gone and inputs_gone, f"{record.txid}: a vacuum step was not made durable"
        assert pending_gone[0] < inputs_gone[0]
        # The inputs were durably gone while the commit record that hides them still existed.
        assert f"{record.txid}.commit.json" in synced[inputs_gone[0]].probe  # type: ignore[operator]


def test_retention_makes_the_deleted_dates_durable_before_deleting_their_records(
    small_files: LakeSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = durable(small_files)
    compact(settings, lambda: LATER)  # leaves compaction records for both dates
    synced = record_fsyncs(monkeypatch, probe=lambda: records(tmp_path))
    report = apply_retention(settings, lambda: LATER, retention_days=1)
    assert len(report.deleted) == 2 and report.records_deleted == 8
    channel = tmp_path / "market_data" / "trade"
    at = [s for s in synced if s.path == channel and s.entries == frozenset()]
    assert at, "the deleted dates were not made durable"
    assert isinstance(at[0].probe, set) and len(at[0].probe) == 8  # every record still there
