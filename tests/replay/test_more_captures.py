"""Any exchange cryptofeed supports, by configuration alone (issue D).

Each recording in ../shared/captures/more is served by one replay server and replayed twice with one
subscription, that of the collector config generated for it (`sim/replay/config.py`): through the
collector (that config, `build_feed`, ingest) and through cryptofeed 2.4.1's plain feed class with
counting callbacks, redirected the same way (`collector/redirect.py`). Both must see the same events
per channel and symbol, and the collector's must be well-formed. Each replay runs as fast as the
feed reads and stops once the server has played everything the feed subscribed to.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cryptofeed import FeedHandler
from cryptofeed.defines import L2_BOOK, TICKER, TRADES
from cryptofeed.exchanges import EXCHANGE_MAP
from cryptofeed.feed import Feed
from cryptofeed.symbols import Symbols

from collector.dispatch import Dispatcher
from collector.feeds import build_feed
from collector.ingest import ReceiveClock
from collector.redirect import redirect
from shared.events import BookTop, Channel, Event, Status, Ticker, Trade, channel_of
from shared.settings import ExchangeSettings, Settings, SettingsError, settings_from_mapping
from shared.symbols import is_normalized
from sim.replay import ReplayServer
from sim.replay.config import collector_config

MORE = Path(__file__).resolve().parents[2].parent / "shared" / "captures" / "more"
if not MORE.is_dir():
    pytest.skip(f"the recordings of more venues are not in {MORE} (they live in ../shared/captures/more)", allow_module_level=True)

# Found by replaying them: what keeps cryptofeed 2.4.1 itself from replaying a recording.
CANNOT_REPLAY = {
    "BITFINEX": "cryptofeed 2.4.1 reads Bitfinex's futures list from /v2/conf/pub:list:pair:futures; the 2021 recording has "
                "/v2/conf/pub:list:pair:future (the request changed since), so the feed cannot be built (HTTP 404)",
}
# Recordings where the collector has nothing to collect, and why.
NOTHING_TO_COLLECT = {
    "independent_reserve": "its book is L3 (not collected) and no trade happened in the 32 s recorded",
}
# Recordings whose ticker frames carry best bid/ask sizes (read by collector/venues/generic.py).
SIZED_TICKERS = {"binance_delivery", "binance_futures", "binance_us", "bitflyer", "deribit", "gateio_futures"}
THEIRS = {Channel.TICKER: TICKER, Channel.TRADE: TRADES, Channel.BOOK: L2_BOOK}
SETTLE_S = 0.3  # nothing played and every played frame handled for this long: the replay is over
TIMEOUT_S = 40.0


def recording_names() -> list[Any]:
    names = sorted(path.name.removesuffix(".jsonl.zst") for path in MORE.glob("*.jsonl.zst"))
    return [pytest.param(name, marks=pytest.mark.xfail(reason=CANNOT_REPLAY[name], raises=SettingsError, strict=True))
            if name in CANNOT_REPLAY else name for name in names]


@pytest.mark.parametrize("name", recording_names())
def test_the_collector_and_cryptofeed_alone_replay_a_recording_to_the_same_events(name: str, tls_dir: Path) -> None:
    with ReplayServer([MORE / f"{name}.jsonl.zst"], tls_dir) as server:
        exchange = server.recordings[0].exchange
        mapping, notes = collector_config(server.recordings, server.endpoints, server.ca_file)
        assert exchange in mapping["exchanges"], notes
        settings = settings_from_mapping(mapping, "<generated replay config>")
        events = through_collector(server, settings, exchange)
        collected = Counter((channel_of(e).value, e.symbol) for e in events if not isinstance(e, Status))
        server.rewind()
        counted = through_cryptofeed(server, settings.exchanges[exchange], exchange)
        print(f"{exchange}: {dict(Counter(channel for channel, _ in collected.elements()))}; not played: {server.unplayed()}")
        assert server.unanswered() == {}, "every REST request the feeds made has a recorded answer"

    assert collected == counted, "the collector and cryptofeed alone see the same events, per channel and symbol"
    market = [e for e in events if isinstance(e, BookTop | Ticker | Trade)]
    assert bool(market) != (exchange in NOTHING_TO_COLLECT), f"collected: {len(market)}; notes on the generated config: {notes}"
    crossed = [e for e in market if isinstance(e, BookTop) and e.crossed]
    assert not crossed, f"{len(crossed)} crossed books, first: {crossed[0]}"
    assert all(type(e.ts_recv) is int and (e.ts_event is None or type(e.ts_event) is int) for e in events)
    subscribed = set(settings.exchanges[exchange].symbols)
    symbols = {e.symbol for e in market}
    assert symbols <= subscribed and all(is_normalized(s) for s in symbols), sorted(symbols - subscribed)
    tickers = [e for e in market if isinstance(e, Ticker)]
    sized = [t for t in tickers if known(t.bid_size) and known(t.ask_size)]
    if exchange in SIZED_TICKERS:
        assert tickers and sized == tickers, f"{len(tickers) - len(sized)} of {len(tickers)} tickers without sizes"
    else:
        assert not sized, f"sizes read from ticker frames that carry none: {sized[0]}"


def known(size: float | None) -> bool:
    return size is not None and not math.isnan(size)


def through_collector(server: ReplayServer, settings: Settings, exchange: str) -> list[Event]:
    dispatcher = Dispatcher()
    events: list[Event] = []
    dispatcher.attach(events.append)

    async def run() -> None:
        feed, _ = await asyncio.to_thread(build_feed, exchange, settings, dispatcher, ReceiveClock(), "<generated replay config>", 5.0)
        await replay(server, feed)

    asyncio.run(run())
    return events


def through_cryptofeed(server: ReplayServer, entry: ExchangeSettings, exchange: str) -> Counter[tuple[str, str]]:
    assert entry.rest_url and entry.ws_url and entry.ca_file
    feed_cls = redirect(EXCHANGE_MAP[exchange.upper()], entry.rest_url, entry.ws_url, ssl.create_default_context(cafile=entry.ca_file))
    counts: Counter[tuple[str, str]] = Counter()

    def counter(channel: Channel) -> Any:
        async def count(obj: Any, receipt: float) -> None:
            counts[(channel.value, obj.symbol)] += 1
        return count

    callbacks = {THEIRS[channel]: counter(channel) for channel in entry.channels}
    keys = {"key_id": entry.key_id, "key_secret": entry.key_secret, "key_passphrase": entry.key_passphrase}
    config = {"log": {"disabled": True}, "uvloop": False, exchange: {k: v.get_secret_value() if v else None for k, v in keys.items()}}

    async def run() -> None:
        Symbols.clear()  # the symbol list must come from this server, as the collector's did
        feed = await asyncio.to_thread(feed_cls, symbols=list(entry.symbols), channels=list(callbacks), callbacks=callbacks,
                                       config=config, timeout=-1)
        await replay(server, feed)

    asyncio.run(run())
    return counts


async def replay(server: ReplayServer, feed: Feed) -> None:
    """Run `feed` until the server plays nothing more and the feed has handled every frame played."""
    handled = 0
    parse = feed.message_handler

    async def counted(message: Any, connection: Any, timestamp: float) -> None:
        nonlocal handled
        try:
            await parse(message, connection, timestamp)
        finally:
            handled += 1

    feed.message_handler = counted  # type: ignore[method-assign]
    handler = FeedHandler(config={"log": {"disabled": True}, "uvloop": False})
    handler.add_feed(feed)
    handler.run(start_loop=False, install_signal_handlers=False)
    scripts = server.recordings[0].scripts
    deadline = time.monotonic() + TIMEOUT_S
    quiet_since: float | None = None
    try:
        while True:
            played = sum(script.sent for script in scripts)
            if server.playing or not played or handled < played:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= SETTLE_S:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{feed.id}: {handled} frames handled of {played} played after {TIMEOUT_S} s")
            await asyncio.sleep(0.02)
    finally:
        await handler.stop_async()
        Symbols.clear()
