"""Redirecting a cryptofeed feed class keeps its id, paths and parsing; only hosts change."""

from __future__ import annotations

import ssl

from cryptofeed.exchanges import Bybit, Gateio, KuCoin

from collector.redirect import RewritingHTTPSync, rebase, redirect


def test_rebase_keeps_path_and_query() -> None:
    assert rebase("wss://stream.bybit.com/v5/public/spot", "wss://127.0.0.1:9000") == "wss://127.0.0.1:9000/v5/public/spot"
    assert rebase("https://api.binance.com/api/v3/depth?symbol=X&limit=1000", "http://127.0.0.1:1") == (
        "http://127.0.0.1:1/api/v3/depth?symbol=X&limit=1000")
    assert rebase("wss://api.gateio.ws/ws/v4/", "wss://h:2/prefix/") == "wss://h:2/prefix/ws/v4/"


def test_redirected_class_keeps_id_and_paths_and_carries_tls_context() -> None:
    context = ssl.create_default_context()
    cls = redirect(Bybit, "http://127.0.0.1:1", "wss://127.0.0.1:2", context)
    assert cls.id == Bybit.id
    assert issubclass(cls, Bybit)
    addresses = [ep.address for ep in cls.websocket_endpoints]
    assert "wss://127.0.0.1:2/v5/public/spot" in addresses
    assert all(ep.options["ssl"] is context for ep in cls.websocket_endpoints)
    assert cls.rest_endpoints[0].route("instruments")[1].startswith("http://127.0.0.1:1/v5/market/instruments-info")
    # the original class is untouched
    assert Bybit.websocket_endpoints[0].address.startswith("wss://stream.bybit.com")
    assert Gateio.rest_endpoints[0].address == "https://api.gateio.ws"


def test_hard_coded_hosts_are_rewritten_for_blocking_http() -> None:
    cls = redirect(KuCoin, "http://127.0.0.1:3", "wss://127.0.0.1:4", None, ("https://api.kucoin.com",))
    http = cls.http_sync
    assert isinstance(http, RewritingHTTPSync)
    assert http._rewrite("https://api.kucoin.com/api/v1/bullet-public") == "http://127.0.0.1:3/api/v1/bullet-public"
    assert http._rewrite("https://elsewhere.example/x") == "https://elsewhere.example/x"
