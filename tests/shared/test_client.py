"""The reference client against real servers: reconnect and resubscribe across collector restarts, crashes and
freezes (real signals to a real collector process), sequence-gap reports, and fatal refusals."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve

from collector.dispatch import Dispatcher
from collector.fanout import fanout_component
from shared.client import ClientError, FanoutClient, Filter, Item, Notice, NoticeKind, Received
from shared.events import Ticker, Trade
from shared.settings import settings_from_mapping
from tests.ports import free_port

PUBLISHER = Path(__file__).resolve().parents[1] / "collector" / "fanout" / "publisher.py"


async def start_publisher(port: int, *args: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(sys.executable, str(PUBLISHER), "--port", str(port), *args,
                                                   stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
    assert line.startswith(b"ready "), line
    return process


@asynccontextmanager
async def publisher(port: int, *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await start_publisher(port, *args)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


class Recorder:
    """Runs a client's stream in a task of its own (as a real consumer would) and records every item."""

    def __init__(self, client: FanoutClient) -> None:
        self.items: list[Item] = []
        self._cursor = 0
        self._arrived = asyncio.Condition()
        self._task = asyncio.create_task(self._run(client))

    async def _run(self, client: FanoutClient) -> None:
        async with aclosing(client.stream()) as stream:
            async for item in stream:
                async with self._arrived:
                    self.items.append(item)
                    self._arrived.notify_all()

    async def until(self, done: Callable[[Item], bool], timeout: float = 10.0) -> Item:
        """Wait for the first item not yet awaited that satisfies `done`."""
        start = self._cursor
        async with asyncio.timeout(timeout), self._arrived:
            while True:
                for i in range(start, len(self.items)):
                    if done(self.items[i]):
                        self._cursor = i + 1
                        return self.items[i]
                start = len(self.items)
                if self._task.done():
                    self._task.result()
                    raise AssertionError("stream ended")
                await self._arrived.wait()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def failure(self) -> BaseException | None:
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(self._task), 10)
        return self._task.exception()


def notice(kind: NoticeKind) -> Callable[[Item], bool]:
    return lambda item: isinstance(item, Notice) and item.kind is kind


def live_trade(item: Item) -> bool:
    return isinstance(item, Received) and not item.snapshot and isinstance(item.event, Trade)


def test_client_reconnects_and_resubscribes_after_the_collector_is_killed_and_restarted() -> None:
    async def scenario() -> None:
        port = free_port()
        client = FanoutClient(f"ws://127.0.0.1:{port}/", [Filter(channels=("ticker", "trade"), exchanges=("binance",))],
                              min_backoff_s=0.05, max_backoff_s=0.2)
        async with publisher(port) as first:
            recorder = Recorder(client)
            await recorder.until(notice(NoticeKind.CONNECTED))
            await recorder.until(live_trade)
            first.send_signal(signal.SIGKILL)
            await first.wait()
            await recorder.until(notice(NoticeKind.DISCONNECTED))
            await asyncio.sleep(0.3)  # reconnect attempts fail while no collector listens
            async with publisher(port):
                back = await recorder.until(notice(NoticeKind.RECONNECTED))
                await recorder.until(lambda item: live_trade(item) and int(item.event.trade_id) > 40)  # type: ignore[union-attr]
            await recorder.close()
        seen = recorder.items
        restarted = seen[seen.index(back) + 1:]
        snapshot = [item.event for item in restarted if isinstance(item, Received) and item.snapshot]
        assert snapshot and all(e.exchange == "binance" and type(e).__name__ == "Ticker" for e in snapshot)
        first_live = next(i for i, item in enumerate(restarted) if isinstance(item, Received) and not item.snapshot)
        assert all(isinstance(item, Received) and item.snapshot for item in restarted[:first_live])
        trades = [int(item.event.trade_id) for item in restarted if live_trade(item)]  # type: ignore[union-attr]
        assert trades == sorted(trades) and trades[-1] > 40
        assert {item.event.exchange for item in seen if isinstance(item, Received)} == {"binance"}
        assert client.connects == 2 and client.gaps == 0

    asyncio.run(scenario())


def test_graceful_collector_stop_reaches_the_client_as_a_close_with_a_reason() -> None:
    async def scenario() -> None:
        port = free_port()
        async with publisher(port) as process:
            recorder = Recorder(FanoutClient(f"ws://127.0.0.1:{port}/", min_backoff_s=0.05, max_backoff_s=0.2))
            await recorder.until(live_trade)
            process.send_signal(signal.SIGTERM)
            lost = await recorder.until(notice(NoticeKind.DISCONNECTED))
            assert await process.wait() == 0
            await recorder.close()
        assert isinstance(lost, Notice) and "code 1001, 'collector shutting down'" in lost.message

    asyncio.run(scenario())


def test_frozen_collector_is_detected_by_its_silence_and_rejoined_when_it_resumes() -> None:
    async def scenario() -> None:
        port = free_port()
        client = FanoutClient(f"ws://127.0.0.1:{port}/", min_backoff_s=0.05, max_backoff_s=0.2, open_timeout_s=0.3)
        async with publisher(port, "--heartbeat", "0.1") as process:
            recorder = Recorder(client)
            await recorder.until(live_trade)
            process.send_signal(signal.SIGSTOP)
            try:
                silent = await recorder.until(notice(NoticeKind.DISCONNECTED))
                await asyncio.sleep(1.0)  # reconnect attempts time out against the frozen process meanwhile
            finally:
                process.send_signal(signal.SIGCONT)
            await recorder.until(notice(NoticeKind.RECONNECTED))
            await recorder.until(live_trade)
            await recorder.close()
        assert isinstance(silent, Notice) and "presuming the server dead" in silent.message

    asyncio.run(scenario())


