"""cryptofeed 2.4.1's real feed classes against the simulated venues, over real loopback sockets."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptofeed.defines import L2_BOOK, TICKER, TRADES
from cryptofeed.exchanges.binance import Binance
from cryptofeed.exchanges.bybit import Bybit
from cryptofeed.exchanges.gateio import Gateio
from cryptofeed.exchanges.kucoin import KuCoin
from cryptofeed.feed import Feed

from shared.settings.sim import SimSettings
from sim.runner import SimulatorThread
from sim.stats import VenueStats
from tests.sim.redirect import redirect

FEEDS: dict[str, type[Feed]] = {"binance": Binance, "bybit": Bybit, "gateio": Gateio, "kucoin": KuCoin}
SYMBOLS = ["BTC-USDT", "ETH-USDT", "ETH-BTC"]
# The REST route each feed fetches its book snapshots from (Bybit's snapshot comes over the websocket).
SNAPSHOT_ROUTE = {"binance": "depth", "gateio": "order_book", "kucoin": "level2"}
CONFIG: dict[str, Any] = {"kucoin": {"key_id": "sim", "key_secret": "sim", "key_passphrase": "sim"}}


@dataclass
class Received:
    tickers: list[Any] = field(default_factory=list)
    trades: list[Any] = field(default_factory=list)
    books: int = 0
    book_symbols: set[str] = field(default_factory=set)
    book_times: list[float] = field(default_factory=list)
    crossed: list[str] = field(default_factory=list)
    raw_book_seqs: list[tuple[str, int]] = field(default_factory=list)  # Bybit's `u` per delta, as received
    gap_warnings: int = 0


class _GapCounter(logging.Handler):
    def __init__(self, received: Received) -> None:
        super().__init__(logging.WARNING)
        self.received = received

    def emit(self, record: logging.LogRecord) -> None:
        if "Missing book update detected" in record.getMessage():
            self.received.gap_warnings += 1


def sim_settings(venue: str, tls_dir: Path, **faults: Any) -> SimSettings:
    return SimSettings.model_validate({
        "seed": 5,
        "rate": 300,
        "tls_dir": str(tls_dir),
        "venues": {venue: {"rest_port": 0, "ws_port": 0}},
        "faults": faults,
    })


def run_feed(
    sim: SimulatorThread,
    venue: str,
    timeout: float,
    done: Callable[[Received, VenueStats], bool],
    inspect_book: Callable[[Any], None] | None = None,
) -> tuple[Received, VenueStats]:
    """Run the venue's real cryptofeed feed until `done` holds (checked every 0.2 s) or `timeout`."""
    endpoints = sim.endpoints[venue]
    feed_class = redirect(FEEDS[venue], endpoints.rest_url, endpoints.ws_url, sim.client_ssl_context())
    received = Received()

    async def on_ticker(ticker: Any, receipt: float) -> None:
        received.tickers.append(ticker)

    async def on_trade(trade: Any, receipt: float) -> None:
        received.trades.append(trade)

    async def on_book(book: Any, receipt: float) -> None:
        received.books += 1
        received.book_symbols.add(book.symbol)
        received.book_times.append(time.time())
        bids, asks = book.book.bids, book.book.asks
        if len(bids) and len(asks) and bids.index(0)[0] >= asks.index(0)[0]:
            received.crossed.append(f"{book.symbol}: {bids.index(0)[0]} >= {asks.index(0)[0]}")
        if venue == "bybit" and book.delta is not None:
            received.raw_book_seqs.append((book.symbol, int(book.raw["data"]["u"])))
        if inspect_book is not None:
            inspect_book(book)

    # The constructor fetches the symbol list (and KuCoin's token) with blocking HTTP: the simulator
    # answers from its own thread.
    feed = feed_class(
        symbols=SYMBOLS, channels=[TICKER, TRADES, L2_BOOK], config=CONFIG,
        callbacks={TICKER: on_ticker, TRADES: on_trade, L2_BOOK: on_book},
    )
    gaps = _GapCounter(received)
    logger = logging.getLogger("feedhandler")
    logger.addHandler(gaps)

    async def main() -> VenueStats:
        feed.start(asyncio.get_running_loop())
        deadline = time.monotonic() + timeout
        stats = sim.stats()[venue]
        while time.monotonic() < deadline and not done(received, stats):
            await asyncio.sleep(0.2)
            stats = sim.stats()[venue]
        feed.stop()
        await feed.shutdown()
        return sim.stats()[venue]  # after the last callback: every id received is in the records

    try:
        stats = asyncio.run(main())
    finally:
        logger.removeHandler(gaps)
    return received, stats


def _everything(r: Received, _: VenueStats) -> bool:
    every = set(SYMBOLS)
    return len(r.tickers) >= 30 and len(r.trades) >= 10 and r.books >= 100 and r.book_symbols == every == {t.symbol for t in r.tickers}


