"""`replay_main` (sim/replay/cli.py): serves until SIGINT/SIGTERM, prints where, writes the collector config."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from shared import tls
from shared.capture import Connect, Header, Record, Recv, Send, write_capture
from shared.settings import load_settings
from sim.replay.cli import replay_main

ROOT = Path(__file__).resolve().parents[2]
RUN = "import sys; from pathlib import Path; from sim.replay.cli import replay_main; " \
      "sys.exit(replay_main([Path(sys.argv[1])], Path(sys.argv[2]), tls_dir=Path(sys.argv[3])))"


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_replay_command_serves_until_signalled_and_writes_the_collector_config(
    captures: Callable[[str], Path], tls_dir: Path, tmp_path: Path, stop_signal: signal.Signals,
) -> None:
    config = tmp_path / "replay.yaml"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", RUN, str(captures("gateio")), str(config), str(tls_dir)], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while not any(line.startswith("collector config:") for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, lines
            lines.append(process.stdout.readline())
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert lines[0].startswith("gateio: rest http://127.0.0.1:") and " ws wss://127.0.0.1:" in lines[0]
    assert "replay stopped" in out
    settings = load_settings(config)
    assert str(settings.exchanges["gateio"].rest_url) in lines[0]


def test_replay_command_refuses_missing_or_broken_captures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_main([], None, tls_dir=tmp_path) == 2
    assert replay_main([tmp_path / "absent.jsonl.zst"], None, tls_dir=tmp_path) == 2
    assert "absent.jsonl.zst: cannot read" in capsys.readouterr().err
    broken = tmp_path / "broken.jsonl.zst"
    broken.write_text("not zstd")
    assert replay_main([broken], None, tls_dir=tmp_path) == 2
    assert "not readable as zstd" in capsys.readouterr().err


def test_replay_command_reports_a_port_in_use(captures: Callable[[str], Path], tls_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert replay_main([captures("gateio")], None, port=port, tls_dir=tls_dir) == 1
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


def test_replay_command_reports_at_shutdown_the_recorded_connections_no_client_played(tls_dir: Path, tmp_path: Path) -> None:
    capture = tmp_path / "TESTX.jsonl.zst"
    records: list[Record] = []
    for conn, topic in (("T.ws.1", "alpha"), ("T.ws.2", "beta")):
        records += [Connect(conn=conn, ts=1.0, addr="wss://stream.example.com/ws"),
                    Send(conn=conn, ts=1.1, data=json.dumps({"op": "subscribe", "args": [topic]})),
                    Recv(conn=conn, ts=1.2, data=f"{topic} frame")]
    write_capture(capture, Header(exchange="TESTX"), records)
    run = "import sys; from pathlib import Path; from sim.replay.cli import replay_main; " \
          "sys.exit(replay_main([Path(sys.argv[1])], None, tls_dir=Path(sys.argv[2])))"
    process = subprocess.Popen([sys.executable, "-c", run, str(capture), str(tls_dir)], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("testx: rest "), first
        assert asyncio.run(subscribe_and_read(first.split(" ws ")[1].strip() + "/ws", tls_dir, "alpha")) == "alpha frame"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "note: testx: recorded connection T.ws.2 on /ws (1 frames) was never played" in out
    assert "T.ws.1" not in out
    assert out.rstrip().endswith("replay stopped")


async def subscribe_and_read(url: str, tls_dir: Path, topic: str) -> str | bytes:
    async with connect(url, ssl=tls.client_ssl_context(tls_dir)) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": [topic]}))
        return await asyncio.wait_for(ws.recv(), 10)
