"""The command line as a person uses it: `spreadlake sim` and `spreadlake collector --print` as two
processes that find each other through one config file, stopped with real signals; `spreadlake demo`."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.market import market_config, write_config

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def spreadlake(*args: str, **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "spreadlake", *args], env=ENV, **kwargs)  # type: ignore[call-overload]


def read_json_lines(proc: subprocess.Popen[bytes], want: int, timeout_s: float) -> list[dict[str, object]]:
    assert proc.stdout is not None
    lines: list[dict[str, object]] = []
    deadline = time.monotonic() + timeout_s
    buffer = b""
    while len(lines) < want and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            continue
        chunk = os.read(proc.stdout.fileno(), 1 << 16)
        if not chunk:
            break
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        lines.extend(json.loads(line) for line in complete if line)
    return lines


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout_s: float = 30) -> int:
    proc.send_signal(sig)
    return proc.wait(timeout=timeout_s)


def test_sim_and_collector_as_separate_processes_print_filtered_json_lines(tmp_path: Path) -> None:
    config = write_config(tmp_path, market_config(tmp_path))
    sim = spreadlake("sim", "--config", str(config), stderr=subprocess.DEVNULL)
    collector = None
    try:
        collector = spreadlake("collector", "--config", str(config), "--print", "--channel", "trade", "--channel", "status",
                               "--exchange", "bybit", "--exchange", "kucoin", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        lines = read_json_lines(collector, want=40, timeout_s=60)
        assert len(lines) >= 40
        assert {line["channel"] for line in lines} <= {"trade", "status"}
        assert {line["exchange"] for line in lines} <= {"bybit", "kucoin"}
        assert any(line["channel"] == "trade" for line in lines)
        assert all({"symbol", "ts_event", "ts_recv"} <= set(line) for line in lines)
        assert stop(collector) == 0
        assert stop(sim, signal.SIGINT) == 0
    finally:
        for proc in (collector, sim):
            if proc is not None:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                if proc.stdout is not None:
                    proc.stdout.close()


def test_demo_runs_for_a_duration_prints_rates_and_shuts_down_cleanly(tmp_path: Path) -> None:
    config = write_config(tmp_path, market_config(tmp_path))
    demo = spreadlake("demo", "--config", str(config), "--duration", "12", "--no-flows", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = demo.communicate(timeout=120)
    text = out.decode()
    assert demo.returncode == 0, err.decode()[-3000:]
    assert "simulated venues" in text
    rate_lines = [line for line in text.splitlines() if line.startswith("events/s:")]
    assert rate_lines, text
    assert all(venue in rate_lines[-1] for venue in ("binance", "bybit", "gateio", "kucoin")), rate_lines[-1]


def test_bad_config_fails_at_start_naming_key_and_file(tmp_path: Path) -> None:
    config = market_config(tmp_path)
    config["collector"]["book_depth"] = "deep"
    path = write_config(tmp_path, config)
    proc = subprocess.run([sys.executable, "-m", "spreadlake", "collector", "--config", str(path)],
                          capture_output=True, text=True, env=ENV, timeout=60)
    assert proc.returncode == 2
    assert "collector.book_depth" in proc.stderr and str(path) in proc.stderr


def test_every_subcommand_has_help() -> None:
    out = subprocess.run([sys.executable, "-m", "spreadlake", "--help"], capture_output=True, text=True, env=ENV, timeout=60)
    assert out.returncode == 0
    for command in ("sim", "collector", "demo"):
        assert command in out.stdout
        sub = subprocess.run([sys.executable, "-m", "spreadlake", command, "--help"], capture_output=True, text=True, env=ENV, timeout=60)
        assert sub.returncode == 0 and "--config" in sub.stdout