def test_sequence_gap_is_reported_with_the_number_of_missing_frames() -> None:
    async def crafted(connection: ServerConnection) -> None:
        await connection.send('{"type":"hello","seq":1,"protocol":1,"heartbeat_s":5.0,"limits":{"max_request_bytes":1,'
                              '"max_subscriptions":1,"requests_per_s":1.0,"request_burst":1,"client_buffer_events":1,'
                              '"max_frame_bytes":1},"exchanges":{}}')
        await connection.recv()
        await connection.send('{"type":"subscribed","seq":2,"id":"sub-0","added":[],"subscriptions":[]}')
        await connection.send('{"type":"events","seq":5,"events":[]}')
        await connection.wait_closed()

    async def scenario() -> None:
        async with serve(crafted, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            client = FanoutClient(f"ws://127.0.0.1:{port}/")
            recorder = Recorder(client)
            gap = await recorder.until(notice(NoticeKind.GAP))
            await recorder.close()
        assert isinstance(gap, Notice) and gap.missed == 2 and "frame 5 after 2" in gap.message
        assert client.gaps == 2

    asyncio.run(scenario())


@asynccontextmanager
async def in_process_collector(**server: object) -> AsyncIterator[str]:
    settings = settings_from_mapping({"exchanges": {"binance": {"endpoint": "live", "symbols": ["BTC-USDT"]}},
                                      "server": {"port": 0, **server}})
    component = fanout_component(settings, Dispatcher())
    await component.start()
    try:
        yield component.url
    finally:
        await component.stop()


def test_wrong_token_is_fatal_not_retried() -> None:
    async def scenario() -> None:
        async with in_process_collector(token="right") as url:
            failure = await Recorder(FanoutClient(url, token="wrong")).failure()
            assert isinstance(failure, ClientError) and "HTTP 401" in str(failure)
            recorder = Recorder(FanoutClient(url, token="right"))
            await recorder.until(notice(NoticeKind.CONNECTED))
            await recorder.close()

    asyncio.run(scenario())


def test_rejected_subscription_is_fatal_and_names_the_problem() -> None:
    async def scenario() -> None:
        async with in_process_collector() as url:
            failure = await Recorder(FanoutClient(url, [Filter(symbols=("DOGE-USDT",))])).failure()
            assert isinstance(failure, ClientError)
            assert "unknown_symbol" in str(failure) and "'DOGE-USDT'" in str(failure)

    asyncio.run(scenario())


def test_refusal_for_too_many_connections_is_reported_and_retried() -> None:
    async def scenario() -> None:
        async with in_process_collector(max_connections=1) as url:
            first = Recorder(FanoutClient(url))
            await first.until(notice(NoticeKind.CONNECTED))
            second = Recorder(FanoutClient(url, min_backoff_s=0.05, max_backoff_s=0.1))
            refused = await second.until(notice(NoticeKind.DISCONNECTED))
            assert isinstance(refused, Notice) and "HTTP 503" in refused.message and "at most 1" in refused.message
            await first.close()
            await second.until(notice(NoticeKind.CONNECTED))
            await second.close()

    asyncio.run(scenario())


HELLO = ('{"type":"hello","seq":1,"protocol":1,"heartbeat_s":5.0,"limits":{"max_request_bytes":1,"max_subscriptions":1,'
         '"requests_per_s":1.0,"request_burst":1,"client_buffer_events":1,"max_frame_bytes":1},"exchanges":{}}')


def test_undecodable_frame_raises_client_error_naming_type_seq_and_field() -> None:
    async def crafted(connection: ServerConnection) -> None:
        await connection.send(HELLO)
        await connection.recv()
        await connection.send('{"type":"subscribed","seq":2,"id":"sub-0","added":[],"subscriptions":[]}')
        await connection.send('{"type":"events","seq":3,"events":[{"channel":"ticker","exchange":"gateio","symbol":"BTC-USDT",'
                              '"ts_event":null,"ts_recv":1,"bid":null,"bid_size":null,"ask":2.0,"ask_size":null}]}')
        await connection.wait_closed()

    async def scenario() -> None:
        async with serve(crafted, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            failure = await Recorder(FanoutClient(f"ws://127.0.0.1:{port}/")).failure()
        assert isinstance(failure, ClientError)
        assert "events frame seq 3" in str(failure) and "$.events[0].bid" in str(failure)

    asyncio.run(scenario())


def test_ticker_without_sizes_from_a_real_server_decodes_with_null_sizes() -> None:
    """The first real Gate.io ticker (no sizes) once ended `spreadlake tail` in a traceback."""
    async def scenario() -> None:
        settings = settings_from_mapping({"exchanges": {"gateio": {"endpoint": "live", "symbols": ["BTC-USDT"]}},
                                          "server": {"port": 0, "batch_ms": 0}})
        dispatcher = Dispatcher()
        component = fanout_component(settings, dispatcher)
        await component.start()
        try:
            recorder = Recorder(FanoutClient(component.url))
            await recorder.until(notice(NoticeKind.CONNECTED))
            ticker = Ticker("gateio", "BTC-USDT", None, 1_700_000_000_000_000_000, 65000.0, None, 65000.5, None)
            for _ in range(50):  # until the subscription is live on the server side
                dispatcher.publish(ticker)
                with contextlib.suppress(TimeoutError):
                    received = await recorder.until(lambda item: isinstance(item, Received), timeout=0.1)
                    break
            assert isinstance(received, Received) and received.event == ticker
            await recorder.close()
        finally:
            await component.stop()

    asyncio.run(scenario())
