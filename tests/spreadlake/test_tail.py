"""`spreadlake tail`: JSON lines from a running collector, snapshot marked, notices on stderr, clean exits."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.settings import settings_from_mapping
from spreadlake.tail import collector_url, tail
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
PUBLISHER = ROOT / "tests" / "collector" / "fanout" / "publisher.py"


@contextmanager
def collector() -> Iterator[str]:
    """A real collector process (the fan-out component fed by a synthetic source)."""
    with subprocess.Popen([sys.executable, str(PUBLISHER), "--port", str(free_port())], stdout=subprocess.PIPE) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().decode()
            assert line.startswith("ready "), line
            yield line.split()[1]
        finally:
            process.kill()


def test_url_is_derived_from_the_server_section() -> None:
    def url(**server: object) -> str:
        return collector_url(settings_from_mapping({"server": server}))

    assert url(port=9001) == "ws://127.0.0.1:9001/"
    assert url(host="0.0.0.0", port=9002, token="t") == "ws://127.0.0.1:9002/"
    assert url(host="::1", port=9003) == "ws://[::1]:9003/"
    assert url(host="::", port=9004, token="t") == "ws://[::1]:9004/"


def test_prints_snapshot_then_live_events_as_json_lines_and_stops_after_count() -> None:
    out, err = io.BytesIO(), io.StringIO()
    with collector() as url:
        code = tail(url, channels=["ticker", "trade"], exchanges=["bybit"], symbols=["ETH-USDT"], count=10, out=out, err=err)
    assert code == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 10
    assert all((e["exchange"], e["symbol"]) == ("bybit", "ETH-USDT") for e in lines)
    snapshot = [e for e in lines if e.get("snapshot")]
    assert snapshot and lines[:len(snapshot)] == snapshot  # the snapshot comes first
    assert {e["channel"] for e in lines[len(snapshot):]} <= {"ticker", "trade"}
    assert "connected" in err.getvalue()


def test_rejected_filter_exits_2_with_the_reason() -> None:
    out, err = io.BytesIO(), io.StringIO()
    with collector() as url:
        code = tail(url, symbols=["DOGE-USDT"], out=out, err=err)
    assert code == 2
    assert "unknown_symbol" in err.getvalue() and out.getvalue() == b""


def test_interrupt_ends_tail_cleanly() -> None:
    with collector() as url:
        program = f"import sys; from spreadlake.tail import tail; sys.exit(tail({url!r}, channels=['trade']))"
        with subprocess.Popen([sys.executable, "-c", program], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}) as process:
            assert process.stdout is not None
            first = json.loads(process.stdout.readline())
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=10)
    assert first["channel"] == "trade"
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr


def test_tail_command_with_url_needs_no_config_file(tmp_path: Path) -> None:
    with collector() as url:
        proc = subprocess.run([sys.executable, "-m", "spreadlake", "tail", "--url", url, "--count", "3"],
                              cwd=tmp_path, capture_output=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(proc.stdout.splitlines()) == 3
