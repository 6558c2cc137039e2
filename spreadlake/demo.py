"""`spreadlake demo`: simulated venues (a child process), the collector and the trader on paper, with live
event rates, each arbitrage the trader takes and its running PnL, until Ctrl-C; beside them (unless
`--no-flows`) the scheduled Prefect flows that analyze, compact and prune the lake, on a local Prefect server.

The collector and the trader share one event loop here; the trader starts once the collector streams and
stops first, while the collector still feeds it the books its last legs fill against."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from collector.app import build_service, log_to_stderr
from collector.service import CollectorService, install_stop_signals
from shared.settings import Settings
from trader.service import TraderService

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
        base = f"http://{settings.api.host}:{settings.api.port}"
        lines.append(f"  REST API (docs/api.md): {base}/docs   /health  /metrics")
        lines.append(f"    try: {base}/v1/tickers   {base}/v1/spreads?symbol=BTC-USDT&size=0.01")
        lines.append(f"         {base}/v1/summary/spreads   {base}/v1/candles?symbol=BTC-USDT")
    trader = settings.trader
    if trader.instances:
        lines.append(f"  trader ({trader.mode.value}): {', '.join(i.id for i in trader.instances)}; journal {trader.journal_path}")
        if trader.api.enabled:
            lines.append(f"    API: http://{trader.api.host}:{trader.api.port}/status (/docs)   try: spreadlake trader status --config {config}")
    lines.append(f"  see the normalized stream yourself: spreadlake collector --config {config} --print")
    lines.append("  Ctrl-C stops everything.")
    return "\n".join(lines)


def main(settings: Settings, config: Path, duration_s: float | None, flows: bool = True) -> int:
    log_to_stderr(settings, logging.WARNING)
    logging.getLogger("trader.risk").setLevel(logging.ERROR)  # the demo prints trades; decisions stay in the journal
    sim = subprocess.Popen([sys.executable, "-m", "spreadlake", "sim", "--config", str(config)])
    served: subprocess.Popen[bytes] | None = None
    try:
        ports = [v.rest_port for v in settings.sim.venues.values()] + [v.ws_port for v in settings.sim.venues.values()]
        wait_for_ports(settings.sim.host, ports, 60.0, sim)
        if flows:
            served = start_flows(settings, config)
        print(banner(settings, config), flush=True)
        if served is not None:
            print(flows_banner(settings), flush=True)
        service = build_service(settings, str(config), report=say, report_interval_s=3.0)
        trader = TraderService(settings, report=lambda line: say(f"trader: {line}")) if settings.trader.instances else None
        asyncio.run(run(service, trader, duration_s))
        print(f"demo finished; events per venue and channel: {service.counts()}", flush=True)
        return 0
    finally:
        if served is not None:
            _stop_child(served)  # it stops the Prefect server it started
        _stop_child(sim)


def start_flows(settings: Settings, config: Path) -> subprocess.Popen[bytes]:
    """`spreadlake flows serve` as a child: a local Prefect server (unless one is configured or running) and the
    scheduled analyze, compact and retention flows. Its output goes to a log file, not between the rates."""
    home = Path(settings.flows.prefect_home)
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "flows.log", "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "spreadlake", "flows", "serve", "--config", str(config)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


def flows_banner(settings: Settings) -> str:
    flows = settings.flows
    ui = str(flows.prefect_api_url).rstrip("/").removesuffix("/api") if flows.prefect_api_url else f"http://{flows.server_host}:{flows.server_port}"
    return "\n".join([
        f"  Prefect UI: {ui}   (the local server takes a few seconds to start)",
        f"    flows: analyze every {flows.analyze_interval_s} s (chunks of {settings.analyzer.chunk_s} s), compact every "
        f"{flows.compact_interval_s} s, retention every {flows.retention_interval_s} s; log {Path(flows.prefect_home) / 'flows.log'}",
        f"    summaries: {settings.lake.root}/summary_stats/<analysis>/ (docs/analyzer.md)",
    ])


def say(line: str) -> None:
    print(line, flush=True)


async def run(collector: CollectorService, trader: TraderService | None, duration_s: float | None) -> None:
    """The collector until stopped; the trader beside it once the collector streams (it starts nothing if its check fails)."""
    stop, collector_stop = asyncio.Event(), asyncio.Event()
    install_stop_signals(stop, lambda name: LOG.info("%s received: shutting down", name))
    if duration_s is not None:
        asyncio.get_running_loop().call_later(duration_s, stop.set)
    collecting = asyncio.create_task(collector.run(collector_stop))
    trading: asyncio.Task[int] | None = None
    try:
        ready, stopped = asyncio.create_task(collector.ready.wait()), asyncio.create_task(stop.wait())
        await asyncio.wait({ready, stopped, collecting}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if trader is not None and collector.ready.is_set() and not stop.is_set():
            trading = asyncio.create_task(trader.run(stop))
        await asyncio.wait({stopped, collecting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.set()
        if trading is not None:  # it stops first: its last legs need the books
            (outcome,) = await asyncio.gather(trading, return_exceptions=True)
            if isinstance(outcome, BaseException):
                LOG.error("the trader failed", exc_info=outcome)
        collector_stop.set()
        await collecting


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
