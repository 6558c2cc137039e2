"""`spreadlake demo`: simulated venues (a child process) + the collector, with live rates, until Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from collector.app import build_service, log_to_stderr, run_until_stopped
from shared.settings import Settings

LOG = logging.getLogger("demo")


def wait_for_ports(host: str, ports: list[int], timeout_s: float, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    for port in ports:
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"the simulator exited early with code {child.returncode}")
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the simulator did not open {host}:{port} within {timeout_s:.0f} s") from None
                time.sleep(0.1)


def banner(settings: Settings, config: Path) -> str:
    lines = [f"spreadlake demo ({config})", "  simulated venues:"]
    for name, venue in settings.sim.venues.items():
        lines.append(f"    {name:8} rest http://{settings.sim.host}:{venue.rest_port}  ws wss://{settings.sim.host}:{venue.ws_port}")
    lines.append(f"  collector following: {', '.join(settings.exchanges)}")
    if settings.lake.enabled:
        lines.append(f"  Parquet lake: {settings.lake.root}/market_data/<channel>/date=.../exchange=.../ (docs/lake.md)")
    if settings.server.enabled:
        lines.append(f"  live stream (WebSocket, docs/protocol.md): ws://{settings.server.host}:{settings.server.port}/")
        lines.append(f"    try: spreadlake tail --config {config}   (filter: --channel trade --exchange binance)")
    if settings.api.enabled:
        lines.append(f"  REST API: http://{settings.api.host}:{settings.api.port}/health and /metrics")
    lines.append(f"  see the normalized stream yourself: spreadlake collector --config {config} --print")
    lines.append("  Ctrl-C stops everything.")
    return "\n".join(lines)


def main(settings: Settings, config: Path, duration_s: float | None) -> int:
    log_to_stderr(settings, logging.WARNING)
    sim = subprocess.Popen([sys.executable, "-m", "spreadlake", "sim", "--config", str(config)])
    try:
        ports = [v.rest_port for v in settings.sim.venues.values()] + [v.ws_port for v in settings.sim.venues.values()]
        wait_for_ports(settings.sim.host, ports, 60.0, sim)
        print(banner(settings, config), flush=True)
        service = build_service(settings, str(config), report=lambda line: print(line, flush=True), report_interval_s=3.0)
        asyncio.run(run_until_stopped(service, duration_s))
        print(f"demo finished; events per venue and channel: {service.counts()}", flush=True)
        return 0
    finally:
        _stop_child(sim)


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
