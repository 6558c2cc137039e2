"""The lake section: sensible defaults, and bad values named by key."""

from __future__ import annotations

import pytest

from shared.settings import SettingsError, settings_from_mapping
from shared.settings.loader import apply_env_overrides


def test_defaults_write_locally_every_few_seconds_with_bounded_memory() -> None:
    lake = settings_from_mapping({}).lake
    assert lake.enabled and lake.root == "data"
    assert 0 < lake.flush_interval_s <= 10
    assert 64 << 20 <= lake.max_buffered_bytes <= 1 << 30
    assert lake.small_file_bytes <= lake.target_file_bytes
    assert lake.retention_days is None


@pytest.mark.parametrize(
    ("lake", "key"),
    [
        ({"root": "gs://bucket"}, "lake.root"),
        ({"root": "s3://"}, "lake.root"),
        ({"flush_interval_s": 0}, "lake.flush_interval_s"),
        ({"max_buffered_bytes": 1000}, "lake.max_buffered_bytes"),
        ({"max_buffered_rows": 1_000_000}, "lake.max_buffered_rows"),
        ({"compaction": {"target_file_mb": 1, "small_file_mb": 2}}, "lake"),
        ({"s3": {"endpoint_url": "127.0.0.1:9000"}}, "lake.s3.endpoint_url"),
        ({"retention_days": 0}, "lake.retention_days"),
        ({"flush_every": 1}, "lake.flush_every"),
    ],
)
def test_bad_values_name_their_key(lake: dict[str, object], key: str) -> None:
    with pytest.raises(SettingsError) as error:
        settings_from_mapping({"lake": lake})
    assert error.value.key == key


def test_nested_keys_take_environment_overrides() -> None:
    raw: dict[str, object] = {"lake": {"root": "data"}}
    apply_env_overrides(raw, {"SPREADLAKE__LAKE__S3__REGION": "eu-west-1", "SPREADLAKE__LAKE__COMPACTION__GRACE_S": "30"})
    lake = settings_from_mapping(raw).lake
    assert lake.s3.region == "eu-west-1" and lake.compaction.grace_s == 30
