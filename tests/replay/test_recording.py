"""Indexing a recording for serving (sim/replay/recording.py): REST answers by URL, websocket scripts by path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.capture import Capture, Connect, Header, Http, Record, Recv, Send, write_capture
from sim.replay.recording import Recording, load_recordings, query_key, query_words, recording_from, subscription_words


def recording(records: list[Record], exchange: str = "KUCOIN") -> Recording:
    return recording_from([Capture(Path(f"{exchange}.jsonl.zst"), Header(exchange=exchange), records)])


def http(url: str, body: str, method: str | None = None) -> Http:
    return Http(conn="X.http.1", ts=1.0, url=url, data=body, method=method)


def test_query_order_and_blank_parameters_do_not_matter() -> None:
    assert query_key("&category=linear&status=Trading") == query_key("status=Trading&category=linear")
    assert query_key("a=1&b=2") != query_key("a=1&b=3")


def test_a_url_answers_with_its_recorded_bodies_in_order_then_the_last_again() -> None:
    rec = recording([http("https://api.x.com/v5/info?&category=linear&limit=1000", "one"),
                     http("https://api.x.com/v5/info?category=linear&limit=1000", "two")])
    assert [rec.answer("GET", "/v5/info", "limit=1000&category=linear") for _ in range(3)] == ["one", "two", "two"]
    assert rec.answer("GET", "/v5/other", "") is None


def test_an_unrecorded_query_gets_the_answer_sharing_most_parameters_if_only_one_does() -> None:
    rec = recording([http("https://api.x.com/api/v3/depth?symbol=NKNUSDT&limit=1000", "nkn"),
                     http("https://api.x.com/api/v3/depth?symbol=BLZETH&limit=1000", "blz")])
    assert rec.answer("GET", "/api/v3/depth", "symbol=BLZETH&limit=100") == "blz"
    assert rec.answer("GET", "/api/v3/depth", "symbol=OTHER&limit=1000") is None, "two answers share 'limit': ambiguous"


def test_a_recorded_method_is_respected_and_an_unknown_one_serves_any() -> None:
    rec = recording([http("https://api.x.com/token", "posted", method="POST"), http("https://api.x.com/symbols", "list")])
    assert rec.answer("GET", "/token", "") is None
    assert rec.answer("post", "/token", "") == "posted"
    assert rec.answer("POST", "/symbols", "") == rec.answer("GET", "/symbols", "") == "list"


def test_connections_are_scripts_by_path_and_a_reconnect_under_the_same_id_is_a_new_script() -> None:
    rec = recording([
        Connect(conn="K.ws.1", ts=1.0, addr="wss://push.kucoin.com/endpoint?token=ABC"),
        Recv(conn="K.ws.1", ts=1.1, data="welcome"),
        Send(conn="K.ws.1", ts=1.2, data="subscribe"),
        Recv(conn="K.ws.1", ts=1.3, data="ack"),
        Recv(conn="K.ws.9", ts=1.4, data="frame of a connection never opened: ignored"),
        Connect(conn="K.ws.1", ts=5.0, addr="wss://push.kucoin.com/endpoint?token=DEF"),
        Recv(conn="K.ws.1", ts=5.1, data="again"),
    ])
    assert [(s.path, [step.kind for step in s.steps], s.frames) for s in rec.scripts] == [
        ("/endpoint", ["recv", "send", "recv"], 2),
        ("/endpoint", ["recv"], 1),
    ]
    assert rec.ws_origins == ("wss://push.kucoin.com",)
    assert rec.knows_path("/endpoint") and not rec.knows_path("/other")


def test_a_subscription_in_the_url_chooses_its_connection_and_a_played_one_is_not_chosen_again() -> None:
    rec = recording([Connect(conn="B.ws.1", ts=1.0, addr="wss://s.x.com/stream?streams=nknusdt@depth/nknusdt@trade"),
                     Recv(conn="B.ws.1", ts=1.1, data="a"),
                     Connect(conn="B.ws.2", ts=1.0, addr="wss://s.x.com/stream?streams=blzeth@depth"),
                     Recv(conn="B.ws.2", ts=1.1, data="b")])
    second, first = rec.scripts[1], rec.scripts[0]
    assert rec.choose("/stream", query_words("streams=blzeth@depth")) == [second]
    assert rec.choose("/stream", query_words("streams=zzz"), guess=True) == [first], "nothing chosen: the first free one"
    first.in_use = second.in_use = True
    assert rec.choose("/stream", frozenset(), guess=True) == [], "both are in use"
    first.in_use = False
    first.position = len(first.steps)
    assert rec.choose("/stream", query_words("streams=nknusdt@depth"), guess=True) == [], "a finished script is not played again"
    assert not rec.finished
    second.position = 1
    assert rec.finished


def test_subscribe_frames_choose_connections_by_what_tells_them_apart() -> None:
    def sub(conn: str, *topics: str) -> list[Record]:
        return [Send(conn=conn, ts=1.0, data=json.dumps({"id": 7, "method": f"{topic}.subscribe", "params": ["ATOMUSD"]})) for topic in topics]

    rec = recording([Connect(conn="P.ws.1", ts=1.0, addr="wss://phemex.com/ws"), *sub("P.ws.1", "orderbook", "trade"),
                     Connect(conn="P.ws.2", ts=1.0, addr="wss://phemex.com/ws"), *sub("P.ws.2", "kline")], "PHEMEX")
    books_and_trades, candles = rec.scripts
    assert rec.scripts[0].words >= {"orderbook", "trade", "subscribe", "atomusd"}
    # Every script carries `subscribe` and ATOMUSD: only `kline` tells the second apart.
    assert rec.choose("/ws", subscription_words('{"method":"kline.subscribe","params":["ATOMUSD",60]}')) == [candles]
    # One client connection for all three: both recorded connections.
    both = subscription_words('{"method":"orderbook.subscribe","params":["ATOMUSD"]}') | subscription_words('{"method":"kline.subscribe"}')
    assert rec.choose("/ws", both) == [books_and_trades, candles]
    # Books and trades spread over two client connections: the second shares the first's script,
    # for what the first did not subscribe.
    books_and_trades.in_use = True
    first = subscription_words('{"method":"orderbook.subscribe","params":["ATOMUSD"]}')
    trades = subscription_words('{"method":"trade.subscribe","params":["ATOMUSD"]}')
    assert rec.choose("/ws", trades, taken={books_and_trades: first}) == [books_and_trades]
    assert rec.choose("/ws", first, taken={books_and_trades: first}) == [], "the same subscription again: the other client's"


def test_connections_no_client_played_are_listed() -> None:
    rec = recording([Connect(conn="K.ws.1", ts=1.0, addr="wss://h/a"), Recv(conn="K.ws.1", ts=1.1, data="x"),
                     Connect(conn="K.ws.2", ts=1.0, addr="wss://h/b"), Recv(conn="K.ws.2", ts=1.1, data="y")])
    rec.scripts[0].claimed = True
    assert [s.describe() for s in rec.unplayed()] == ["K.ws.2 on /b (1 frames)"]


def test_captures_of_one_exchange_join_in_file_order_and_exchanges_stay_apart(tmp_path: Path) -> None:
    write_capture(tmp_path / "KUCOIN-2-002.jsonl.zst", Header(exchange="KUCOIN"), [Recv(conn="K.ws.1", ts=3.0, data="later")])
    write_capture(tmp_path / "KUCOIN-1-001.jsonl.zst", Header(exchange="KUCOIN"),
                  [Connect(conn="K.ws.1", ts=1.0, addr="wss://h/endpoint"), Recv(conn="K.ws.1", ts=2.0, data="first")])
    write_capture(tmp_path / "GATEIO.jsonl.zst", Header(exchange="GATEIO"), [http("https://api.gateio.ws/api/v4/x", "g")])
    recordings = {r.exchange: r for r in load_recordings(tmp_path.iterdir())}
    assert sorted(recordings) == ["gateio", "kucoin"]
    assert [step.payload for step in recordings["kucoin"].scripts[0].steps] == ["first", "later"]
    assert len(recordings["kucoin"].sources) == 2


def test_captures_of_different_exchanges_cannot_form_one_recording() -> None:
    with pytest.raises(ValueError, match="several exchanges"):
        recording_from([Capture(Path("a"), Header(exchange="A"), []), Capture(Path("b"), Header(exchange="B"), [])])
