"""Build cryptofeed feeds from settings: endpoints, callbacks and health instrumentation.

Feed constructors fetch symbol lists with blocking HTTP, so `build_feeds` runs off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import requests
from cryptofeed.defines import L2_BOOK, TICKER, TRADES
from cryptofeed.exceptions import UnsupportedSymbol
from cryptofeed.feed import Feed

from collector.dispatch import Dispatcher
from collector.ingest import FeedIngest, ReceiveClock
from collector.redirect import redirect
from collector.venues import known_exchanges, venue_for
from shared import tls
from shared.events import Channel, StatusKind
from shared.redact import redact
from shared.settings import EndpointKind, ExchangeSettings, Settings, SettingsError

LOG = logging.getLogger(__name__)
_CRYPTOFEED_LOG = logging.getLogger("feedhandler")
_closing: set[asyncio.Task[None]] = set()  # keeps close tasks alive until done


def endpoints(name: str, exchange: ExchangeSettings, settings: Settings) -> tuple[str, str, ssl.SSLContext | None] | None:
    """(rest_url, ws_url, TLS context) for a redirected feed, or None for the exchange's real endpoints."""
    if exchange.endpoint is EndpointKind.LIVE:
        return None
    if exchange.endpoint is EndpointKind.SIM:
        venue = settings.sim.venues[name]
        host = settings.sim.host
        return f"http://{host}:{venue.rest_port}", f"wss://{host}:{venue.ws_port}", tls.client_ssl_context(settings.sim.tls_dir)
    assert exchange.rest_url and exchange.ws_url
    context = ssl.create_default_context(cafile=exchange.ca_file) if exchange.ca_file else None
    return exchange.rest_url, exchange.ws_url, context


class WatchedConnection:
    """Wraps a cryptofeed connection to report each open and close as a status event."""

    def __init__(self, conn: Any, ingest: FeedIngest) -> None:
        self._conn = conn
        self._ingest = ingest

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Any]:
        async with self._conn.connect() as connection:
            # Redacted: some addresses carry a session credential (KuCoin's `?token=`).
            address = redact(self._conn.address)
            self._ingest.status(StatusKind.CONNECTED, detail=address)
            try:
                yield connection
            except BaseException as exc:
                self._ingest.status(StatusKind.DISCONNECTED, detail=f"{address}: {redact(repr(exc))}")
                raise
            else:
                self._ingest.status(StatusKind.DISCONNECTED, detail=f"{address}: closed")


def instrument(feed_cls: type[Feed], ingest: FeedIngest) -> type[Feed]:
    """A subclass that reports connects/disconnects and REST snapshot re-fetches (resyncs)."""
    watched: list[WatchedConnection] = []

    def connect(self: Feed) -> list[tuple[Any, ...]]:
        wrapped = []
        for conn, subscribe, handler, authenticate in feed_cls.connect(self):
            proxy = WatchedConnection(conn, ingest)
            watched.append(proxy)
            wrapped.append((proxy, subscribe, handler, authenticate))
        return wrapped

    namespace: dict[str, Any] = {"connect": connect, "__module__": __name__}
    if hasattr(feed_cls, "_snapshot"):
        async def _snapshot(self: Feed, pair: str, *args: Any, **kwargs: Any) -> Any:
            result = await feed_cls._snapshot(self, pair, *args, **kwargs)
            for one in pair if isinstance(pair, list) else [pair]:  # Bitstamp fetches a list of pairs at once
                ingest.snapshot_fetched(_std_symbol(self, one))
            return result

        namespace["_snapshot"] = _snapshot

    def force_resubscribe(reason: str) -> None:
        LOG.warning("%s: %s: reconnecting to resubscribe", ingest.exchange, reason)
        for proxy in watched:
            if proxy.is_open:
                task = asyncio.get_running_loop().create_task(proxy.close())
                _closing.add(task)
                task.add_done_callback(_closing.discard)

    ingest.force_resubscribe = force_resubscribe
    return type(f"Instrumented{feed_cls.__name__}", (feed_cls,), namespace)


def _std_symbol(feed: Feed, pair: str) -> str:
    try:
        return str(feed.exchange_symbol_to_std_symbol(pair))
    except Exception:
        return pair


class GapLogWatcher(logging.Filter):
    """cryptofeed reports a detected book sequence gap only by a log line; turn it into a gap of the ingest.

    The line names only the feed. Which book broke is read from the logging method's own frame (the
    filter runs inside it): its `self` is the feed and its std-symbol local names the pair. Binance
    and Gate.io reset every book of the feed on a gap (their `_l2_book` is then empty): a venue-wide gap.
    """

    SYMBOL_LOCALS = ("std_pair", "symbol", "pair")

    def __init__(self) -> None:
        super().__init__()
        self.ingests: dict[str, FeedIngest] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if "Missing book update detected" in str(record.msg) and record.args:
            ingest = self.ingests.get(str(record.args[0]))  # type: ignore[index]
            if ingest is not None:
                symbol = self._gapped_symbol(record)
                detail = "cryptofeed detected a missing book update; " + ("rebuilding every book" if symbol is None else "rebuilding the book")
                ingest.gap(symbol, detail)
        return True

    def _gapped_symbol(self, record: logging.LogRecord) -> str | None:
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_name != record.funcName:
            frame = frame.f_back  # type: ignore[assignment]
        if frame is None:
            return None
        feed = frame.f_locals.get("self")
        symbol = next((frame.f_locals[name] for name in self.SYMBOL_LOCALS if name in frame.f_locals), None)
        if not isinstance(feed, Feed) or not getattr(feed, "_l2_book", None) or symbol is None:
            return None
        name = str(symbol)
        return self.ingests[feed.id].symbol_names.get(name, name) if feed.id in self.ingests else name


