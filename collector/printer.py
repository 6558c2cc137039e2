"""`spreadlake collector --print`: normalized events as JSON lines on stdout, filtered.

Writing to a pipe can block, so the dispatcher-side consumer only queues encoded lines; a task
writes them off the event loop. If the reader of stdout cannot keep up, whole lines are dropped
and a notice on stderr says how many: never a silent drop, never a stalled collector.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from shared.events import Event, channel_of, encode_json


@dataclass(frozen=True)
class EventFilter:
    channels: frozenset[str] = frozenset()
    exchanges: frozenset[str] = frozenset()
    symbols: frozenset[str] = frozenset()

    def matches(self, event: Event) -> bool:
        if self.channels and channel_of(event).value not in self.channels:
            return False
        if self.exchanges and event.exchange not in self.exchanges:
            return False
        if self.symbols and event.symbol is not None and event.symbol not in self.symbols:
            return False
        return True


class JsonLinePrinter:
    name = "printer"

    def __init__(self, event_filter: EventFilter, out: BinaryIO | None = None, err: TextIO | None = None,
                 max_pending: int = 100_000, interval_s: float = 0.05) -> None:
        self.filter = event_filter
        self._out = out if out is not None else sys.stdout.buffer
        self._err = err if err is not None else sys.stderr
        self._pending: deque[bytes] = deque()
        self._max_pending = max_pending
        self._interval_s = interval_s
        self._dropped = 0
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self.printed = 0

    def __call__(self, event: Event) -> None:
        if not self.filter.matches(event):
            return
        if len(self._pending) >= self._max_pending:
            self._dropped += 1
            return
        self._pending.append(encode_json(event) + b"\n")

    async def start(self) -> None:
        self._running = True
        self._task = asyncio.create_task(self._drain_forever())

    async def stop(self) -> None:
        self._running = False
        if self._task is not None:
            await self._task
        await self._drain()

    async def _drain_forever(self) -> None:
        while self._running:
            await asyncio.sleep(self._interval_s)
            await self._drain()

    async def _drain(self) -> None:
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            self._err.write(f"spreadlake: stdout too slow, {dropped} event lines dropped\n")
        if not self._pending:
            return
        chunk = []
        while self._pending:
            chunk.append(self._pending.popleft())
        self.printed += len(chunk)
        data = b"".join(chunk)
        try:
            await asyncio.to_thread(self._write, data)
        except BrokenPipeError:
            self._running = False

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._out.flush()
