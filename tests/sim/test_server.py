"""The simulator's network edge with plain clients: faults, pings, refusals, ports, shutdown."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from shared.settings.sim import SimSettings
from shared.tls import client_ssl_context, ensure_certificates
from sim.runner import SimulatorThread

ROOT = Path(__file__).resolve().parents[2]


def settings(tmp_path: Path, venues: list[str], **extra: Any) -> SimSettings:
    return SimSettings.model_validate({
        "rate": 200,
        "tls_dir": str(tmp_path / "tls"),
        "venues": {v: {"rest_port": 0, "ws_port": 0} for v in venues},
        **extra,
    })


async def _frames(url: str, context: Any, send: list[dict[str, Any]], count: int, timeout: float = 5) -> list[tuple[float, Any]]:
    """Up to `count` frames (time received, decoded JSON); a close ends the list with ("closed", code)."""
    out: list[tuple[float, Any]] = []
    async with connect(url, ssl=context, max_queue=None) as ws:  # unbounded, as cryptofeed connects
        for frame in send:
            await ws.send(json.dumps(frame))
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            try:
                data = await asyncio.wait_for(ws.recv(), timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            except ConnectionClosed as closed:
                out.append((time.monotonic(), ("closed", closed.rcvd.code if closed.rcvd else None)))
                break
            out.append((time.monotonic(), json.loads(data)))
    return out


def test_rest_errors_are_exchange_style_500s(tmp_path: Path) -> None:
    with SimulatorThread(settings(tmp_path, ["binance", "kucoin"], faults={"rest_error_rate": 0.5})) as sim:
        async def calls(url: str) -> list[tuple[int, Any]]:
            async with aiohttp.ClientSession() as http:
                replies = []
                for _ in range(100):
                    async with http.get(url) as response:
                        replies.append((response.status, await response.json()))
                return replies

        binance = asyncio.run(calls(sim.endpoints["binance"].rest_url + "/api/v3/depth?symbol=BTCUSDT&limit=5"))
        kucoin = asyncio.run(calls(sim.endpoints["kucoin"].rest_url + "/api/v1/symbols"))
        stats = sim.stats()
    for replies, error in ((binance, {"code": -1000}), (kucoin, {"code": "500000"})):
        failed = [body for status, body in replies if status == 500]
        assert 25 <= len(failed) <= 75
        assert all(error.items() <= body.items() for body in failed)
        assert all("lastUpdateId" in body or body.get("code") == "200000" for status, body in replies if status == 200)
    assert stats["binance"].rest_errors + stats["kucoin"].rest_errors == sum(s == 500 for s, _ in binance + kucoin)


def test_stalls_pause_and_then_deliver_every_frame(tmp_path: Path) -> None:
    with SimulatorThread(settings(tmp_path, ["gateio"], rate=400, faults={"stall_every_s": 1.0, "stall_s": 0.6})) as sim:
        url = sim.endpoints["gateio"].ws_url + "/ws/v4/"
        subscribe = {"time": 0, "channel": "spot.order_book_update", "event": "subscribe", "payload": ["BTC_USDT", "100ms"]}
        frames = asyncio.run(_frames(url, sim.client_ssl_context(), [subscribe], count=150, timeout=4))
        stats = sim.stats()["gateio"]
    times = [t for t, _ in frames]
    assert stats.stalls >= 1
    assert max(b - a for a, b in itertools.pairwise(times)) > 0.4
    updates = [m["result"] for _, m in frames if isinstance(m, dict) and m.get("event") == "update"]
    # Held back, not lost: the update ids run on without a gap across the stall.
    assert all(b["U"] == a["u"] + 1 for a, b in itertools.pairwise(updates))


def test_pings_are_answered_the_way_each_exchange_does(tmp_path: Path) -> None:
    with SimulatorThread(settings(tmp_path, ["bybit", "gateio", "kucoin"])) as sim:
        ep, context = sim.endpoints, sim.client_ssl_context()

        async def token() -> str:
            async with aiohttp.ClientSession() as http, http.post(ep["kucoin"].rest_url + "/api/v1/bullet-public") as response:
                return str((await response.json())["data"]["token"])

        bybit = asyncio.run(_frames(ep["bybit"].ws_url + "/v5/public/spot", context, [{"op": "ping", "req_id": "7"}], 1))
        gate = asyncio.run(_frames(ep["gateio"].ws_url + "/ws/v4/", context, [{"time": 1, "channel": "spot.ping"}], 1))
        kucoin_url = ep["kucoin"].ws_url + "/endpoint?token=" + asyncio.run(token())
        kucoin = asyncio.run(_frames(kucoin_url, context, [{"id": "42", "type": "ping"}], 2))
    assert bybit[0][1] | {"conn_id": ""} == {"success": True, "ret_msg": "pong", "conn_id": "", "req_id": "7", "op": "ping"}
    assert gate[0][1]["channel"] == "spot.pong" and gate[0][1]["result"] is None
    assert kucoin[0][1]["type"] == "welcome"
    assert kucoin[1][1]["id"] == "42" and kucoin[1][1]["type"] == "pong"


def test_refusals(tmp_path: Path) -> None:
    with SimulatorThread(settings(tmp_path, ["binance", "kucoin", "bybit"])) as sim:
        ep, context = sim.endpoints, sim.client_ssl_context()

        async def upgrade(url: str) -> int:
            async with aiohttp.ClientSession() as http:
                try:
                    async with http.ws_connect(url, ssl=context):
                        return 101
                except aiohttp.WSServerHandshakeError as error:
                    return error.status

        assert asyncio.run(upgrade(ep["binance"].ws_url + "/stream?streams=btcusdt@nonsense")) == 400
        assert asyncio.run(upgrade(ep["binance"].ws_url + "/stream?streams=xyzusdt@aggTrade")) == 400
        bad_token = asyncio.run(_frames(ep["kucoin"].ws_url + "/endpoint?token=forged", context, [], 2))
        bybit = asyncio.run(_frames(ep["bybit"].ws_url + "/v5/public/spot", context, [{"op": "subscribe", "args": ["orderbook.200.XYZUSDT"]}], 1))
    assert bad_token[0][1]["type"] == "error" and bad_token[0][1]["code"] == 401
    assert bad_token[1][1] == ("closed", 1000)
    assert bybit[0][1]["success"] is False and "XYZUSDT" in bybit[0][1]["ret_msg"]


def test_fixed_ports_are_honoured_and_reported(tmp_path: Path) -> None:
    free = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free.append(probe.getsockname()[1])
    raw = {"tls_dir": str(tmp_path / "tls"), "venues": {"gateio": {"rest_port": free[0], "ws_port": free[1]}}}
    with SimulatorThread(SimSettings.model_validate(raw)) as sim:
        ep = sim.endpoints["gateio"]
        assert (ep.rest_port, ep.ws_port) == (free[0], free[1])
        assert ep.rest_url == f"http://127.0.0.1:{free[0]}" and ep.ws_url == f"wss://127.0.0.1:{free[1]}"
        assert sim.ca_path == tmp_path / "tls" / "ca.pem"


def test_unknown_venue_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown venue"):
        SimulatorThread(settings(tmp_path, ["binance", "mtgox"])).start()


def test_main_logs_urls_and_closes_connections_on_sigterm(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    ensure_certificates(tls)
    raw = {"tls_dir": str(tls), "venues": {v: {"rest_port": 0, "ws_port": 0} for v in ("binance", "kucoin")}}
    script = (
        "import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stdout, format='%(message)s');"
        "from shared.settings.sim import SimSettings; from sim.runner import main;"
        f"sys.exit(main(SimSettings.model_validate({raw!r})))"
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert process.stdout is not None
        lines = []
        while len([line for line in lines if line.startswith("sim ")]) < 2:
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        urls = dict(re.findall(r"^sim (\w+): rest \S+ ws (\S+)", "".join(lines), re.M))
        assert set(urls) == {"binance", "kucoin"}

        async def client() -> int | None:
            async with connect(urls["binance"] + "/stream?streams=btcusdt@aggTrade", ssl=client_ssl_context(tls)) as ws:
                process.send_signal(signal.SIGTERM)
                try:
                    while True:
                        await asyncio.wait_for(ws.recv(), timeout=10)
                except ConnectionClosed as closed:
                    return closed.rcvd.code if closed.rcvd else None

        assert asyncio.run(client()) == 1001  # a close frame saying "going away", not a dropped socket
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_a_taken_port_fails_the_start_cleanly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        raw = {"tls_dir": str(tmp_path / "tls"), "venues": {"bybit": {"rest_port": port, "ws_port": 0}}}
        with pytest.raises(OSError):
            SimulatorThread(SimSettings.model_validate(raw)).start()
