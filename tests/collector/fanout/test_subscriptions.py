"""Subscription patterns: `*` wildcards match, and requests that could never match a configured stream are refused by name."""

from __future__ import annotations

import pytest

from collector.fanout.subscriptions import Catalog, Pattern
from shared.protocol import ErrorCode, RequestError
from shared.settings import settings_from_mapping

SETTINGS = settings_from_mapping({"exchanges": {
    "binance": {"endpoint": "live", "symbols": ["BTC-USDT", "ETH-USDT", "ETH-BTC"]},
    "bybit": {"endpoint": "live", "symbols": ["BTC-USDT"], "channels": ["ticker", "trade"]},
}})
CATALOG = Catalog(SETTINGS.exchanges)


def reject(channels: list[str], exchanges: list[str], symbols: list[str], limit: int = 100) -> RequestError:
    with pytest.raises(RequestError) as err:
        CATALOG.patterns(channels, exchanges, symbols, limit, request_id=7)
    assert err.value.request_id == 7
    return err.value


def test_star_matches_any_run_of_characters() -> None:
    assert Pattern("*", "*", "*").matches("trade", "binance", "ETH-BTC")
    assert Pattern("ticker", "b*", "*-USDT").matches("ticker", "bybit", "BTC-USDT")
    assert not Pattern("ticker", "b*", "*-USDT").matches("ticker", "bybit", "ETH-BTC")
    assert not Pattern("ticker", "b*", "*").matches("trade", "bybit", "ETH-BTC")
    assert not Pattern("*", "binance", "*").matches("trade", "binancex", "ETH-BTC")


def test_only_star_is_special() -> None:
    assert not Pattern("*", "*", "BTC-USD?").matches("trade", "binance", "BTC-USDT")
    assert Pattern("*", "*", "BTC-USD?").matches("trade", "binance", "BTC-USD?")
    assert not Pattern("*", "[b]inance", "*").matches("trade", "binance", "BTC-USDT")


def test_status_without_symbol_matches_every_symbol_pattern_of_its_exchange() -> None:
    assert Pattern("status", "binance", "ETH-BTC").matches("status", "binance", None)
    assert not Pattern("status", "bybit", "ETH-BTC").matches("status", "binance", None)


def test_request_expands_to_the_cross_product_without_duplicates() -> None:
    patterns = CATALOG.patterns(["ticker", "trade", "ticker"], ["binance"], ["BTC-USDT", "ETH-*"], limit=100)
    assert patterns == [Pattern(c, "binance", s) for c in ("ticker", "trade") for s in ("BTC-USDT", "ETH-*")]


def test_unknown_channel_is_named() -> None:
    error = reject(["candles"], ["*"], ["*"])
    assert error.code is ErrorCode.UNKNOWN_CHANNEL and "'candles'" in error.message


def test_unknown_exchange_is_named_with_the_configured_ones() -> None:
    error = reject(["*"], ["ftx"], ["*"])
    assert error.code is ErrorCode.UNKNOWN_EXCHANGE
    assert "'ftx'" in error.message and "binance, bybit" in error.message


def test_wildcard_exchange_must_match_something() -> None:
    assert reject(["*"], ["k*"], ["*"]).code is ErrorCode.UNKNOWN_EXCHANGE


def test_unknown_symbol_is_named_with_the_configured_ones() -> None:
    error = reject(["*"], ["bybit"], ["ETH-BTC"])
    assert error.code is ErrorCode.UNKNOWN_SYMBOL
    assert "'ETH-BTC'" in error.message and "bybit" in error.message and "BTC-USDT" in error.message


def test_channel_the_exchange_does_not_collect_is_refused() -> None:
    error = reject(["book"], ["bybit"], ["*"])
    assert error.code is ErrorCode.UNKNOWN_CHANNEL
    assert "book/bybit/*" in error.message and "bybit collects status, ticker, trade" in error.message


def test_status_is_available_on_every_exchange() -> None:
    assert CATALOG.patterns(["status"], ["bybit"], ["BTC-USDT"], limit=10) == [Pattern("status", "bybit", "BTC-USDT")]


def test_cross_product_larger_than_the_limit_is_refused_before_expanding() -> None:
    error = reject(["ticker", "trade"], ["binance", "bybit"], ["BTC-USDT", "ETH-USDT"], limit=7)
    assert error.code is ErrorCode.TOO_MANY_SUBSCRIPTIONS and "limit of 7" in error.message
