"""The fan-out server over real sockets: ordering, filters, bad input, limits, auth, heartbeats and shutdown."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from collector.fanout import FanoutServer
from shared.events import Side, Status, StatusKind, Ticker, Trade
from shared.settings import SettingsError, settings_from_mapping
from shared.settings.server import ServerSettings
from tests.collector.fanout.harness import EXCHANGES, ask, client, conforms, recv, running, subscribed


def tick(exchange: str, symbol: str, bid: float) -> Ticker:
    now = time.time_ns()
    return Ticker(exchange, symbol, now, now, bid, 1.0, bid + 1, 1.0)


def trade(exchange: str, symbol: str, trade_id: int) -> Trade:
    now = time.time_ns()
    return Trade(exchange, symbol, now, now, str(trade_id), Side.BUY, 1.0, 1.0)


def test_hello_then_snapshot_then_live_events_in_order() -> None:
    async def scenario() -> None:
        async with running() as (component, dispatcher):
            dispatcher.publish(tick("binance", "BTC-USDT", 1))
            dispatcher.publish(tick("binance", "BTC-USDT", 2))
            async with client(component.url) as ws:
                hello = await recv(ws)
                assert hello["type"] == "hello" and hello["seq"] == 1 and hello["protocol"] == 1
                assert hello["exchanges"]["bybit"]["symbols"] == ["BTC-USDT", "ETH-USDT"]
                snapshot = await subscribed(ws, channels=["ticker"], id="a")
                assert [e["bid"] for e in snapshot] == [2.0]
                dispatcher.publish(tick("binance", "BTC-USDT", 3))
                live = await recv(ws)
                assert live["type"] == "events" and [e["bid"] for e in live["events"]] == [3.0]
                assert live["seq"] == 4  # hello, subscribed, snapshot, events

    asyncio.run(scenario())


def test_filters_and_wildcards_over_the_wire() -> None:
    async def scenario() -> None:
        async with running(batch_ms=1) as (component, dispatcher):
            async with client(component.url) as usdt, client(component.url) as bybit_trades:
                await recv(usdt)
                await recv(bybit_trades)
                await subscribed(usdt, channels=["ticker", "trade"], symbols=["*-USDT"])
                await subscribed(bybit_trades, channels=["trade"], exchanges=["by*"])
                dispatcher.publish(tick("binance", "ETH-BTC", 1))
                dispatcher.publish(trade("bybit", "BTC-USDT", 1))
                dispatcher.publish(tick("binance", "ETH-USDT", 2))
                dispatcher.publish(trade("binance", "ETH-USDT", 2))
                first = (await recv(usdt))["events"]
                assert [(e["channel"], e["exchange"], e["symbol"]) for e in first] == [
                    ("trade", "bybit", "BTC-USDT"), ("ticker", "binance", "ETH-USDT"), ("trade", "binance", "ETH-USDT")]
                assert [e["trade_id"] for e in (await recv(bybit_trades))["events"]] == ["1"]

    asyncio.run(scenario())


def test_status_events_reach_status_subscribers() -> None:
    async def scenario() -> None:
        async with running(batch_ms=1) as (component, dispatcher):
            async with client(component.url) as ws:
                await recv(ws)
                await subscribed(ws, channels=["status"], exchanges=["bybit"])
                now = time.time_ns()
                dispatcher.publish(Status("binance", None, now, now, StatusKind.DISCONNECTED))
                dispatcher.publish(Status("bybit", "BTC-USDT", now, now, StatusKind.GAP, "book update id 9 after 7"))
                (event,) = (await recv(ws))["events"]
                assert (event["exchange"], event["kind"], event["detail"]) == ("bybit", "gap", "book update id 9 after 7")

    asyncio.run(scenario())


@pytest.mark.parametrize(("request_text", "code", "named"), [
    ("{not json", "bad_json", "not valid JSON"),
    ("[1, 2]", "bad_request", "must be a JSON object"),
    ('{"op": "subscribe", "channels": "ticker", "id": 3}', "bad_request", "$.channels"),
    ('{"op": "subscribe", "extra": 1}', "bad_request", "unknown field `extra`"),
    ('{"id": 4}', "bad_request", "missing field `op`"),
    ('{"op": "stream", "id": 5}', "unknown_op", "'stream'"),
    ('{"op": "subscribe", "channels": ["candles"], "id": 6}', "unknown_channel", "'candles'"),
    ('{"op": "subscribe", "exchanges": ["ftx"], "id": 7}', "unknown_exchange", "'ftx'"),
    ('{"op": "subscribe", "symbols": ["DOGE-USDT"], "id": 8}', "unknown_symbol", "'DOGE-USDT'"),
    ('{"op": "subscribe", "channels": ["book"], "exchanges": ["bybit"], "id": 9}', "unknown_channel", "bybit collects"),
    ('{"op": "ping", "pad": "' + "x" * 600 + '"}', "too_large", "exceeds the limit of 512 bytes"),
])
def test_bad_request_gets_an_error_naming_it_and_the_connection_carries_on(request_text: str, code: str, named: str) -> None:
    async def scenario() -> None:
        async with running(max_request_bytes=512) as (component, _):
            async with client(component.url) as ws:
                await recv(ws)
                error = await ask(ws, request_text)
                assert error["type"] == "error" and error["code"] == code, error
                assert named in error["message"]
                expected_id = json.loads(request_text).get("id") if request_text.startswith("{\"") else None
                assert error["id"] == expected_id
                pong = await ask(ws, {"op": "ping", "id": "after"})
                assert pong["type"] == "pong" and pong["id"] == "after" and pong["seq"] == 3

    asyncio.run(scenario())


def test_message_above_the_hard_cap_closes_only_that_connection() -> None:
    async def scenario() -> None:
        async with running(max_request_bytes=512, max_message_bytes=2048) as (component, _):
            async with client(component.url) as big, client(component.url) as other:
                await recv(big)
                await recv(other)
                await big.send("x" * 4096)
                with pytest.raises(ConnectionClosed) as closed:
                    await recv(big)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
                assert (await ask(other, {"op": "ping"}))["type"] == "pong"

    asyncio.run(scenario())


def test_too_many_subscriptions_is_refused_and_earlier_ones_stay() -> None:
    async def scenario() -> None:
        async with running(max_subscriptions=3) as (component, _):
            async with client(component.url) as ws:
                await recv(ws)
                await subscribed(ws, channels=["ticker", "trade"], exchanges=["binance"])
                error = await ask(ws, {"op": "subscribe", "channels": ["ticker", "trade"], "exchanges": ["bybit"], "id": 2})
                assert error["code"] == "too_many_subscriptions" and error["id"] == 2
                assert "limit of 3" in error["message"]
                reply = await ask(ws, {"op": "unsubscribe", "channels": ["trade"], "exchanges": ["binance"]})
                assert reply["subscriptions"] == [{"channel": "ticker", "exchange": "binance", "symbol": "*"}]

    asyncio.run(scenario())


def test_request_flood_is_rate_limited_with_one_notice_and_the_connection_survives() -> None:
    async def scenario() -> None:
        async with running(requests_per_s=20, request_burst=5) as (component, _):
            async with client(component.url) as ws:
                await recv(ws)
                for i in range(50):
                    await ws.send(json.dumps({"op": "ping", "id": i}))
                frames = []
                while True:
                    try:
                        frames.append(await recv(ws, timeout=0.5))
                    except TimeoutError:
                        break
                pongs = [f for f in frames if f["type"] == "pong"]
                limited = [f for f in frames if f["type"] == "error"]
                assert 5 <= len(pongs) < 25  # the burst, plus what refilled while the flood was sent
                assert len(limited) == 1 and limited[0]["code"] == "rate_limited"
                assert "ignored" in limited[0]["message"] and "retry after" in limited[0]["message"]
                await asyncio.sleep(0.3)
                assert (await ask(ws, {"op": "ping", "id": "later"}))["type"] == "pong"

    asyncio.run(scenario())


def test_token_is_required_by_header_or_query_when_configured() -> None:
    async def scenario() -> None:
        async with running(token="s3cret") as (component, _):
            for url, headers in ((component.url, {}), (component.url, {"Authorization": "Bearer wrong"}),
                                 (component.url + "?token=wrong", {})):
                with pytest.raises(InvalidStatus) as refused:
                    async with client(url, additional_headers=headers):
                        pass
                assert refused.value.response.status_code == 401
                assert b"token" in refused.value.response.body
            async with client(component.url, additional_headers={"Authorization": "Bearer s3cret"}) as ws:
                assert (await recv(ws))["type"] == "hello"
            async with client(component.url + "?token=s3cret") as ws:
                assert (await recv(ws))["type"] == "hello"

    asyncio.run(scenario())


def test_binding_beyond_loopback_requires_a_token() -> None:
    with pytest.raises(SettingsError, match=r"server\.token"):
        settings_from_mapping({"server": {"host": "0.0.0.0"}})
    exposed = ServerSettings.model_construct(**{**ServerSettings().model_dump(), "host": "0.0.0.0", "token": None})
    with pytest.raises(ValueError, match=r"refusing to start without server\.token"):
        FanoutServer(exposed, {})


def test_connections_beyond_the_maximum_are_refused_clearly() -> None:
    async def scenario() -> None:
        async with running(max_connections=2) as (component, _):
            async with client(component.url) as first, client(component.url):
                await recv(first)
                with pytest.raises(InvalidStatus) as refused:
                    async with client(component.url):
                        pass
                assert refused.value.response.status_code == 503
                assert b"at most 2" in refused.value.response.body
            async with client(component.url) as again:  # room again once they left
                assert (await recv(again))["type"] == "hello"

    asyncio.run(scenario())


def test_idle_connection_gets_numbered_heartbeats() -> None:
    async def scenario() -> None:
        async with running(heartbeat_s=0.1) as (component, _):
            async with client(component.url) as ws:
                await recv(ws)
                beats = [await recv(ws, timeout=1.0) for _ in range(3)]
                assert [b["type"] for b in beats] == ["heartbeat"] * 3
                assert [b["seq"] for b in beats] == [2, 3, 4]

    asyncio.run(scenario())


def test_shutdown_delivers_what_waits_then_closes_with_a_reason() -> None:
    async def scenario() -> None:
        async with running(batch_ms=500) as (component, dispatcher):
            async with client(component.url) as ws:
                await recv(ws)
                await subscribed(ws, channels=["trade"])
                dispatcher.publish(trade("binance", "BTC-USDT", 1))  # waits for a 500 ms batch
                await component.stop()
                assert [e["trade_id"] for e in (await recv(ws))["events"]] == ["1"]
                with pytest.raises(ConnectionClosed) as closed:
                    await recv(ws)
                assert closed.value.rcvd is not None
                assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "collector shutting down")

    asyncio.run(scenario())


def test_component_binds_a_free_port_and_detaches_on_stop() -> None:
    async def scenario() -> None:
        async with running() as (component, dispatcher):
            assert component.url.startswith("ws://127.0.0.1:") and not component.url.endswith(":0/")
            await component.stop()
            dispatcher.publish(trade("binance", "BTC-USDT", 1))
            assert dispatcher.consumer_errors == 0 and component.server.hub.published == 0

    asyncio.run(scenario())


def test_disabled_server_binds_nothing_and_ignores_events() -> None:
    async def scenario() -> None:
        async with running(enabled=False) as (component, dispatcher):
            dispatcher.publish(trade("binance", "BTC-USDT", 1))
            assert component.url == "" and component.server.hub.published == 0

    asyncio.run(scenario())


def test_exchange_list_in_hello_matches_the_settings() -> None:
    async def scenario() -> None:
        async with running() as (component, _):
            async with client(component.url) as ws:
                hello = await recv(ws)
                assert set(hello["exchanges"]) == set(EXCHANGES)
                assert hello["exchanges"]["bybit"]["channels"] == ["status", "ticker", "trade"]

    asyncio.run(scenario())


def test_every_frame_the_server_sends_matches_its_published_schema() -> None:
    async def scenario() -> None:
        async with running(heartbeat_s=0.2, batch_ms=1) as (component, dispatcher):
            now = time.time_ns()
            dispatcher.publish(tick("binance", "BTC-USDT", 1))
            dispatcher.publish(Status("binance", None, now, now, StatusKind.CONNECTED, "wss://x"))
            async with client(component.url) as ws:
                seen = {conforms(await recv(ws))["type"]}
                await ws.send(json.dumps({"op": "subscribe", "id": 1}))
                for _ in range(2):
                    seen.add(conforms(await recv(ws))["type"])
                dispatcher.publish(trade("bybit", "ETH-USDT", 1))
                seen.add(conforms(await recv(ws))["type"])
                for request in ({"op": "ping", "id": 2}, {"op": "nope"}, {"op": "unsubscribe", "id": "u"}):
                    seen.add(conforms(await ask(ws, request))["type"])
                seen.add(conforms(await recv(ws, timeout=1.0))["type"])
                assert seen == {"hello", "subscribed", "snapshot", "events", "pong", "error", "unsubscribed", "heartbeat"}

    asyncio.run(scenario())
