"""Playing recorded websocket connections to the client connections that subscribed to them.

A `Client` is one client websocket connection: the words it subscribed (URL query, frames sent) and
the recorded connections it plays. A `Playback` plays one recorded connection (a `Script`) to its
clients: usually one, several where the client spread over its connections what the recorded client
had on one. Each recorded frame then goes to the client whose own subscription the frame names
(Binance's `"stream":"blzeth@depth"`, Phemex's `trades` for a `trade.subscribe`); a frame that names
none of them (a heartbeat, a reply without the topic) goes to the first client. A frame that names
more of what the recorded client subscribed and no client did than of what a client did is withheld,
as the exchange would not have sent it (Independent Reserve's `orderbook-dot` to a client of trades
only: cryptofeed fails on a book frame it did not subscribe). Words under 4 letters take no part.

Recorded `recv` frames go out in order, as fast as the client reads them or paced by their recorded
timestamps. Where the client sent frames in the recording (subscriptions), playback can wait for
the client to send its own before going on, so a client's state machine sees server frames in the
order it saw them live. A client rarely sends exactly the recorded frames (a collector that does not
want candles subscribes less than the recording did), so each recorded `send` waits for one more
client frame or for the client to have been quiet for `send_quiet_s` plus the time the recorded
client took to send it after its previous one (up to 2 s more: crypto.com's client pauses a second
between subscriptions), whichever comes first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from sim.replay.recording import Script, subscription_words

LOG = logging.getLogger(__name__)
_MIN_NAMING = 4  # shorter words (`1m`, `usd`) occur by chance in any frame
_MAX_PAUSE_S = 2.0  # the most a recorded client's pause before a send adds to the wait for the client's own


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


class Client:
    """One client websocket connection: what it subscribed and the playbacks it receives."""

    def __init__(self, ws: web.WebSocketResponse, subscribed: frozenset[str]) -> None:
        self.ws = ws
        self.words = subscribed
        self.frame_words: frozenset[str] = frozenset()  # the part subscribed in frames (not in the URL)
        self.last = asyncio.get_running_loop().time()  # when it last sent a frame (or connected)
        self.closed = False
        self.playbacks: list[Playback] = []

    def received(self, payload: str | bytes) -> bool:
        """A frame from the client; True when it subscribed something new."""
        self.last = asyncio.get_running_loop().time()
        new = subscription_words(payload)
        framed = not new <= self.frame_words
        grew = not new <= self.words
        if framed:
            self.frame_words |= new
            self.words |= new
        for playback in self.playbacks:
            playback.heard_from(self, framed)
        return grew

    @property
    def gone(self) -> bool:
        return self.closed or self.ws.closed

    def close(self) -> None:
        self.closed = True
        for playback in self.playbacks:
            playback.detach(self)


class Playback:
    """One recorded connection played to the clients attached to it, until it ends or they all left."""

    def __init__(self, script: Script, options: PlaybackOptions, on_end: Callable[[Playback], None]) -> None:
        self.script = script
        self.options = options
        self.clients: list[Client] = []
        self._on_end = on_end
        self._clock = asyncio.get_running_loop().time
        self._heard = 0  # frames the attached clients sent since they attached
        self._last = self._attached = self._clock()
        self._changed = asyncio.Event()
        self._alone = asyncio.Event()  # no client left
        self._routes: tuple[list[Client], list[frozenset[str]], frozenset[str]] | None = None  # see `_routing`
        script.in_use = script.claimed = True

    def attach(self, client: Client, counted: bool) -> None:
        """Play to `client` too; `counted`: the frame it just sent (that chose this script) answers a recorded send."""
        self.clients.append(client)
        client.playbacks.append(self)
        self._attached = self._clock()
        self._routes = None
        if counted:
            self.heard_from(client)
        self._alone.clear()
        self._changed.set()

    def heard_from(self, client: Client, subscribed: bool = False) -> None:
        self._heard += 1
        self._last = self._clock()
        if subscribed:
            self._routes = None
        self._changed.set()

    def detach(self, client: Client) -> None:
        if client in self.clients:
            self.clients.remove(client)
        self._routes = None
        if not any(not c.gone for c in self.clients):
            self._alone.set()
        self._changed.set()

    def subscribed_by_others(self, client: Client) -> frozenset[str]:
        return frozenset().union(*(c.words for c in self.clients if c is not client and not c.gone))

    async def run(self) -> None:
        try:
            await self._play()
        except ConnectionResetError:
            pass  # the last client went away mid-frame
        finally:
            # In the same step as the end of the loop: a client attaching now finds the script free.
            self.script.in_use = False
            self._on_end(self)
        if self.script.finished and self.options.at_end == "close":
            for client in list(self.clients):
                if all(p.script.finished for p in client.playbacks) and not client.gone:
                    await client.ws.close()

    async def _play(self) -> None:
        script, options = self.script, self.options
        loop = asyncio.get_running_loop()
        start = loop.time()
        base_ts = script.steps[script.position].ts if not script.finished else 0.0
        if script.position == 0:
            base_ts = min(base_ts, script.opened)
        consumed = 0
        previous_send = script.opened if script.position == 0 else base_ts
        held, hold_until = -1, 0.0  # the step held back for a subscription that may be on its way, and how long
        if script.position == 0:
            await self._gather()
        while not script.finished:
            if self._alone.is_set():
                return
            step = script.steps[script.position]
            if step.kind == "send":
                pause = min(max(step.ts - previous_send, 0.0), _MAX_PAUSE_S)
                if options.wait_for_sends and await self._expect(consumed, options.send_quiet_s + pause):
                    consumed += 1
                previous_send = step.ts
                script.position += 1
                # Pace what follows from the client's frame, as it followed the recorded one.
                start, base_ts = loop.time(), step.ts
                continue
            if options.speed is not None:
                delay = start + (step.ts - base_ts) / options.speed - loop.time()
                if delay > 0:
                    try:
                        await asyncio.wait_for(self._alone.wait(), delay)  # wake early if every client goes
                    except TimeoutError:
                        pass
            clients, own, unclaimed = self._routing()
            if not clients:
                return
            client = _destination(step.payload, clients, own, unclaimed)
            if client is None:
                # Not subscribed yet, or not at all: the client may still be sending its subscription.
                if held != script.position:
                    held, hold_until = script.position, self._clock() + options.send_quiet_s
                if (wait := min(options.send_quiet_s - (self._clock() - self._last), hold_until - self._clock())) > 0:
                    self._changed.clear()
                    try:
                        await asyncio.wait_for(self._changed.wait(), wait)
                    except TimeoutError:
                        pass
                    continue
                script.position += 1
                script.withheld += 1
                continue
            try:
                if isinstance(step.payload, bytes):
                    await client.ws.send_bytes(step.payload)
                else:
                    await client.ws.send_str(step.payload)
            except ConnectionResetError:
                self.detach(client)  # the frame goes to another client, if one is left
                continue
            script.position += 1
            script.sent += 1

    async def _gather(self) -> None:
        """A client that subscribed in its URL part of what the recorded connection's URL carried may
        have the rest on another connection on its way: give that `send_quiet_s` to attach."""
        recorded = self.script.url_words
        while True:
            subscribed = frozenset().union(*(c.words for c in self.clients if not c.gone))
            remaining = self.options.send_quiet_s - (self._clock() - self._attached)
            if not recorded & subscribed or recorded <= subscribed or remaining <= 0 or self._alone.is_set():
                return
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def _expect(self, consumed: int, quiet_s: float) -> bool:
        """True once the clients have sent more than `consumed` frames; False after `quiet_s` of silence."""
        while True:
            if self._heard > consumed:
                return True
            remaining = quiet_s - (self._clock() - self._last)
            if remaining <= 0 or self._alone.is_set():
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    def _routing(self) -> tuple[list[Client], list[frozenset[str]], frozenset[str]]:
        """The clients still there, the words of the recorded subscription each of them alone subscribed,
        and those none of them did; kept until a client comes, goes or subscribes more."""
        clients = [c for c in self.clients if not c.gone]
        if self._routes is None or self._routes[0] != clients:
            recorded = frozenset(w for w in self.script.words if len(w) >= _MIN_NAMING)
            own = [(c.words & recorded).difference(*(o.words for o in clients if o is not c)) for c in clients]
            # Withheld: only what the recorded client subscribed in frames, and only once these clients
            # subscribed some of it in frames too (a bare client, or a one-off token in a URL, says nothing).
            in_frames = recorded & self.script.frame_words
            framed = frozenset().union(*(c.frame_words for c in clients))
            unclaimed = in_frames.difference(*(c.words for c in clients)) if in_frames & framed else frozenset()
            self._routes = clients, own, unclaimed
        return self._routes


def _destination(payload: str | bytes, clients: list[Client], own: list[frozenset[str]], unclaimed: frozenset[str]) -> Client | None:
    """The client a recorded frame goes to, or None when it is for a subscription no client made."""
    if (len(clients) == 1 and not unclaimed) or isinstance(payload, bytes):
        return clients[0]  # binary frames (compressed) name nothing readable
    text = payload.lower()
    others = sum(1 for word in unclaimed if word in text)
    if len(clients) == 1 and not others:
        return clients[0]
    scores = [sum(1 for word in words if word in text) for words in own]
    best = max(scores)
    if others > best:
        return None
    return clients[scores.index(best)] if best and scores.count(best) == 1 else clients[0]


__all__ = ["Client", "Playback", "PlaybackOptions"]
