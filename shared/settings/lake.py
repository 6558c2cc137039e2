"""The Parquet data lake."""

from __future__ import annotations

from shared.settings.base import Section


class LakeSettings(Section):
    enabled: bool = True
    root: str = "data"  # local directory or an object-store URI (s3://bucket/prefix)
