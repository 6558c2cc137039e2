"""Subscription patterns: validation against the configured streams, and matching events to patterns.

A pattern is (channel, exchange, symbol); each part is a name or contains `*` (any run of
characters). A request names lists of each and subscribes to their cross product. Validation
rejects what could never match a configured stream, naming the part that is wrong.
Status events without a symbol (a whole feed's health) match every symbol pattern of their exchange.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import NamedTuple

from shared.events import Channel
from shared.protocol import WILDCARD, ErrorCode, RequestError, RequestId, Subscription
from shared.settings import ExchangeSettings

CHANNELS = tuple(channel.value for channel in Channel)


class Pattern(NamedTuple):
    channel: str
    exchange: str
    symbol: str

    def matches(self, channel: str, exchange: str, symbol: str | None) -> bool:
        return ((self.channel == WILDCARD or self.channel == channel)
                and _match(exchange, self.exchange)
                and (symbol is None or _match(symbol, self.symbol)))

    def wire(self) -> Subscription:
        return Subscription(self.channel, self.exchange, self.symbol)


def _match(name: str, pattern: str) -> bool:
    if pattern == WILDCARD:
        return True
    if WILDCARD not in pattern:
        return name == pattern
    # fnmatch also knows ? and [...]; escape them so only * is special.
    return fnmatchcase(name, pattern.replace("[", "[[]").replace("?", "[?]"))


class Catalog:
    """The streams the collector is configured to produce: exchange -> (channels, symbols)."""

    def __init__(self, exchanges: Mapping[str, ExchangeSettings]) -> None:
        self.exchanges: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
            name: (frozenset(c.value for c in ex.channels) | {Channel.STATUS.value}, tuple(ex.symbols))
            for name, ex in exchanges.items()
        }

    def patterns(self, channels: Sequence[str], exchanges: Sequence[str], symbols: Sequence[str],
                 limit: int, request_id: RequestId = None) -> list[Pattern]:
        """The cross product as patterns, each checked to match at least one configured stream."""
        channels, exchanges, symbols = _unique(channels), _unique(exchanges), _unique(symbols)
        if len(channels) * len(exchanges) * len(symbols) > limit:
            raise RequestError(ErrorCode.TOO_MANY_SUBSCRIPTIONS,
                               f"{len(channels)} channels x {len(exchanges)} exchanges x {len(symbols)} symbols "
                               f"exceeds the limit of {limit} subscriptions per connection", request_id)
        for channel in channels:
            if channel != WILDCARD and channel not in CHANNELS:
                raise RequestError(ErrorCode.UNKNOWN_CHANNEL,
                                   f"unknown channel {channel!r} (choose from {', '.join(CHANNELS)} or *)", request_id)
        matched: dict[str, list[str]] = {}
        for exchange in exchanges:
            names = [name for name in self.exchanges if _match(name, exchange)]
            if not names:
                raise RequestError(ErrorCode.UNKNOWN_EXCHANGE,
                                   f"exchange {exchange!r} matches no configured exchange "
                                   f"(configured: {', '.join(self.exchanges) or 'none'})", request_id)
            matched[exchange] = names
        in_scope = sorted({name for names in matched.values() for name in names})
        offered = sorted({s for name in in_scope for s in self.exchanges[name][1]})
        for symbol in symbols:
            if not any(_match(s, symbol) for s in offered):
                raise RequestError(ErrorCode.UNKNOWN_SYMBOL,
                                   f"symbol {symbol!r} matches no configured symbol on {', '.join(in_scope)} "
                                   f"(configured: {', '.join(offered)})", request_id)
        result = []
        for channel in channels:
            for exchange in exchanges:
                for symbol in symbols:
                    pattern = Pattern(channel, exchange, symbol)
                    if not self._any_stream(pattern, matched[exchange]):
                        raise RequestError(ErrorCode.UNKNOWN_CHANNEL,
                                           f"no configured stream matches {channel}/{exchange}/{symbol}: "
                                           f"{_describe(self.exchanges, matched[exchange], symbol)}", request_id)
                    result.append(pattern)
        return result

    def _any_stream(self, pattern: Pattern, names: Iterable[str]) -> bool:
        for name in names:
            channels, symbols = self.exchanges[name]
            if (pattern.channel == WILDCARD or pattern.channel in channels) and any(_match(s, pattern.symbol) for s in symbols):
                return True
        return False


def _describe(exchanges: Mapping[str, tuple[frozenset[str], tuple[str, ...]]], names: Sequence[str], symbol: str) -> str:
    parts = []
    for name in names:
        channels, symbols = exchanges[name]
        if any(_match(s, symbol) for s in symbols):
            parts.append(f"{name} collects {', '.join(sorted(channels))}")
    return "; ".join(parts)


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))
