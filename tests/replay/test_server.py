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


def subscribing(conn: str, topic: str, *frames: str) -> list[Record]:
    """A recorded connection on /ws that subscribes `topic` in a frame and then receives `frames`."""
    return [Connect(conn=conn, ts=10.0, addr="wss://stream.example.com/ws"),
            Send(conn=conn, ts=10.1, data=json.dumps({"op": "subscribe", "args": [topic]})),
            *(Recv(conn=conn, ts=10.2 + i / 10, data=frame) for i, frame in enumerate(frames))]


async def subscribe(ws: Connection, *topics: str) -> None:
    await ws.send(json.dumps({"op": "subscribe", "args": list(topics)}))


async def drain(ws: Connection, quiet: float = 0.5) -> list[str | bytes]:
    got = []
    try:
        while True:
            got.append(await asyncio.wait_for(ws.recv(), quiet))
    except TimeoutError:
        return got


def test_connections_are_played_by_what_the_client_subscribes_not_by_file_order(tls_dir: Path) -> None:
    rec = recording([*subscribing("T.ws.1", "alpha.BTCUSDT", "alpha-1", "alpha-2"),
                     *subscribing("T.ws.2", "beta.BTCUSDT", "beta-1", "beta-2")])

    async def client(server: ReplayServer) -> tuple[list[str | bytes], list[str | bytes]]:
        async with await open_ws(server, tls_dir, "/ws") as beta, await open_ws(server, tls_dir, "/ws") as alpha:
            await subscribe(beta, "beta.BTCUSDT")
            await subscribe(alpha, "alpha.BTCUSDT")
            return await drain(beta), await drain(alpha)

    with ReplayServer([rec], tls_dir) as server:
        beta, alpha = asyncio.run(client(server))
        assert server.wait_finished(5.0)
    assert beta == ["beta-1", "beta-2"]
    assert alpha == ["alpha-1", "alpha-2"]


def test_a_client_subscribing_on_one_connection_what_was_recorded_on_two_gets_both(tls_dir: Path) -> None:
    rec = recording([*subscribing("T.ws.1", "alpha.BTCUSDT", "alpha-1", "alpha-2"),
                     *subscribing("T.ws.2", "beta.BTCUSDT", "beta-1")])

    async def client(server: ReplayServer) -> list[str | bytes]:
        async with await open_ws(server, tls_dir, "/ws") as ws:
            await subscribe(ws, "beta.BTCUSDT", "alpha.BTCUSDT")
            return await drain(ws)

    with ReplayServer([rec], tls_dir) as server:
        got = asyncio.run(client(server))
        assert server.unplayed() == {}
    assert sorted(got) == ["alpha-1", "alpha-2", "beta-1"]
    assert got.index("alpha-1") < got.index("alpha-2"), "each recorded connection in its order"


def test_a_client_spreading_over_two_connections_what_was_recorded_on_one_gets_each_its_own(tls_dir: Path) -> None:
    # Binance style: the subscription is in the URL, the stream named in every frame.
    frames = [json.dumps({"stream": stream, "data": i}) for i, stream in enumerate(["nknusdt@depth", "blzeth@depth", "nknusdt@depth"])]
    rec = recording([Connect(conn="B.ws.1", ts=10.0, addr="wss://stream.example.com/stream?streams=nknusdt@depth/blzeth@depth"),
                     *(Recv(conn="B.ws.1", ts=10.1 + i / 10, data=frame) for i, frame in enumerate(frames))])

    async def client(server: ReplayServer) -> tuple[list[str | bytes], list[str | bytes]]:
        async with await open_ws(server, tls_dir, "/stream?streams=blzeth@depth") as blz, \
                await open_ws(server, tls_dir, "/stream?streams=nknusdt@depth") as nkn:
            return await drain(blz), await drain(nkn)

    with ReplayServer([rec], tls_dir) as server:
        blz, nkn = asyncio.run(client(server))
        assert server.wait_finished(5.0)
    assert blz == [frames[1]]
    assert nkn == [frames[0], frames[2]]


