"""Which Prefect API the flows talk to, and a local `prefect server start` when none is configured.

Schedules only fire on a real server: Prefect's ephemeral one (what a flow gets with no API URL) lives
only as long as one flow call. So `spreadlake flows serve` uses `flows.prefect_api_url` when it is set,
else a server already answering on `flows.server_host:server_port`, else it starts one there as a child
process (SQLite under `flows.prefect_home`) and stops it when it stops.

The caller hands the environment in (the CLI passes its own): this module reads none itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from shared.settings.analyzer import FlowsSettings

START_TIMEOUT_S = 120.0  # about 8 s on 2 cores; a cold first start migrates the database


@dataclass
class PrefectServer:
    api_url: str  # e.g. http://127.0.0.1:4200/api
    process: subprocess.Popen[bytes] | None = None  # None: not ours to stop
    log_path: Path | None = None

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server we started (its whole process group: uvicorn and its services). Uvicorn waits for open
        connections before it exits; after `timeout_s` it is killed (its SQLite database is crash-safe)."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait_s)
                break
            except subprocess.TimeoutExpired:
                continue


def local_api_url(settings: FlowsSettings) -> str:
    return f"http://{settings.server_host}:{settings.server_port}/api"


def healthy(api_url: str, timeout_s: float = 2.0) -> bool:
    """True when a Prefect API answers its health check at `api_url`."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout_s) as response:
            return response.status == 200 and response.read().strip() == b"true"
    except (OSError, urllib.error.URLError, ValueError):
        return False


def prefect_environment(api_url: str, prefect_home: str) -> dict[str, str]:
    """The variables that point Prefect (a server, a client, a flow run process) at `api_url`."""
    return {
        "PREFECT_API_URL": api_url,
        "PREFECT_HOME": str(Path(prefect_home).resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


def start_local_server(settings: FlowsSettings, environ: Mapping[str, str], timeout_s: float = START_TIMEOUT_S) -> PrefectServer:
    """`prefect server start` on server_host:server_port with its database under prefect_home; returns once healthy."""
    api_url = local_api_url(settings)
    home = Path(settings.prefect_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "server.log"
    env = {**environ, **prefect_environment(api_url, str(home))}
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", settings.server_host, "--port", str(settings.server_port)]
    with open(log_path, "ab") as log:
        # Its own session: a Ctrl-C meant for us does not reach it before we stop it in order.
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = PrefectServer(api_url, process, log_path)
    deadline = time.monotonic() + timeout_s
    try:
        while not healthy(api_url):
            if process.poll() is not None or time.monotonic() > deadline:
                why = f"exited with code {process.returncode}" if process.returncode is not None else f"not healthy within {timeout_s:.0f} s"
                where = f"{settings.server_host}:{settings.server_port}"
                raise RuntimeError(f"the Prefect server on {where} {why}; its log: {log_path}\n{_tail(log_path)}")
            time.sleep(0.25)
    except BaseException:  # a failed start, or a signal while waiting: never leave it running
        server.stop()
        raise
    return server


@contextmanager
def prefect_server(settings: FlowsSettings, environ: Mapping[str, str], log: IO[str] | None = None) -> Iterator[PrefectServer]:
    """The configured server, a running local one, or a local one started for the duration of the block."""
    if settings.prefect_api_url is not None:
        yield PrefectServer(str(settings.prefect_api_url).rstrip("/"))
        return
    api_url = local_api_url(settings)
    if healthy(api_url):
        if log is not None:
            print(f"using the Prefect server already running at {api_url}", file=log, flush=True)
        yield PrefectServer(api_url)
        return
    if log is not None:
        print(f"starting a local Prefect server on {settings.server_host}:{settings.server_port} (data in {settings.prefect_home})",
              file=log, flush=True)
    server = start_local_server(settings, environ)
    try:
        yield server
    finally:
        server.stop()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
