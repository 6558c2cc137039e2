"""Raw capture (collector/capture.py): what the collector's feeds see, recorded so it replays again."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptofeed.connection import Connection

from collector.capture import RawCapture, raw_capture
from shared.capture import Connect, Http, Record, Recv, Send, read_capture
from shared.events import Channel
from sim.replay import ReplayServer


def frames_by_connection(records: list[Record]) -> list[tuple[str | bytes, ...]]:
    """The received frames of each connection, connections in a canonical order (ids differ between sessions)."""
    frames: dict[str, list[str | bytes]] = defaultdict(list)
    for record in records:
        if isinstance(record, Recv):
            frames[record.conn].append(record.payload)
    return sorted((tuple(f) for f in frames.values()), key=lambda f: (len(f), str(f[0])))


@pytest.mark.parametrize("exchange", ["binance", "bybit", "gateio", "kucoin"])
def test_raw_capture_of_a_replay_replays_to_the_same_events(exchange: str, captures: Callable[[str], Path], tls_dir: Path,
                                                            tmp_path: Path, harness: Any) -> None:
    original = read_capture(captures(exchange))
    capture = raw_capture(tmp_path / "raw", rotate_bytes=64 << 20)
    try:
        with ReplayServer([original.path], tls_dir) as server:
            first = harness.collect(server, harness.settings(server), exchange, raw_data_collection=capture)
    finally:
        files = capture.close()
    assert Connection.raw_data_callback is None, "closing uninstalls the callback"
    assert capture.dropped == 0
    assert len(files) == 1 and files[0].parent == tmp_path / "raw"

    recorded = read_capture(files[0])
    assert recorded.header.exchange == exchange.upper()
    assert set(recorded.header.config) == {"l2_book", "ticker", "trades"} if exchange != "bybit" else {"l2_book", "trades"}
    # Every frame the server played reached the client (the collector subscribed less than the
    # recording did, but frames for other channels are still received, and recorded).
    assert frames_by_connection(recorded.records) == frames_by_connection(original.records)
    assert any(isinstance(r, Send) for r in recorded.records) or exchange == "binance"  # binance subscribes in the URL
    assert sum(isinstance(r, Connect) for r in recorded.records) >= len({r.conn for r in original.records if isinstance(r, Connect)})
    assert any(isinstance(r, Http) and r.method is None for r in recorded.records), "the symbol list, fetched while the feed was built"

    with ReplayServer(files, tls_dir) as server:
        # The new header holds cryptofeed's subscription, which lacks Bybit's tickers (the collector
        # derives them from the book): collect what the first run collected.
        second = harness.collect(server, harness.settings(server, like=original.header), exchange)
        assert server.unanswered() == {}
    market = (Channel.TICKER, Channel.TRADE, Channel.BOOK)
    assert {c: second.counts[c] for c in market} == {c: first.counts[c] for c in market}
    assert first.counts[Channel.BOOK] > 0


def test_kucoin_token_request_without_a_feed_id_is_filed_by_host(tmp_path: Path) -> None:
    capture = RawCapture(tmp_path)

    async def traffic() -> None:
        # KuCoin's constructor posts for a token without its feed id, then lists symbols with it.
        capture.sync_callback('{"data": {}}', 1.0, None, endpoint="http://127.0.0.1:5/api/v1/bullet-public")  # type: ignore[arg-type]
        capture.sync_callback('{"data": []}', 2.0, "KUCOIN", endpoint="http://127.0.0.1:5/api/v1/symbols")
        await capture(None, 3.0, "KUCOIN.ws.1", connect="wss://127.0.0.1:6/endpoint?token=T")
        await capture('{"type":"welcome"}', 4.0, "KUCOIN.ws.1")
        await capture(b"\x00\x01", 5.0, "KUCOIN.ws.1")
        await capture('{"id":1}', 6.0, "KUCOIN.ws.1", send="wss://127.0.0.1:6/endpoint?token=T")
        await capture('{"snapshot":1}', 7.0, "KUCOIN.http.2", endpoint="http://127.0.0.1:5/api/v3/market/orderbook/level2?symbol=X")
        capture.write_header("KUCOIN", '{"l2_book": ["BTC-USDT"]}')

    asyncio.run(traffic())
    [path] = capture.close()
    recorded = read_capture(path)
    assert recorded.header.config == {"l2_book": ["BTC-USDT"]}
    kinds = [(type(r).__name__, r.conn) for r in recorded.records]
    assert kinds == [("Http", "KUCOIN.http.sync"), ("Http", "KUCOIN.http.sync"), ("Connect", "KUCOIN.ws.1"), ("Recv", "KUCOIN.ws.1"),
                     ("Recv", "KUCOIN.ws.1"), ("Send", "KUCOIN.ws.1"), ("Http", "KUCOIN.http.2")]
    http = [r for r in recorded.records if isinstance(r, Http)]
    assert http[0].url.endswith("/bullet-public") and http[0].method is None
    assert http[2].method == "GET"
    binary = recorded.records[4]
    assert isinstance(binary, Recv) and binary.payload == b"\x00\x01" and binary.b64 is not None


def test_records_of_exchanges_without_a_header_are_still_written(tmp_path: Path) -> None:
    capture = RawCapture(tmp_path)
    capture.sync_callback("[]", 1.0, "GATEIO", endpoint="http://127.0.0.1:7/api/v4/spot/currency_pairs")
    capture.sync_callback("{}", 1.5, None, endpoint="http://127.0.0.1:9/unknown")  # type: ignore[arg-type]
    files = capture.close()
    assert [read_capture(f).header.exchange for f in files] == ["GATEIO"]
    assert len(read_capture(files[0]).records) == 2, "with one exchange, a request without a feed id can only be its own"


def test_an_unreadable_feed_config_never_breaks_the_feed_handler(tmp_path: Path) -> None:
    capture = RawCapture(tmp_path)
    capture.write_header("GATEIO", "not json")
    capture.sync_callback("[]", 1.0, "GATEIO", endpoint="http://127.0.0.1:7/api/v4/spot/currency_pairs")
    [path] = capture.close()
    recorded = read_capture(path)
    assert recorded.header.config == {} and len(recorded.records) == 1
