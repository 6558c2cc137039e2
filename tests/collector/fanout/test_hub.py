"""The hub without sockets: routing by filters, snapshot-then-live, shared batches, and subscription changes."""

from __future__ import annotations

import json

import pytest

from collector.fanout.hub import Hub, Subscriber
from collector.fanout.subscriptions import Catalog
from shared.events import BookTop, Event, Side, Status, StatusKind, Ticker, Trade
from shared.protocol import RequestError, Subscribe, Unsubscribe
from shared.settings import settings_from_mapping

SETTINGS = settings_from_mapping({"exchanges": {
    "binance": {"endpoint": "live", "symbols": ["BTC-USDT", "ETH-USDT"]},
    "bybit": {"endpoint": "live", "symbols": ["BTC-USDT", "ETH-USDT"]},
}})


def hub(max_subscriptions: int = 50) -> Hub:
    return Hub(Catalog(SETTINGS.exchanges), buffer_events=1000, max_frame_bytes=100_000, max_subscriptions=max_subscriptions)


def tick(exchange: str, symbol: str, bid: float) -> Ticker:
    return Ticker(exchange, symbol, 1, 2, bid, 1.0, bid + 1, 1.0)


def trade(exchange: str, symbol: str, trade_id: int) -> Trade:
    return Trade(exchange, symbol, 1, 2, str(trade_id), Side.SELL, 10.0, 1.0)


def book(exchange: str, symbol: str, bid: float) -> BookTop:
    return BookTop(exchange, symbol, 1, 2, ((bid, 1.0),), ((bid + 1, 1.0),))


class Client:
    """A subscriber whose frames are taken at each wake-up, as the server's fast path does."""

    def __init__(self, h: Hub) -> None:
        self.frames: list[dict] = []
        self.subscriber: Subscriber = h.connect(self.wake)

    def wake(self) -> None:
        self.frames.extend(json.loads(f) for f in self.subscriber.outbox.take_frames())

    def of_type(self, kind: str) -> list[dict]:
        return [f for f in self.frames if f["type"] == kind]

    def live(self) -> list[dict]:
        return [e for f in self.of_type("events") for e in f["events"]]


def publish(h: Hub, *events: Event) -> None:
    for event in events:
        h.publish(event)
    h.flush()


def test_snapshot_holds_the_latest_ticker_and_book_of_matching_streams_then_live_follows() -> None:
    h = hub()
    publish(h, tick("binance", "BTC-USDT", 1), tick("binance", "BTC-USDT", 2), book("binance", "BTC-USDT", 5),
            tick("bybit", "BTC-USDT", 3), tick("binance", "ETH-USDT", 4), trade("binance", "BTC-USDT", 1))
    client = Client(h)
    h.subscribe(client.subscriber, Subscribe(channels=["ticker", "book", "trade"], exchanges=["binance"], symbols=["BTC-USDT"], id=1))
    assert [f["type"] for f in client.frames] == ["subscribed", "snapshot"]
    snapshot = client.frames[1]
    assert snapshot["id"] == 1 and snapshot["final"] is True
    assert sorted((e["channel"], e.get("bid"), e.get("bids")) for e in snapshot["events"]) == [
        ("book", None, [[5.0, 1.0]]), ("ticker", 2.0, None)]  # latest only; trades are not snapshotted
    publish(h, tick("binance", "BTC-USDT", 6), tick("bybit", "BTC-USDT", 7))
    assert [e["bid"] for e in client.live()] == [6.0]
    assert [f["seq"] for f in client.frames] == [1, 2, 3]


def test_events_published_before_a_subscription_are_not_replayed_live() -> None:
    h = hub()
    h.publish(tick("binance", "BTC-USDT", 1))  # waiting for a flush when the client subscribes
    client = Client(h)
    h.subscribe(client.subscriber, Subscribe(id=1))
    h.publish(tick("binance", "BTC-USDT", 2))
    h.flush()
    assert [e["bid"] for e in client.of_type("snapshot")[0]["events"]] == [1.0]
    assert [e["bid"] for e in client.live()] == [2.0]


