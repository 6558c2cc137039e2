"""Raw capture's own guarantees: its queue is bounded in bytes (overflow dropped, counted, logged once),
and every completed capture file is durable (fsynced, renamed, its directory fsynced)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from collector.capture import RECORD_OVERHEAD, RawCapture
from shared.capture import read_capture
from tests.fsyncs import dir_synced_with, record_fsyncs

URL = "https://api.binance.com/api/v3/depth"


class WriterGate:
    """A clock that holds the capture's writer thread when it opens its first file (a slow disk, on demand)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> float:
        if threading.current_thread().name == "raw-capture":
            self.entered.set()
            assert self.release.wait(30), "the test never released the writer thread"
        return time.time()


def test_traffic_beyond_the_byte_bound_is_dropped_counted_and_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    payload = "x" * 744  # 1000 bytes a record with the overhead
    assert len(payload) + RECORD_OVERHEAD == 1000
    gate = WriterGate()
    capture = RawCapture(tmp_path, clock=gate, max_buffered_bytes=10_500)
    try:
        capture.write_header("BINANCE", '{"l2_book": ["BTC-USDT"]}')
        capture.sync_callback(payload, 1.0, "BINANCE.http.1", endpoint=URL)
        assert gate.entered.wait(10)  # the writer holds the first record; the queue is empty
        with caplog.at_level(logging.WARNING, logger="collector.capture"):
            for i in range(25):
                capture.sync_callback(payload, 2.0 + i, "BINANCE.http.1", endpoint=URL)
        stats = capture.stats()
        assert stats["bytes_queued"] == 10_000 and stats["records_overflowed"] == 15
        warnings = [r.getMessage() for r in caplog.records if "capture_max_buffered_bytes" in r.getMessage()]
        assert len(warnings) == 1, warnings
    finally:
        gate.release.set()
        files = capture.close()
    assert capture.stats()["bytes_queued"] == 0 and capture.dropped == 0
    assert len(read_capture(files[0]).records) == 1 + 10  # the held record, then what the bound admitted


def test_each_completed_capture_file_is_durable_in_its_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "captures" / "today"
    synced = record_fsyncs(monkeypatch)
    capture = RawCapture(directory, rotate_s=1e-9)  # every record after a file's first starts a new file
    capture.write_header("BYBIT", "{}")
    for i in range(3):
        capture.sync_callback(f"frame {i}", float(i), "BYBIT.ws.1")
    files = capture.close()
    assert len(files) == 3
    for f in files:
        assert f.with_name(f.name + ".part") in [s.path for s in synced], f"{f.name} not fsynced before its rename"
        assert dir_synced_with(synced, f), f"{f.parent} not fsynced after {f.name} was renamed into it"
    for level in (directory, directory.parent):
        assert dir_synced_with(synced, level), f"{level.parent} not fsynced after {level.name} was created"
