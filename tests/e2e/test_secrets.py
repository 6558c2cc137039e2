"""Secrets stay secret in real processes: a distinctive value planted in every secret key (in the file and
in the environment) appears in no output of `spreadlake sim` or `spreadlake collector`, in no /health or
/metrics answer and in no status event on the stream, even with debug logging and dropped connections;
a connect address with a token (KuCoin's) is shown with the token masked. A configuration error in a
section that holds secrets names the key and shows none of them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from websockets.asyncio.client import connect

from tests.collector.api.harness import get
from tests.e2e.market import market_config, write_config

BUCKET = "planted-secrets-lake"  # moto keeps buckets per process: not the name other tests use
UNMASKED_TOKEN = re.compile(r"token=(?!\*\*\*)")


def plant() -> str:
    # Short, so that even a quoted source line (as YAML error messages show them) would hold it whole.
    return f"PLANTED{secrets.token_hex(6)}"


# Every secret key, from the file; the environment overrides some of them with other planted values.
FILE_KEYS = ("exchanges.kucoin.key_id", "exchanges.kucoin.key_secret", "exchanges.kucoin.key_passphrase",
             "lake.s3.access_key_id", "lake.s3.secret_access_key", "lake.s3.session_token", "server.token", "api.token")
ENV_KEYS = ("exchanges.kucoin.key_secret", "lake.s3.secret_access_key", "server.token", "api.token")


def env_name(key: str) -> str:
    return "SPREADLAKE__" + key.upper().replace(".", "__")


def set_key(config: dict[str, Any], key: str, value: str) -> None:
    *parents, last = key.split(".")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s",
                 region_name="us-east-1").create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def planted(tmp_path: Path, s3_endpoint: str) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """A config and an environment with every secret planted, and every planted value."""
    config = market_config(tmp_path, rate=40.0, faults={"drop_every_s": 4.0}, collector={"log_level": "DEBUG"},
                           lake={"root": f"s3://{BUCKET}/spreadlake", "flush_interval_s": 1.0,
                                 "s3": {"endpoint_url": s3_endpoint, "region": "us-east-1"}})
    values = []
    for key in FILE_KEYS:
        values.append(plant())
        set_key(config, key, values[-1])
    environ = {env_name(key): plant() for key in ENV_KEYS}
    values += environ.values()
    return config, environ, values


def spreadlake(args: list[str], environ: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as sink:  # a file, not a pipe: debug logging must never block on a full pipe
        return subprocess.Popen([sys.executable, "-m", "spreadlake", *args], stdout=sink, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **environ})


async def status_frames(url: str, token: str, timeout_s: float) -> list[str]:
    """Every frame of a status subscription (raw text) until KuCoin was reconnected after a drop."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"}, proxy=None)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
    frames: list[str] = []
    kucoin: list[str] = []
    async with ws:
        await ws.send(json.dumps({"op": "subscribe", "channels": ["status"]}))
        while time.monotonic() < deadline and not ("disconnected" in kucoin and kucoin[-1] == "connected"):
            try:
                frame = str(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            frames.append(frame)
            for event in json.loads(frame).get("events", []):
                if event["exchange"] == "kucoin":
                    kucoin.append(event["kind"])
    return frames


def test_planted_secrets_never_leave_the_processes_and_connect_tokens_are_masked(tmp_path: Path, s3_endpoint: str) -> None:
    config, environ, values = planted(tmp_path, s3_endpoint)
    config_path = write_config(tmp_path, config)
    api_token, server_token = environ[env_name("api.token")], environ[env_name("server.token")]
    sim = spreadlake(["sim", "--config", str(config_path)], environ, tmp_path / "sim.out")
    collector = None
    try:
        collector = spreadlake(["collector", "--config", str(config_path)], environ, tmp_path / "collector.out")
        frames = asyncio.run(status_frames(f"ws://127.0.0.1:{config['server']['port']}/", server_token, timeout_s=90))
        api = f"http://127.0.0.1:{config['api']['port']}"
        health = get(f"{api}/health?token={api_token}")
        metrics = get(f"{api}/metrics", {"Authorization": f"Bearer {api_token}"})
        refused = get(f"{api}/health")
        collector.send_signal(signal.SIGTERM)
        assert collector.wait(timeout=60) == 0
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
    finally:
        for proc in (collector, sim):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()

    collector_out = (tmp_path / "collector.out").read_text(errors="replace")
    sim_out = (tmp_path / "sim.out").read_text(errors="replace")
    assert health[0] in (200, 503) and metrics[0] == 200 and refused[0] == 401, (health, metrics[:2], refused)
    kucoin = [event for frame in frames for event in json.loads(frame).get("events", []) if event["exchange"] == "kucoin"]
    connected = [event["detail"] for event in kucoin if event["kind"] == "connected"]
    assert len(connected) >= 2 and any(event["kind"] == "disconnected" for event in kucoin), kucoin
    assert all("?token=***" in detail for detail in connected), connected
    assert "token=***" in collector_out, "the debug log never showed a connect address: the masking went untested"
    reported = {"collector output": collector_out, "simulator output": sim_out, "status events": "\n".join(frames),
                "/health": health[2].decode(), "/metrics": metrics[2].decode()}
    for where, text in reported.items():
        leaked = [value for value in values if value in text]
        assert not leaked, f"{where} shows planted secrets {leaked}"
    for where in ("collector output", "status events", "/health"):
        assert not UNMASKED_TOKEN.search(reported[where]), f"{where}: {UNMASKED_TOKEN.search(reported[where])}"
    objects = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="k", aws_secret_access_key="s",
                           region_name="us-east-1").list_objects_v2(Bucket=BUCKET, Prefix="spreadlake/market_data/")
    assert objects.get("KeyCount", 0) > 0, "the lake wrote nothing: the S3 credentials were not used"


@pytest.mark.parametrize("breakage", ["a section-level rule in the section of the exchange keys", "a YAML syntax error on a secret's line"])
def test_a_configuration_error_beside_secrets_names_the_key_and_shows_none(tmp_path: Path, breakage: str) -> None:
    config, environ, values = planted(tmp_path, "http://127.0.0.1:9")
    if breakage.startswith("a section-level"):
        config["exchanges"]["kucoin"]["endpoint"] = "custom"  # without rest_url and ws_url
        config_path, key = write_config(tmp_path, config), "exchanges.kucoin"
    else:
        config_path, key = write_config(tmp_path, config), "(file)"
        secret = values[FILE_KEYS.index("exchanges.kucoin.key_passphrase")]
        config_path.write_text(config_path.read_text().replace(f"key_passphrase: {secret}", f'key_passphrase: "{secret}'))
    proc = subprocess.run([sys.executable, "-m", "spreadlake", "collector", "--config", str(config_path)],
                          capture_output=True, text=True, env={**os.environ, **environ}, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"{config_path}" in proc.stderr and f": {key}: " in proc.stderr, proc.stderr
    leaked = [value for value in values if value in proc.stdout + proc.stderr]
    assert not leaked, proc.stderr
