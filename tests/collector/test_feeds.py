"""Building a feed (collector/feeds.py) against a real replay server on loopback: retried only while
the venue is not up yet, refused at once, with cryptofeed's own reason, when cryptofeed cannot build it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptofeed.symbols import Symbols

from collector.dispatch import Dispatcher
from collector.feeds import build_feed
from collector.ingest import ReceiveClock
from shared.capture import Capture, Header, Http
from shared.events import Channel
from shared.settings import EndpointKind, ExchangeSettings, Settings, SettingsError
from shared.settings.collector import CollectorSettings
from sim.replay import ReplayServer
from sim.replay.recording import Recording, recording_from

BINANCE_INFO = {"symbols": [{"symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT", "status": "TRADING",
                             "filters": [{"filterType": "PRICE_FILTER", "tickSize": "0.01"}]}]}


@pytest.fixture(autouse=True)
def forget_cryptofeed_symbols() -> Iterator[None]:
    yield
    Symbols.clear()


def binance_recording(symbol_list: object | None) -> Recording:
    records = [] if symbol_list is None else [Http(conn="B.http.1", ts=1.0, url="https://api.binance.com/api/v3/exchangeInfo",
                                                    data=json.dumps(symbol_list))]
    return recording_from([Capture(Path("BINANCE.jsonl.zst"), Header(exchange="BINANCE"), records)])


def settings_for(rest_url: str, ws_url: str, ca_file: Path | None) -> Settings:
    exchange = ExchangeSettings.model_construct(endpoint=EndpointKind.CUSTOM, symbols=("BTC-USDT",), channels=(Channel.TRADE,),
                                                rest_url=rest_url, ws_url=ws_url, ca_file=ca_file and str(ca_file),
                                                key_id=None, key_secret=None, key_passphrase=None)
    return Settings.model_construct(exchanges={"binance": exchange}, collector=CollectorSettings(stale_timeout_s=-1))


def build(settings: Settings, wait_s: float = 10.0) -> object:
    feed, _ = build_feed("binance", settings, Dispatcher(), ReceiveClock(), "<test>", wait_s)
    return feed


@pytest.mark.parametrize(("symbol_list", "reason"), [({}, "KeyError: 'symbols'"), (None, "404")],
                         ids=["malformed-symbol-list", "symbol-list-not-found"])
def test_a_feed_cryptofeed_cannot_build_fails_at_once_with_cryptofeeds_reason(tmp_path: Path, symbol_list: object | None,
                                                                                reason: str) -> None:
    with ReplayServer([binance_recording(symbol_list)], tmp_path) as server:
        settings = settings_for(server.rest_url("binance"), server.ws_url("binance"), server.ca_file)
        start = time.monotonic()
        with pytest.raises(SettingsError) as raised:
            build(settings, wait_s=10.0)
        elapsed = time.monotonic() - start
    assert elapsed < 2.0, "no retrying what waiting cannot cure"
    assert raised.value.key == "exchanges.binance"
    assert "binance" in raised.value.problem and reason in raised.value.problem
    assert "cannot load the symbol list" not in str(raised.value)


def test_a_venue_that_is_not_up_yet_is_waited_for(tmp_path: Path) -> None:
    port = _two_free_ports()
    # Only the symbol list is fetched while building: no websocket, so no CA file (the server makes it when it starts).
    settings = settings_for(f"http://127.0.0.1:{port}", f"wss://127.0.0.1:{port + 1}", None)
    server = ReplayServer([binance_recording(BINANCE_INFO)], tmp_path, port=port)
    starter = threading.Timer(0.5, server.start)
    starter.start()
    try:
        start = time.monotonic()
        feed = build(settings, wait_s=10.0)
        elapsed = time.monotonic() - start
    finally:
        starter.join()
        server.stop()
    assert feed.normalized_symbol_mapping == {"BTC-USDT": "BTCUSDT"}  # type: ignore[attr-defined]
    assert elapsed >= 0.4, "the first attempts met a closed port"


def _two_free_ports() -> int:
    """A port p with p + 1 also free (the replay server listens on both for one exchange)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise RuntimeError("no two consecutive free ports")
