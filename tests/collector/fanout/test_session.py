"""Per-connection delivery under load: no gaps for clients that keep up, coalescing or lag for those that do not,
and a slow client never holds back the others or the ingest path."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from collector.dispatch import Dispatcher
from shared.events import Side, Ticker, Trade
from tests.collector.fanout.harness import ask, client, conforms, recv, running, subscribed

STREAMS = [("binance", "BTC-USDT"), ("binance", "ETH-USDT"), ("bybit", "BTC-USDT"), ("bybit", "ETH-USDT")]


def trade(n: int) -> Trade:
    now = time.time_ns()
    exchange, symbol = STREAMS[n % len(STREAMS)]
    return Trade(exchange, symbol, now, now, str(n), Side.BUY, 1.0, 1.0)


def tick(n: int) -> Ticker:
    now = time.time_ns()
    exchange, symbol = STREAMS[n % len(STREAMS)]
    return Ticker(exchange, symbol, now, now, float(n), 1.0, float(n) + 1, 1.0)


async def publish_in_rounds(dispatcher: Dispatcher, make: Any, start: int, count: int, per_round: int = 500) -> float:
    """Publish `count` events, yielding to the loop between rounds; returns the longest round (the ingest-side cost)."""
    longest = 0.0
    for first in range(start, start + count, per_round):
        began = time.perf_counter()
        for n in range(first, min(first + per_round, start + count)):
            dispatcher.publish(make(n))
        longest = max(longest, time.perf_counter() - began)
        await asyncio.sleep(0.001)
    return longest


async def slow_client(url: str) -> Any:
    """A client that reads nothing until told: a tiny receive buffer and a one-frame queue, so it backs up at once."""
    host, port = url.removeprefix("ws://").rstrip("/").rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    return client(url, sock=sock, max_queue=1)


async def read_all(ws: ClientConnection, timeout: float = 5.0) -> tuple[list[dict[str, Any]], ConnectionClosed | None]:
    frames = []
    try:
        while True:
            frames.append(await recv(ws, timeout))
    except ConnectionClosed as closed:
        return frames, closed
    except TimeoutError:
        return frames, None


def test_sequence_numbers_and_trades_have_no_gaps_under_load() -> None:
    async def scenario() -> None:
        async with running(batch_ms=2) as (component, dispatcher):
            clients = [client(component.url) for _ in range(5)]
            sockets = [await c.__aenter__() for c in clients]
            for ws in sockets:
                await recv(ws)
                await subscribed(ws, channels=["trade"])

            async def consume(ws: ClientConnection) -> tuple[list[int], list[int]]:
                seqs, ids = [], []
                while len(ids) < 20_000:
                    frame = await recv(ws)
                    seqs.append(frame["seq"])
                    assert "coalesced" not in frame
                    ids.extend(int(e["trade_id"]) for e in frame["events"])
                return seqs, ids

            readers = [asyncio.create_task(consume(ws)) for ws in sockets]
            await publish_in_rounds(dispatcher, trade, 0, 20_000)
            for seqs, ids in await asyncio.gather(*readers):
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
                assert ids == list(range(20_000))
            for c in clients:
                await c.__aexit__(None, None, None)

    asyncio.run(scenario())


def test_slow_ticker_client_gets_the_latest_value_per_stream_and_stays_connected() -> None:
    async def scenario() -> None:
        async with running(batch_ms=2, client_buffer_events=500) as (component, dispatcher):
            async with await slow_client(component.url) as slow:
                await recv(slow)
                await subscribed(slow, channels=["ticker"])
                await publish_in_rounds(dispatcher, tick, 0, 60_000)
                frames, closed = await read_all(slow, timeout=0.5)
                assert closed is None
                assert [f["seq"] for f in frames] == list(range(4, 4 + len(frames)))
                events = [e for f in frames for e in f["events"]]
                coalesced = sum(f.get("coalesced", 0) for f in frames)
                assert coalesced > 0 and coalesced + len(events) == 60_000
                conforms(next(f for f in frames if f.get("coalesced")))
                latest = {(e["exchange"], e["symbol"]): e["bid"] for e in events}
                assert latest == {stream: float(59_996 + i) for i, stream in enumerate(STREAMS)}
                assert (await ask(slow, {"op": "ping"}))["type"] == "pong"

    asyncio.run(scenario())


def test_client_that_stops_reading_trades_is_lagged_while_a_fast_client_keeps_its_latency() -> None:
    async def scenario() -> None:
        async with running(batch_ms=2, client_buffer_events=1000) as (component, dispatcher):
            async with client(component.url) as fast, await slow_client(component.url) as slow:
                for ws in (fast, slow):
                    await recv(ws)
                    await subscribed(ws, channels=["trade"])
                delays: list[float] = []
                ids: list[int] = []

                async def keep_up() -> None:
                    while True:
                        frame = await recv(fast)
                        now = time.time_ns()
                        delays.extend((now - e["ts_recv"]) / 1e6 for e in frame["events"])
                        ids.extend(int(e["trade_id"]) for e in frame["events"])

                reader = asyncio.create_task(keep_up())
                published = 0
                longest_round = 0.0
                while published < 400_000 and component.server.hub.status()["clients"] == 2:
                    longest_round = max(longest_round, await publish_in_rounds(dispatcher, trade, published, 5000))
                    published += 5000
                frames, closed = await read_all(slow)
                await asyncio.sleep(0.2)
                reader.cancel()

                assert conforms(frames[-1])["type"] == "lagged", frames[-1]
                assert frames[-1]["trades"] >= 500 and "too far behind" in frames[-1]["message"]
                assert closed is not None and closed.rcvd is not None and closed.rcvd.code == 4001
                assert [f["seq"] for f in frames] == list(range(4, 4 + len(frames)))

                assert ids == list(range(published)), "the fast client lost or reordered trades"
                delays.sort()
                assert delays[int(len(delays) * 0.99)] < 200, f"fast client p99 {delays[int(len(delays) * 0.99)]:.1f} ms"
                assert longest_round < 0.25, f"publishing 500 events took {longest_round:.3f} s: ingest was held up"

    asyncio.run(scenario())


def test_lagged_client_sees_contiguous_seq_up_to_and_including_the_lagged_frame_when_cut_off_mid_write() -> None:
    """Small frames make the slow path number many frames per batch; the notice must not overtake them."""
    async def scenario() -> None:
        async with running(batch_ms=1, client_buffer_events=600, max_frame_bytes=4096) as (component, dispatcher):
            async with await slow_client(component.url) as slow:
                await recv(slow)
                await subscribed(slow, channels=["trade"])
                published = 0
                while published < 200_000 and component.server.hub.status()["clients"] == 1:
                    await publish_in_rounds(dispatcher, trade, published, 200, per_round=50)
                    published += 200
                frames, closed = await read_all(slow)
        assert closed is not None and closed.rcvd is not None and closed.rcvd.code == 4001
        assert frames[-1]["type"] == "lagged"
        assert [f["seq"] for f in frames] == list(range(4, 4 + len(frames)))

    asyncio.run(scenario())
