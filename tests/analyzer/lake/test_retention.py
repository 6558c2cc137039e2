"""Retention deletes whole dates older than the configured age, with their compaction records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from analyzer.lake.compaction import compact
from analyzer.lake.retention import apply_retention, cutoff_date
from shared.events import Channel
from shared.lake.layout import TXN_DIR
from shared.lake.reader import LakeReader
from shared.settings.lake import LakeSettings
from tests.analyzer.lake.conftest import DAY, LATER, ROWS
from tests.shared.lake.synthetic import T0


def test_cutoff_keeps_the_last_n_days() -> None:
    assert cutoff_date(dt.date(2026, 1, 10), 7) == dt.date(2026, 1, 3)


def test_dates_past_retention_are_deleted_and_the_rest_kept(small_files: LakeSettings, tmp_path: Path) -> None:
    compact(small_files, lambda: LATER)  # leaves commit records for both dates
    report = apply_retention(small_files, lambda: T0 + DAY + 5, retention_days=0)
    assert report.cutoff == dt.date(2026, 1, 2)
    assert report.deleted == [(Channel.TRADE, dt.date(2026, 1, 1))]
    assert report.records_deleted == 4  # pending + commit of the two partitions of that date
    assert not (tmp_path / "market_data/trade/date=2026-01-01").exists()
    assert len(list((tmp_path / TXN_DIR / "trade").iterdir())) == 4
    assert LakeReader(small_files).count(Channel.TRADE) == ROWS // 2


def test_without_retention_days_nothing_is_deleted(small_files: LakeSettings, tmp_path: Path) -> None:
    report = apply_retention(small_files, lambda: LATER * 2)
    assert report.deleted == [] and report.cutoff is None
    assert LakeReader(small_files).count(Channel.TRADE) == ROWS


def test_setting_is_used_when_no_override_is_given(small_files: LakeSettings) -> None:
    settings = small_files.model_copy(update={"retention_days": 1})
    assert apply_retention(settings, lambda: T0 + 2 * DAY).deleted == [(Channel.TRADE, dt.date(2026, 1, 1))]
