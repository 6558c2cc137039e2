"""The Parquet data lake: where it lives, how the collector writes it, how compaction and retention keep it.

Every key is described in docs/lake.md.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from shared.settings.base import Section

_MIB = 1024 * 1024


class S3Settings(Section):
    """Options for an `s3://bucket/prefix` root; unset credentials fall back to the AWS SDK's own chain."""

    endpoint_url: str | None = None  # e.g. http://127.0.0.1:9000 for MinIO or a moto server
    region: str | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_has_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class CompactionSettings(Section):
    target_file_mb: float = Field(default=128.0, gt=0)  # compacted files are cut at about this size
    # Only files smaller than this are merged, so a file that reached a good size is not rewritten again.
    small_file_mb: float = Field(default=64.0, gt=0)
    # A file is closed (no longer worth leaving alone) once its newest row is this old.
    min_age_s: float = Field(default=3600.0, ge=0)
    # Replaced files stay readable this long after a compaction commits, for readers that listed them.
    grace_s: float = Field(default=600.0, ge=0)
    # A compaction that started this long ago and never committed is treated as dead and cleaned up.
    abandon_after_s: float = Field(default=3600.0, ge=0)


class LakeSettings(Section):
    enabled: bool = True
    root: str = "data"  # local directory or an object-store URI (s3://bucket/prefix)
    flush_interval_s: float = Field(default=5.0, gt=0)  # each partition gets a file at least this often
    flush_rows: int = Field(default=200_000, ge=1)  # ...or as soon as a channel holds this many rows
    # Bound on the memory rows hold (buffered, being written, waiting to retry), in bytes as estimated
    # in collector/lake/sizes.py: beyond it new rows are dropped and counted (rows_overflowed).
    max_buffered_bytes: int = Field(default=512 * _MIB, ge=64 * 1024)
    row_group_rows: int = Field(default=262_144, ge=1_000)
    zstd_level: int = Field(default=1, ge=1, le=22)
    # Partition files of one flush written concurrently (pyarrow works without the GIL); 1 writes them in turn.
    write_threads: int = Field(default=2, ge=1, le=16)
    fsync: bool = True  # local roots: make each file durable before it is renamed into place
    retention_days: int | None = Field(default=None, ge=1)  # delete dates older than this; None keeps everything
    compaction: CompactionSettings = CompactionSettings()
    s3: S3Settings = S3Settings()

    @field_validator("root")
    @classmethod
    def _root_scheme(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        if "://" in value and not value.startswith(("s3://", "file://")):
            raise ValueError("only local paths, file:// and s3://bucket/prefix are supported")
        if value.startswith("s3://") and not value[len("s3://") :].strip("/"):
            raise ValueError("an s3:// root needs a bucket")
        return value

    @model_validator(mode="after")
    def _bounds_consistent(self) -> LakeSettings:
        if self.compaction.small_file_mb > self.compaction.target_file_mb:
            raise ValueError("compaction.small_file_mb must not exceed compaction.target_file_mb")
        return self

    @property
    def target_file_bytes(self) -> int:
        return int(self.compaction.target_file_mb * _MIB)

    @property
    def small_file_bytes(self) -> int:
        return int(self.compaction.small_file_mb * _MIB)
