"""The collector's own knobs (ingest side; the fan-out server and lake have their sections)."""

from __future__ import annotations

from pydantic import Field

from shared.settings.base import Section


class CollectorSettings(Section):
    book_depth: int = Field(default=10, ge=1, le=1000)  # levels per side in each BookTop event
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    reconnect_retries: int = Field(default=-1, ge=-1)  # cryptofeed's retries; -1 retries forever
    # Seconds without a message before cryptofeed drops and reopens a connection (a stalled stream).
    stale_timeout_s: int = Field(default=15, ge=-1)
    # Raw capture of the exchange-native traffic (capture format 2, one rotated file series per
    # exchange, replayable with `spreadlake replay`); off unless a directory is given.
    capture_dir: str | None = None
    capture_rotate_mb: int = Field(default=256, ge=1)
    capture_rotate_s: float = Field(default=3600.0, gt=0)
    # Bound on the traffic waiting for the capture's writer thread (payload bytes plus a fixed
    # overhead per record): beyond it records are dropped and counted (capture.records_overflowed).
    capture_max_buffered_bytes: int = Field(default=128 << 20, ge=1024)
