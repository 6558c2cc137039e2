"""`spreadlake replay CAPTURE...`: serve recorded captures as local venues until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from shared.capture import CaptureError
from sim.replay.config import write_collector_config
from sim.replay.playback import PlaybackOptions
from sim.replay.recording import load_recordings
from sim.replay.server import ReplayApp


def replay_main(
    captures: Sequence[Path],
    settings_out: Path | None,
    host: str = "127.0.0.1",
    port: int = 0,
    tls_dir: Path = Path("data/tls"),
    speed: float | None = None,
    wait_for_sends: bool = True,
    at_end: Literal["close", "hold"] = "hold",
    lake_root: str = "data/replay",
) -> int:
    """Serve `captures` (one or more files per exchange) and, with `settings_out`, write a collector
    config that follows them. `port` 0 picks free ports; otherwise exchange i listens on port + 2i
    (http) and port + 2i + 1 (wss). `speed` None plays as fast as clients read, 1.0 at the recorded pace.
    Returns the process exit code."""
    if not captures:
        print("replay: no capture file given", file=sys.stderr)
        return 2
    try:
        recordings = load_recordings(captures)
        options = PlaybackOptions(speed=speed, wait_for_sends=wait_for_sends, at_end=at_end)
    except (CaptureError, ValueError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(ReplayApp(recordings, tls_dir, host, port, options), settings_out, lake_root))
    except OSError as exc:
        print(f"replay: cannot listen on {host}: {exc.strerror or exc}", file=sys.stderr)
        return 1


async def _serve(app: ReplayApp, settings_out: Path | None, lake_root: str) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    try:
        for name, endpoints in app.endpoints.items():
            print(f"{name}: rest {endpoints.rest_url}  ws {endpoints.ws_url}", flush=True)
        print(f"CA certificate: {app.ca_file}", flush=True)
        if settings_out is not None:
            notes = write_collector_config(settings_out, app.recordings, app.endpoints, app.ca_file, lake_root)
            for note in notes:
                print(f"note: {note}", flush=True)
            print(f"collector config: {settings_out}  (run: spreadlake collector --config {settings_out})", flush=True)
        watcher = asyncio.create_task(_announce_end(app))
        await stop.wait()
        watcher.cancel()
    finally:
        await app.stop()
    for name, connections in app.unplayed().items():
        for connection in connections:
            print(f"note: {name}: recorded connection {connection} was never played (no client subscribed to what it carries)", flush=True)
    print("replay stopped", flush=True)
    return 0


async def _announce_end(app: ReplayApp) -> None:
    while not app.finished:
        await app.progress.wait()
        app.progress.clear()
    print("every recorded connection has been played (the server keeps answering REST until stopped)", flush=True)


__all__ = ["replay_main"]