@pytest.mark.parametrize("venue", sorted(FEEDS))
def test_feed_receives_tickers_trades_and_books(venue: str, tmp_path: Path) -> None:
    with SimulatorThread(sim_settings(venue, tmp_path)) as sim:
        received, stats = run_feed(sim, venue, timeout=10, done=_everything)
    assert _everything(received, stats), (len(received.tickers), len(received.trades), received.books, received.book_symbols)
    assert not received.crossed
    assert received.gap_warnings == 0
    assert {t.symbol for t in received.tickers} == set(SYMBOLS)
    assert all(0 < t.bid < t.ask for t in received.tickers)
    emitted = {trade_id for _, trade_id in stats.trade_ids}
    assert {t.id for t in received.trades} <= emitted
    assert stats.rest_errors == 0 and stats.ws_accepted == 1
    if venue in SNAPSHOT_ROUTE:
        assert stats.rest_calls[SNAPSHOT_ROUTE[venue]] == len(SYMBOLS)


def _client_update_id(venue: str, book: Any) -> int:
    """The id of the last venue update a cryptofeed book includes, read where each feed keeps it."""
    if venue == "bybit":
        return int(book.raw["data"]["seq"])
    if venue == "gateio":
        return int(book.raw["result"]["u"] if "result" in book.raw else book.raw["id"])
    return int(book.sequence_number)


@pytest.mark.parametrize("venue", sorted(FEEDS))
def test_feed_book_equals_the_venue_book(venue: str, tmp_path: Path) -> None:
    # Whenever the venue has not moved on since the update cryptofeed just applied, the two books
    # must agree level for level.
    settings = sim_settings(venue, tmp_path).model_copy(update={"rate": 60})
    compared: list[str] = []  # only books built by applying deltas count: snapshots match trivially
    mismatches: list[str] = []
    with SimulatorThread(settings) as sim:
        instruments = sim.instruments

        def compare(book: Any) -> None:
            if len(compared) >= 10 or book.delta is None:
                return
            venue_book = sim.book(venue, book.symbol)
            if venue_book.update_id != _client_update_id(venue, book):
                return
            inst = instruments[book.symbol]
            expected = {
                "bid": {Decimal(inst.tick.plain(p)): Decimal(inst.lot.plain(q)) for p, q in venue_book.bids},
                "ask": {Decimal(inst.tick.plain(p)): Decimal(inst.lot.plain(q)) for p, q in venue_book.asks},
            }
            got = book.book.to_dict()
            compared.append(book.symbol)
            if {side: dict(levels) for side, levels in got.items()} != expected:
                mismatches.append(f"{book.symbol} at {venue_book.update_id}")

        run_feed(sim, venue, timeout=10, done=lambda r, s: len(compared) >= 10, inspect_book=compare)
    assert len(compared) >= 10 and not mismatches, (compared, mismatches)


@pytest.mark.parametrize("venue", sorted(SNAPSHOT_ROUTE))
def test_sequence_gap_is_detected_and_the_book_resynced(venue: str, tmp_path: Path) -> None:
    def resynced(r: Received, stats: VenueStats) -> bool:
        return r.gap_warnings >= 3 and stats.rest_calls[SNAPSHOT_ROUTE[venue]] >= len(SYMBOLS) + 3 and r.books >= 100

    with SimulatorThread(sim_settings(venue, tmp_path, skip_sequence_every=40)) as sim:
        received, stats = run_feed(sim, venue, timeout=10, done=resynced)
    assert stats.skipped_book_ids, "the simulator withheld no update"
    assert resynced(received, stats), (received.gap_warnings, stats.rest_calls, received.books)
    assert not received.crossed


def test_bybit_sequence_gap_shows_on_the_wire(tmp_path: Path) -> None:
    # cryptofeed 2.4.1 does not check Bybit's `u`, so it cannot resync; the gap must still be real.
    with SimulatorThread(sim_settings("bybit", tmp_path, skip_sequence_every=40)) as sim:
        received, stats = run_feed(sim, "bybit", timeout=10, done=lambda r, s: len(s.skipped_book_ids) >= 3 and r.books >= 150)
    skipped = {(symbol, u) for symbol, u, _ in stats.skipped_book_ids}
    jumps = set()
    last: dict[str, int] = {}
    for symbol, u in received.raw_book_seqs:
        if symbol in last and u != last[symbol] + 1:
            assert u == last[symbol] + 2, "exactly one message is withheld per gap"
            jumps.add((symbol, last[symbol] + 1))
        last[symbol] = u
    assert jumps and jumps <= skipped


@pytest.mark.parametrize("venue", sorted(FEEDS))
def test_feed_reconnects_after_a_dropped_connection(venue: str, tmp_path: Path) -> None:
    drop_every = 1.5
    started = time.time()

    def reconnected(r: Received, stats: VenueStats) -> bool:
        after_drop = [t for t in r.book_times if t > started + drop_every + 0.2]
        return stats.drops >= 1 and stats.ws_accepted >= 2 and len(after_drop) >= 20

    with SimulatorThread(sim_settings(venue, tmp_path, drop_every_s=drop_every)) as sim:
        started = time.time()
        received, stats = run_feed(sim, venue, timeout=10, done=reconnected)
    assert reconnected(received, stats), (stats.drops, stats.ws_accepted, received.books)
    assert not received.crossed
