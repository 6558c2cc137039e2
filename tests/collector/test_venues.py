"""Per-venue fixes of cryptofeed behaviour, on cryptofeed's own feed objects (no network)."""

from __future__ import annotations

from cryptofeed.defines import L2_BOOK, PERPETUAL, SPOT, TICKER, TRADES
from cryptofeed.symbols import Symbols
from cryptofeed.types import OrderBook

from collector.venues import VENUES


def test_bybit_subscribing_one_connection_keeps_the_other_connections_state() -> None:
    mapping = {"BTC-USDT": "BTC/USDT", "BTC-USDT-PERP": "BTCUSDT"}
    Symbols.set("BYBIT", mapping, {"instrument_type": {"BTC-USDT": SPOT, "BTC-USDT-PERP": PERPETUAL}, "tick_size": {}})
    try:
        feed_cls = VENUES["bybit"].feed
        feed = feed_cls(symbols=["BTC-USDT", "BTC-USDT-PERP"], channels=[L2_BOOK, TRADES, TICKER], callbacks={})
        connections = {conn.address.rsplit("/", 1)[-1]: conn for conn, *_ in feed.connect()}
        spot, linear = connections["spot"], connections["linear"]
        feed._Bybit__reset(linear)  # the perpetual connection subscribes first and gets its snapshots
        feed.tickers["BTC-USDT-PERP"] = {"bid1Price": "1"}
        feed._l2_book["BTC-USDT-PERP"] = OrderBook("BYBIT", "BTC-USDT-PERP")
        feed._l2_book["BTC-USDT"] = OrderBook("BYBIT", "BTC-USDT")

        feed._Bybit__reset(spot)  # what cryptofeed's subscribe() does first on (re)connect
        assert "BTC-USDT-PERP" in feed.tickers and "BTC-USDT-PERP" in feed._l2_book
        assert "BTC-USDT" not in feed._l2_book

        feed._Bybit__reset(linear)
        assert "BTC-USDT-PERP" not in feed.tickers and "BTC-USDT-PERP" not in feed._l2_book
        assert feed_cls.tickers == {}, "cryptofeed's class-level dict is never mutated"
    finally:
        Symbols.clear()
