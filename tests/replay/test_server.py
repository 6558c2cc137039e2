"""The replay server on loopback (sim/replay/server.py, playback.py, synthetic.py), with small made-up captures."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.connection import Connection

from shared import tls
from shared.capture import Capture, Connect, Header, Http, Record, Recv, Send, payload_fields
from sim.replay import PlaybackOptions, ReplayServer
from sim.replay.recording import Recording, recording_from


def recording(records: list[Record], exchange: str = "TESTX") -> Recording:
    return recording_from([Capture(Path(f"{exchange}.jsonl.zst"), Header(exchange=exchange), records)])


def stream(*steps: Record) -> Recording:
    return recording([Connect(conn="T.ws.1", ts=10.0, addr="wss://stream.example.com/ws/v1?token=ABC"), *steps])


async def open_ws(server: ReplayServer, tls_dir: Path, path: str = "/ws/v1") -> ClientConnection:
    url = server.endpoints["testx"].ws_url + path
    return await connect(url, ssl=tls.client_ssl_context(tls_dir))


async def receive(ws: Connection, timeout: float = 5.0) -> str | bytes:
    return await asyncio.wait_for(ws.recv(), timeout)


async def silent(ws: Connection, seconds: float) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), seconds)
    except TimeoutError:
        return True
    return False


def test_rest_answers_are_served_by_path_and_query_and_misses_are_reported(tls_dir: Path) -> None:
    rec = recording([Http(conn="T.http.1", ts=1.0, url="https://api.example.com/v5/info?category=spot&limit=10", data='{"n":1}'),
                     Http(conn="T.http.1", ts=2.0, url="https://api.example.com/raw", **payload_fields(b"\x00\xff"))])

    async def fetch(base: str) -> list[tuple[int, str, bytes]]:
        async with aiohttp.ClientSession() as session:
            out = []
            for method, path in (("GET", "/v5/info?limit=10&category=spot"), ("GET", "/raw"), ("GET", "/v5/nothing?x=1")):
                async with session.request(method, base + path) as response:
                    out.append((response.status, response.content_type, await response.read()))
            return out

    with ReplayServer([rec], tls_dir) as server:
        assert server.rest_url("TESTX") == server.endpoints["testx"].rest_url
        assert server.rest_url("testx").startswith("http://127.0.0.1:") and server.ws_url("testx").startswith("wss://127.0.0.1:")
        answers = asyncio.run(fetch(server.endpoints["testx"].rest_url))
        assert server.unanswered() == {"testx": ["GET /v5/nothing?x=1"]}
    assert answers[0] == (200, "application/json", b'{"n":1}')
    assert answers[1] == (200, "application/octet-stream", b"\x00\xff")
    assert answers[2][0] == 404


def test_a_missing_token_reply_is_synthesized_and_a_recorded_one_points_at_this_server(tls_dir: Path) -> None:
    connect_record = Connect(conn="K.ws.1", ts=1.0, addr="wss://push-private.kucoin.com/endpoint?token=TOKEN")
    recorded_reply = json.dumps({"data": {"instanceServers": [{"endpoint": "wss://push-private.kucoin.com/endpoint"}]}})
    without = recording([connect_record], "KUCOIN")
    with_reply = recording([connect_record, Http(conn="K.http.sync", ts=0.5, url="https://api.kucoin.com/api/v1/bullet-public",
                                                 data=recorded_reply)], "BINANCE")

    async def post(base: str) -> dict[str, Any]:
        async with aiohttp.ClientSession() as session, session.post(base + "/api/v1/bullet-public") as response:
            assert response.status == 200
            return await response.json()

    with ReplayServer([without, with_reply], tls_dir) as server:
        kucoin, binance = server.endpoints["kucoin"], server.endpoints["binance"]
        assert len({kucoin.rest_url, kucoin.ws_url, binance.rest_url, binance.ws_url}) == 4, "each recording has its own ports"
        synthesized = asyncio.run(post(kucoin.rest_url))
        rewritten = asyncio.run(post(binance.rest_url))
    assert synthesized["data"]["token"] == "TOKEN"
    assert synthesized["data"]["instanceServers"][0]["endpoint"] == kucoin.ws_url + "/endpoint"
    assert rewritten["data"]["instanceServers"][0]["endpoint"] == binance.ws_url + "/endpoint"


def test_frames_wait_for_the_clients_subscription_then_play_in_order(tls_dir: Path) -> None:
    rec = stream(Recv(conn="T.ws.1", ts=10.1, data="welcome"),
                 Send(conn="T.ws.1", ts=10.2, data="subscribe"),
                 Recv(conn="T.ws.1", ts=10.3, data="ack"),
                 Recv(conn="T.ws.1", ts=10.4, **payload_fields(b"\x01\x02")))

    async def client(server: ReplayServer) -> None:
        # The recorded token and host do not matter: connections are matched by path.
        async with await open_ws(server, tls_dir, "/ws/v1?token=OTHER") as ws:
            assert await receive(ws) == "welcome"
            assert await silent(ws, 0.5), "nothing more until the client subscribes"
            await ws.send("my own subscribe")
            assert await receive(ws) == "ack"
            assert await receive(ws) == b"\x01\x02", "binary frames stay binary"
            assert await silent(ws, 0.3), "held open and silent after the last frame"

    with ReplayServer([rec], tls_dir, options=PlaybackOptions(send_quiet_s=30.0)) as server:
        asyncio.run(client(server))
        assert server.wait_finished(5.0)


def test_a_client_that_sends_nothing_gets_the_frames_after_a_quiet_period(tls_dir: Path) -> None:
    rec = stream(Send(conn="T.ws.1", ts=10.0, data="subscribe"), Recv(conn="T.ws.1", ts=10.1, data="data"))

    async def client(server: ReplayServer) -> float:
        async with await open_ws(server, tls_dir) as ws:
            start = time.monotonic()
            assert await receive(ws) == "data"
            return time.monotonic() - start

    with ReplayServer([rec], tls_dir, options=PlaybackOptions(send_quiet_s=0.6)) as server:
        waited = asyncio.run(client(server))
    assert 0.3 <= waited < 3.0


def test_paced_playback_keeps_the_recorded_spacing(tls_dir: Path) -> None:
    rec = stream(*(Recv(conn="T.ws.1", ts=10.0 + i, data=str(i)) for i in range(4)))

    async def client(server: ReplayServer) -> float:
        async with await open_ws(server, tls_dir) as ws:
            assert await receive(ws) == "0"
            start = time.monotonic()
            assert [await receive(ws) for _ in range(3)] == ["1", "2", "3"]
            return time.monotonic() - start

    with ReplayServer([rec], tls_dir, options=PlaybackOptions(speed=4.0)) as server:
        elapsed = asyncio.run(client(server))
    assert 0.6 <= elapsed < 3.0, elapsed  # 3 s recorded, played 4x faster: 0.75 s


def test_unknown_paths_are_refused_and_a_played_path_stays_silent(tls_dir: Path) -> None:
    rec = stream(Recv(conn="T.ws.1", ts=10.1, data="only"))

    async def client(server: ReplayServer) -> None:
        with pytest.raises(websockets.InvalidStatus):
            await open_ws(server, tls_dir, "/not/recorded")
        async with await open_ws(server, tls_dir) as ws:
            assert await receive(ws) == "only"
        async with await open_ws(server, tls_dir) as again:
            assert await silent(again, 0.3), "each recorded frame is played once"

    with ReplayServer([rec], tls_dir) as server:
        asyncio.run(client(server))


def test_a_reconnecting_client_resumes_where_it_left(tls_dir: Path) -> None:
    rec = stream(*(Recv(conn="T.ws.1", ts=10.0 + i, data=str(i)) for i in range(3)))

    async def client(server: ReplayServer) -> list[str | bytes]:
        async with await open_ws(server, tls_dir) as ws:
            got = [await receive(ws)]
        async with await open_ws(server, tls_dir) as ws:
            got += [await receive(ws), await receive(ws)]
        return got

    with ReplayServer([rec], tls_dir, options=PlaybackOptions(speed=2.0)) as server:
        assert asyncio.run(client(server)) == ["0", "1", "2"]


def test_closing_at_the_end_when_asked(tls_dir: Path) -> None:
    rec = stream(Recv(conn="T.ws.1", ts=10.1, data="last"))

    async def client(server: ReplayServer) -> None:
        async with await open_ws(server, tls_dir) as ws:
            assert await receive(ws) == "last"
            with pytest.raises(websockets.ConnectionClosedOK):
                await receive(ws)

    with ReplayServer([rec], tls_dir, options=PlaybackOptions(at_end="close")) as server:
        asyncio.run(client(server))
        assert server.wait_finished(5.0)


def test_bad_playback_options_are_refused() -> None:
    with pytest.raises(ValueError):
        PlaybackOptions(speed=0)
    with pytest.raises(ValueError):
        PlaybackOptions(at_end="later")  # type: ignore[arg-type]
