"""Replaying real recordings through a local replay server into cryptofeed and the collector's ingest.

The recordings live outside the project, in ../shared/captures (relative to the project root); tests
that need them skip, saying where they looked, when the folder is absent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptofeed import FeedHandler
from cryptofeed.symbols import Symbols
from pydantic import SecretStr

from collector.dispatch import Dispatcher
from collector.feeds import build_feed
from collector.ingest import FeedIngest, ReceiveClock
from shared.capture import Header
from shared.events import Channel, Event, Status, StatusKind
from shared.settings import EndpointKind, ExchangeSettings, Settings
from shared.settings.collector import CollectorSettings
from sim.replay import ReplayServer

CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "captures"
COLLECTED = {"ticker": Channel.TICKER, "trades": Channel.TRADE, "l2_book": Channel.BOOK}


@pytest.fixture(scope="session")
def captures() -> Callable[[str], Path]:
    def path(exchange: str) -> Path:
        file = CAPTURES / f"{exchange.upper()}.jsonl.zst"
        if not file.is_file():
            pytest.skip(f"recorded capture {file.name} not found in {CAPTURES} (the recordings live in ../shared/captures)")
        return file

    return path


@pytest.fixture(autouse=True)
def forget_cryptofeed_symbols() -> Iterator[None]:
    """cryptofeed caches each exchange's symbol list per process: leave no recorded list to other tests."""
    yield
    Symbols.clear()


@pytest.fixture(scope="session")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tls")


def header_symbols(header: Header) -> list[str]:
    """Every symbol the recording subscribed to on a channel the collector collects (derivatives too)."""
    symbols: list[str] = []
    for channel in COLLECTED:
        symbols += [s for s in header.config.get(channel, []) if s not in symbols]
    return symbols


def replay_settings(server: ReplayServer, exchanges: list[str] | None = None, like: Header | None = None) -> Settings:
    """Settings following `server`, with the recordings' own symbols and channels (or those of `like`).

    Built without validation: the settings validator accepts BASE-QUOTE spot symbols only, and the
    Bybit recording also has perpetuals (BTC-USDT-PERP), which the collector's feeds handle as they are.
    """
    entries = {}
    for recording in server.recordings:
        if exchanges is not None and recording.exchange not in exchanges:
            continue
        endpoints = server.endpoints[recording.exchange]
        header = like or recording.header
        channels = tuple(ours for theirs, ours in COLLECTED.items() if header.config.get(theirs))
        entries[recording.exchange] = ExchangeSettings.model_construct(
            endpoint=EndpointKind.CUSTOM, symbols=tuple(header_symbols(header)), channels=channels,
            rest_url=endpoints.rest_url, ws_url=endpoints.ws_url, ca_file=str(server.ca_file),
            key_id=SecretStr("replay"), key_secret=SecretStr("replay"), key_passphrase=SecretStr("replay"),
        )
    return Settings.model_construct(exchanges=entries, collector=CollectorSettings(stale_timeout_s=-1))


@dataclass
class Replayed:
    exchange: str
    counts: dict[str, int]
    events: list[Event] = field(default_factory=list)

    def statuses(self, kind: StatusKind) -> list[Status]:
        return [e for e in self.events if isinstance(e, Status) and e.kind is kind]


def collect(server: ReplayServer, settings: Settings, exchange: str, raw_data_collection: Any = None, timeout: float = 40.0) -> Replayed:
    """Run the collector's feed for `exchange` against `server` until the feed has handled every
    recorded frame; returns the normalized events."""
    dispatcher = Dispatcher()
    events: list[Event] = []
    dispatcher.attach(events.append)
    frames = sum(script.frames for script in next(r for r in server.recordings if r.exchange == exchange).scripts)
    handled = 0
    # cryptofeed caches symbol lists per process: this recording's list must come from this server.
    Symbols.clear()

    async def run() -> FeedIngest:
        feed, ingest = await asyncio.to_thread(build_feed, exchange, settings, dispatcher, ReceiveClock(), "<test>", 10.0)
        parse = feed.message_handler

        async def counted(message: Any, connection: Any, timestamp: float) -> None:
            nonlocal handled
            try:
                await parse(message, connection, timestamp)
            finally:
                handled += 1

        feed.message_handler = counted
        handler = FeedHandler(config={"log": {"disabled": True}, "uvloop": False}, raw_data_collection=raw_data_collection)
        handler.add_feed(feed)
        handler.run(start_loop=False, install_signal_handlers=False)
        deadline = time.monotonic() + timeout
        try:
            while handled < frames:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{exchange}: {handled} of {frames} recorded frames handled after {timeout} s: {ingest.counts}")
                await asyncio.sleep(0.02)
        finally:
            await handler.stop_async()
        return ingest

    ingest = asyncio.run(run())
    return Replayed(exchange, dict(ingest.counts), events)


class Harness:
    """What the replay tests share (conftest functions cannot be imported under importlib mode)."""

    header_symbols = staticmethod(header_symbols)
    settings = staticmethod(replay_settings)
    collect = staticmethod(collect)


@pytest.fixture(scope="session")
def harness() -> Harness:
    return Harness()