_gap_watcher = GapLogWatcher()
_CRYPTOFEED_LOG.addFilter(_gap_watcher)
if _CRYPTOFEED_LOG.getEffectiveLevel() > logging.WARNING:
    _CRYPTOFEED_LOG.setLevel(logging.WARNING)


def build_feed(
    name: str,
    settings: Settings,
    dispatcher: Dispatcher,
    clock: ReceiveClock,
    source: str = "<settings>",
    connect_wait_s: float = 30.0,
) -> tuple[Feed, FeedIngest]:
    exchange = settings.exchanges[name]
    try:
        venue = venue_for(name)
    except KeyError:
        raise SettingsError(source, f"exchanges.{name}", f"unknown exchange {name!r} (cryptofeed knows: {', '.join(known_exchanges())})") from None
    ingest = FeedIngest(venue, exchange.channels, settings.collector.book_depth, dispatcher, clock)
    target = endpoints(name, exchange, settings)
    feed_cls = venue.feed
    if target is not None:
        rest_url, ws_url, context = target
        feed_cls = redirect(feed_cls, rest_url, ws_url, context, venue.extra_rest_hosts)
    feed_cls = instrument(feed_cls, ingest)

    channels: dict[str, Any] = {}
    if Channel.TRADE in exchange.channels:
        channels[TRADES] = ingest.on_trade
    if Channel.BOOK in exchange.channels or (Channel.TICKER in exchange.channels and venue.ticker_from_book):
        channels[L2_BOOK] = ingest.on_book
    if Channel.TICKER in exchange.channels and not venue.ticker_from_book:
        channels[TICKER] = ingest.on_ticker
    config = {"log": {"disabled": True}, "uvloop": False}
    if exchange.key_id:
        keys = {"key_id": exchange.key_id, "key_secret": exchange.key_secret, "key_passphrase": exchange.key_passphrase}
        config[name] = {key: value.get_secret_value() if value else None for key, value in keys.items()}
    kwargs = dict(
        symbols=list(exchange.symbols), channels=list(channels), callbacks=channels, config=config,
        timeout=settings.collector.stale_timeout_s,
        timeout_interval=max(1, settings.collector.stale_timeout_s // 3) if settings.collector.stale_timeout_s > 0 else 30,
        retries=settings.collector.reconnect_retries, **venue.feed_kwargs,
    )
    feed = _construct(feed_cls, kwargs, name, exchange, source, connect_wait_s)
    ingest.symbol_names = {ex: std for std, ex in feed.normalized_symbol_mapping.items() if std in exchange.symbols and ex != std}
    _gap_watcher.ingests[feed.id] = ingest
    return feed, ingest


def _construct(feed_cls: type[Feed], kwargs: dict[str, Any], name: str, exchange: ExchangeSettings, source: str, wait_s: float) -> Feed:
    """The feed, retrying for up to `wait_s` only while the venue is not up yet (its symbol list is
    fetched here); anything else is cryptofeed refusing the configuration, reported at once."""
    deadline = time.monotonic() + wait_s
    delay = 0.2
    while True:
        try:
            # cryptofeed caches symbol lists per exchange id for the whole process; refresh so the list
            # comes from the endpoint this feed is configured for (sim, replay or live), not an earlier one.
            feed_cls.symbol_mapping(refresh=True)
            return feed_cls(**kwargs)
        except UnsupportedSymbol as exc:
            bad = next((i for i, s in enumerate(exchange.symbols) if s in str(exc)), None)
            key = f"exchanges.{name}.symbols" + (f".{bad}" if bad is not None else "")
            raise SettingsError(source, key, f"unknown symbol on venue '{name}': {exc}") from None
        except Exception as exc:
            if not _venue_starting(exc):
                raise SettingsError(source, f"exchanges.{name}", f"cryptofeed cannot build the {name} feed: {type(exc).__name__}: {exc}") from exc
            if time.monotonic() + delay > deadline:
                raise ConnectionError(f"{name}: cannot load the symbol list from the exchange: {exc}") from exc
            LOG.warning("%s: symbol list not available yet (%s); retrying", name, exc)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _venue_starting(exc: Exception) -> bool:
    """Whether waiting may cure `exc`: the venue unreachable, timing out or answering 5xx (starting up)."""
    if isinstance(exc, requests.HTTPError):
        return exc.response is not None and exc.response.status_code >= 500
    if isinstance(exc, aiohttp.ClientResponseError):
        return exc.status >= 500
    if isinstance(exc, requests.RequestException):  # an OSError too, but a bad body (invalid JSON) is not transient
        return isinstance(exc, requests.ConnectionError | requests.Timeout)
    return isinstance(exc, OSError | aiohttp.ClientConnectionError | TimeoutError)


def build_feeds(settings: Settings, dispatcher: Dispatcher, clock: ReceiveClock, source: str = "<settings>") -> list[tuple[Feed, FeedIngest]]:
    return [build_feed(name, settings, dispatcher, clock, source) for name in settings.exchanges]
