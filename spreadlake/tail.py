"""`spreadlake tail`: follow the collector's fan-out stream, events as JSON lines on stdout.

Each line is one event in the wire form (docs/protocol.md); snapshot events carry `"snapshot":true`
as their first key. Connection changes, sequence gaps, coalescing and lag go to stderr, one line each.
The client reconnects (with backoff) and resubscribes by itself; only a refused token, a rejected
filter, an incompatible server or a frame the typed decoder cannot read (named by type, seq and
field) end it, with exit code 2.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence
from contextlib import aclosing, suppress
from typing import BinaryIO, TextIO

from shared.client import ClientError, FanoutClient, Filter, Received
from shared.events import encode_json
from shared.protocol import WILDCARD
from shared.settings import Settings

WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def collector_url(settings: Settings) -> str:
    """The WebSocket URL of the collector the settings describe (a wildcard bind is reached on loopback)."""
    host = WILDCARD_HOSTS.get(settings.server.host, settings.server.host)
    if ":" in host:
        host = f"[{host}]"
    return f"ws://{host}:{settings.server.port}/"


def collector_token(settings: Settings) -> str | None:
    return settings.server.token_value()


def tail(url: str, channels: Sequence[str] = (), exchanges: Sequence[str] = (), symbols: Sequence[str] = (),
         token: str | None = None, *, count: int | None = None, duration: float | None = None,
         max_backoff_s: float = 5.0, out: BinaryIO | None = None, err: TextIO | None = None) -> int:
    """Print events until `count` events, `duration` seconds, SIGINT/SIGTERM or a closed stdout; returns the exit code.

    Empty channel/exchange/symbol lists mean `*`; a list subscribes to the cross product of its entries.
    """
    subscription = Filter(tuple(channels) or (WILDCARD,), tuple(exchanges) or (WILDCARD,), tuple(symbols) or (WILDCARD,))
    client = FanoutClient(url, [subscription], token=token, max_backoff_s=max_backoff_s)
    return asyncio.run(_run(client, count, duration, out or sys.stdout.buffer, err or sys.stderr))


async def _run(client: FanoutClient, count: int | None, duration: float | None, out: BinaryIO, err: TextIO) -> int:
    task = asyncio.create_task(_print(client, count, out, err))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):  # not on the main thread (tests): no handlers
            loop.add_signal_handler(sig, task.cancel)
    if duration is not None:
        loop.call_later(duration, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        return 0
    except ClientError as exc:
        print(f"spreadlake tail: {exc}", file=err, flush=True)
        return 2
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def _print(client: FanoutClient, count: int | None, out: BinaryIO, err: TextIO) -> int:
    printed = 0
    async with aclosing(client.stream()) as items:
        async for item in items:
            if isinstance(item, Received):
                line = encode_json(item.event)
                try:
                    out.write(b'{"snapshot":true,' + line[1:] + b"\n" if item.snapshot else line + b"\n")
                    out.flush()
                except BrokenPipeError:
                    return 0
                printed += 1
                if count is not None and printed >= count:
                    return 0
            else:
                print(f"spreadlake tail: {item.kind.value}: {item.message}", file=err, flush=True)
    return 0