def test_recorded_connections_no_client_subscribed_to_are_reported(tls_dir: Path) -> None:
    rec = recording([*subscribing("T.ws.1", "alpha.BTCUSDT", "alpha-1"), *subscribing("T.ws.2", "beta.BTCUSDT", "beta-1")])

    async def client(server: ReplayServer) -> list[str | bytes]:
        async with await open_ws(server, tls_dir, "/ws") as ws:
            await subscribe(ws, "alpha.BTCUSDT")
            return await drain(ws)

    with ReplayServer([rec], tls_dir) as server:
        assert server.unplayed() == {"testx": ["T.ws.1 on /ws (1 frames)", "T.ws.2 on /ws (1 frames)"]}
        assert asyncio.run(client(server)) == ["alpha-1"]
        assert server.unplayed() == {"testx": ["T.ws.2 on /ws (1 frames)"]}
        assert not server.wait_finished(0.1)


def test_a_rewound_server_serves_the_recording_again_from_its_start(tls_dir: Path) -> None:
    rec = recording([Http(conn="T.http.1", ts=1.0, url="https://api.example.com/info", data="one"),
                     Http(conn="T.http.1", ts=2.0, url="https://api.example.com/info", data="two"),
                     *subscribing("T.ws.1", "alpha.BTCUSDT", "alpha-1", "alpha-2")])

    async def client(server: ReplayServer) -> tuple[list[str], list[str | bytes]]:
        async with aiohttp.ClientSession() as session:
            bodies = [await (await session.get(server.rest_url("testx") + "/info")).text() for _ in range(2)]
        async with await open_ws(server, tls_dir, "/ws") as ws:
            await subscribe(ws, "alpha.BTCUSDT")
            return bodies, await drain(ws, 0.3)

    with ReplayServer([rec], tls_dir) as server:
        first = asyncio.run(client(server))
        assert server.wait_finished(5.0)
        server.rewind()
        assert server.unplayed() == {"testx": ["T.ws.1 on /ws (2 frames)"]}
        second = asyncio.run(client(server))
    assert first == second == (["one", "two"], ["alpha-1", "alpha-2"])


def test_frames_of_what_no_client_subscribed_are_withheld_and_a_client_as_slow_as_the_recorded_one_is_waited_for(tls_dir: Path) -> None:
    # Independent Reserve style: cryptofeed fails on a book frame it did not subscribe. The recorded
    # client subscribed a second ticker a second later; this client does too (0.8 s later).
    rec = recording([Connect(conn="I.ws.1", ts=10.0, addr="wss://websockets.example.com/"),
                     Send(conn="I.ws.1", ts=10.0, data=json.dumps({"Event": "Subscribe", "Data": ["ticker-eth-aud", "orderbook-eth"]})),
                     Recv(conn="I.ws.1", ts=10.1, data=json.dumps({"Event": "Heartbeat"})),
                     Recv(conn="I.ws.1", ts=10.2, data=json.dumps({"Channel": "orderbook-eth", "Event": "NewOrder"})),
                     Recv(conn="I.ws.1", ts=10.3, data=json.dumps({"Channel": "ticker-eth-aud", "Event": "Trade"})),
                     Send(conn="I.ws.1", ts=11.0, data=json.dumps({"Event": "Subscribe", "Data": ["ticker-btc-aud"]})),
                     Recv(conn="I.ws.1", ts=11.1, data=json.dumps({"Channel": "ticker-btc-aud", "Event": "Trade"}))])

    async def client(server: ReplayServer) -> list[str | bytes]:
        async with await open_ws(server, tls_dir, "/") as ws:
            await ws.send(json.dumps({"Event": "Subscribe", "Data": ["ticker-eth-aud"]}))
            got = [await receive(ws), await receive(ws)]
            await asyncio.sleep(0.8)
            await ws.send(json.dumps({"Event": "Subscribe", "Data": ["ticker-btc-aud"]}))
            return got + await drain(ws)

    with ReplayServer([rec], tls_dir) as server:
        got = asyncio.run(client(server))
        assert server.wait_finished(5.0)
    assert [json.loads(frame)["Event"] + json.loads(frame).get("Channel", "") for frame in got] == [
        "Heartbeat", "Tradeticker-eth-aud", "Tradeticker-btc-aud"]
