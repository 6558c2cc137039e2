"""Playing one recorded websocket connection to one client.

Recorded `recv` frames go out in order, as fast as the client reads them or paced by their recorded
timestamps. Where the client sent frames in the recording (subscriptions), playback can wait for
the client to send its own before going on, so a client's state machine sees server frames in the
order it saw them live. A client rarely sends exactly the recorded frames (a collector that does not
want candles subscribes less than the recording did), so each recorded `send` waits for one more
client frame or for the client to have been quiet for `send_quiet_s`, whichever comes first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from aiohttp import WSMsgType, web

from sim.replay.recording import Script

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlaybackOptions:
    speed: float | None = None  # None: as fast as the client reads; 1.0: the recorded pace; 2.0: twice as fast
    wait_for_sends: bool = True
    send_quiet_s: float = 0.3
    # After the last frame: "hold" the connection open and silent (as a quiet market would), or "close"
    # it. Closing makes clients reconnect, which some feeds handle badly while their other connections
    # still stream (cryptofeed's Bybit drops the perpetual's book when its spot connection resubscribes).
    at_end: Literal["close", "hold"] = "hold"

    def __post_init__(self) -> None:
        if self.speed is not None and self.speed <= 0:
            raise ValueError("speed must be positive (or None for as fast as possible)")
        if self.at_end not in ("close", "hold"):
            raise ValueError("at_end is 'close' or 'hold'")


class ClientFrames:
    """Counts the frames a client sends and when it last sent one."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self._clock = loop.time
        self.count = 0
        self.last = self._clock()
        self.closed = False
        self.gone = asyncio.Event()
        self._changed = asyncio.Event()

    async def consume(self, ws: web.WebSocketResponse) -> None:
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    self.count += 1
                    self.last = self._clock()
                    self._changed.set()
        finally:
            self.closed = True
            self.gone.set()
            self._changed.set()

    async def expect(self, consumed: int, quiet_s: float) -> bool:
        """True once the client has sent more than `consumed` frames; False after `quiet_s` of silence."""
        while True:
            if self.count > consumed:
                return True
            remaining = quiet_s - (self._clock() - self.last)
            if remaining <= 0 or self.closed:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass


async def play(ws: web.WebSocketResponse, script: Script, options: PlaybackOptions, on_played: Callable[[], None]) -> None:
    """Play `script` from its current position; returns when the client has gone or playback ended.

    `on_played` is called when sending stops (the script finished, or the client went away).
    """
    client = ClientFrames()
    reader = asyncio.create_task(client.consume(ws))
    try:
        try:
            await _play_steps(ws, script, options, client)
        finally:
            on_played()
        if script.finished and options.at_end == "close" and not ws.closed:
            await ws.close()
        await reader
    except ConnectionResetError:
        pass  # the client went away mid-frame
    finally:
        script.in_use = False
        if not reader.done():
            reader.cancel()


async def _play_steps(ws: web.WebSocketResponse, script: Script, options: PlaybackOptions, client: ClientFrames) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    base_ts = script.steps[script.position].ts if not script.finished else 0.0
    if script.position == 0:
        base_ts = min(base_ts, script.opened)
    consumed = 0
    while not script.finished:
        if ws.closed or client.closed:
            return
        step = script.steps[script.position]
        if step.kind == "send":
            if options.wait_for_sends and await client.expect(consumed, options.send_quiet_s):
                consumed += 1
            script.position += 1
            # Pace what follows from the client's frame, as it followed the recorded one.
            start, base_ts = loop.time(), step.ts
            continue
        if options.speed is not None:
            delay = start + (step.ts - base_ts) / options.speed - loop.time()
            if delay > 0:
                try:
                    await asyncio.wait_for(client.gone.wait(), delay)  # wake early if the client goes
                    return
                except TimeoutError:
                    pass
        if isinstance(step.payload, bytes):
            await ws.send_bytes(step.payload)
        else:
            await ws.send_str(step.payload)
        script.position += 1


async def hold(ws: web.WebSocketResponse) -> None:
    """Keep a connection open without sending anything until the client closes it."""
    async for _ in ws:
        pass


__all__ = ["PlaybackOptions", "hold", "play"]