def test_filters_and_wildcards_select_streams() -> None:
    h = hub()
    btc, trades = Client(h), Client(h)
    h.subscribe(btc.subscriber, Subscribe(channels=["*"], exchanges=["*"], symbols=["BTC-*"]))
    h.subscribe(trades.subscriber, Subscribe(channels=["trade"], exchanges=["by*"]))
    publish(h, tick("binance", "BTC-USDT", 1), trade("bybit", "ETH-USDT", 1), trade("bybit", "BTC-USDT", 2),
            trade("binance", "BTC-USDT", 3))
    assert [(e["channel"], e["exchange"], e["symbol"]) for e in btc.live()] == [
        ("ticker", "binance", "BTC-USDT"), ("trade", "bybit", "BTC-USDT"), ("trade", "binance", "BTC-USDT")]
    assert [e["trade_id"] for e in trades.live()] == ["1", "2"]


def test_status_reaches_status_subscribers_and_its_latest_is_in_the_snapshot() -> None:
    h = hub()
    status = Status("bybit", None, 1, 2, StatusKind.DISCONNECTED, "socket closed")
    publish(h, status, tick("bybit", "BTC-USDT", 1))
    client = Client(h)
    h.subscribe(client.subscriber, Subscribe(channels=["status"], exchanges=["bybit"], symbols=["ETH-USDT"]))
    assert [e["kind"] for e in client.of_type("snapshot")[0]["events"]] == ["disconnected"]
    publish(h, Status("bybit", None, 3, 4, StatusKind.CONNECTED), Status("binance", None, 3, 4, StatusKind.GAP))
    assert [(e["exchange"], e["kind"]) for e in client.live()] == [("bybit", "connected")]


def test_clients_with_the_same_filters_share_one_batch_object() -> None:
    h = hub()
    received: list[list[object]] = [[], []]
    subscribers = [h.connect(lambda: None) for _ in range(2)]
    for s in subscribers:
        h.subscribe(s, Subscribe(channels=["trade"]))
        s.outbox.take_frames()
    publish(h, trade("binance", "BTC-USDT", 1), trade("bybit", "ETH-USDT", 2))
    for i, s in enumerate(subscribers):
        received[i] = list(s.outbox.queued())
    assert len(received[0]) == 1 and received[0][0] is received[1][0]
    assert h.status()["views"] == 1


def test_unsubscribe_stops_delivery_and_reports_what_is_left() -> None:
    h = hub()
    client = Client(h)
    h.subscribe(client.subscriber, Subscribe(channels=["ticker", "trade"], exchanges=["binance"]))
    h.unsubscribe(client.subscriber, Unsubscribe(channels=["ticker"], exchanges=["binance"], id="u"))
    reply = client.of_type("unsubscribed")[0]
    assert reply["id"] == "u"
    assert reply["removed"] == [{"channel": "ticker", "exchange": "binance", "symbol": "*"}]
    assert reply["subscriptions"] == [{"channel": "trade", "exchange": "binance", "symbol": "*"}]
    publish(h, tick("binance", "BTC-USDT", 1), trade("binance", "BTC-USDT", 1))
    assert [e["channel"] for e in client.live()] == ["trade"]


def test_unsubscribe_with_an_unknown_name_is_an_error_not_a_silent_no_op() -> None:
    h = hub()
    client = Client(h)
    h.subscribe(client.subscriber, Subscribe(channels=["trade"]))
    with pytest.raises(RequestError, match="unknown_channel"):
        h.unsubscribe(client.subscriber, Unsubscribe(channels=["trades"], id=3))
    assert len(client.subscriber.patterns) == 1


def test_a_rejected_subscription_changes_nothing() -> None:
    h = hub(max_subscriptions=2)
    client = Client(h)
    h.subscribe(client.subscriber, Subscribe(channels=["trade"], exchanges=["binance"]))
    with pytest.raises(RequestError, match="too_many_subscriptions"):
        h.subscribe(client.subscriber, Subscribe(channels=["ticker", "book"], exchanges=["binance"]))
    with pytest.raises(RequestError, match="unknown_symbol"):
        h.subscribe(client.subscriber, Subscribe(symbols=["DOGE-USDT"]))
    assert len(client.subscriber.patterns) == 1


def test_disconnected_client_is_forgotten() -> None:
    h = hub()
    client = Client(h)
    h.subscribe(client.subscriber, Subscribe())
    h.disconnect(client.subscriber)
    before = len(client.frames)
    publish(h, trade("binance", "BTC-USDT", 1))
    assert len(client.frames) == before
    assert h.status()["clients"] == 0 and h.status()["views"] == 0
