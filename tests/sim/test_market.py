"""The market model on its own: pure, deterministic, and behaving like a market."""

from __future__ import annotations

import math
import statistics
from random import Random
from typing import Any

from shared.settings.sim import RegimeSettings, SimSettings
from sim.fair_price import GRID_S, FairPrices, Regime
from sim.faults import Faults
from sim.instruments import Grid
from sim.market import Market
from sim.model_events import BookDelta, BookSide, MarketEvent, TickerEvent, TradeEvent

START = 1_800_000_000.0


def settings(**overrides: Any) -> SimSettings:
    raw: dict[str, Any] = {
        "seed": 11,
        "rate": 200,
        "venues": {
            "binance": {"rest_port": 0, "ws_port": 0, "lag_ms": 40, "noise_bps": 0.8},
            "bybit": {"rest_port": 0, "ws_port": 0, "lag_ms": 120, "noise_bps": 1.5},
        },
    }
    raw.update(overrides)
    return SimSettings.model_validate(raw)


def run(market: Market, seconds: float, step: float = 0.05) -> list[MarketEvent]:
    events: list[MarketEvent] = []
    for i in range(1, round(seconds / step) + 1):
        events.extend(market.advance(START + i * step))
    return events


class Replay:
    """Client-side books rebuilt from the initial snapshots and the deltas."""

    def __init__(self, market: Market) -> None:
        self.books: dict[tuple[str, str], tuple[dict[int, int], dict[int, int]]] = {}
        self.last_id: dict[tuple[str, str], int] = {}
        self.last_seq: dict[tuple[str, str], int] = {}
        for venue in market.venues:
            for symbol in market.symbols:
                snap = market.snapshot(venue, symbol)
                self.books[(venue, symbol)] = (dict(snap.bids), dict(snap.asks))
                self.last_id[(venue, symbol)] = snap.update_id
                self.last_seq[(venue, symbol)] = snap.seq

    def apply(self, delta: BookDelta) -> None:
        key = (delta.venue, delta.symbol)
        ids = [c.update_id for c in delta.changes]
        assert ids == list(range(self.last_id[key] + 1, self.last_id[key] + 1 + len(ids))), "update ids must continue without gaps"
        assert delta.seq == self.last_seq[key] + 1
        self.last_id[key], self.last_seq[key] = delta.last_id, delta.seq
        bids, asks = self.books[key]
        for change in delta.changes:
            side = bids if change.side is BookSide.BID else asks
            if change.size:
                side[change.price] = change.size
            else:
                assert change.price in side, "a removal must name an existing level"
                del side[change.price]
        assert bids and asks and max(bids) < min(asks), f"crossed book {key}"


def test_same_seed_same_events_however_time_is_sliced() -> None:
    coarse = Market(settings(), ["binance", "bybit"], START)
    fine = Market(settings(), ["binance", "bybit"], START)
    a = run(coarse, 20, step=1.0)
    b = run(fine, 20, step=0.01)
    assert a == b and len(a) > 1000
    other = Market(settings(seed=12), ["binance", "bybit"], START)
    assert run(other, 20, step=1.0) != a


def test_books_never_cross_and_ids_increase_and_replay_exactly() -> None:
    market = Market(settings(rate=400), ["binance", "bybit"], START)
    replay = Replay(market)
    events = run(market, 60)
    deltas = [e for e in events if isinstance(e, BookDelta)]
    assert len(deltas) > 5000
    for delta in deltas:
        replay.apply(delta)
    for (venue, symbol), (bids, asks) in replay.books.items():
        snap = market.snapshot(venue, symbol)
        assert snap.update_id == replay.last_id[(venue, symbol)]
        assert dict(snap.bids) == bids and dict(snap.asks) == asks
        # Book updates restore the configured depth; trades in between may take a level or two.
        assert 10 <= len(snap.bids) <= 20 and 10 <= len(snap.asks) <= 20
    times = [e.ts for e in events]
    assert times == sorted(times)


def test_trades_consume_book_liquidity() -> None:
    market = Market(settings(rate=400), ["binance"], START)
    replay = Replay(market)
    trades = 0
    pending: list[TradeEvent] = []
    for event in run(market, 30):
        if isinstance(event, TradeEvent):
            pending.append(event)
            continue
        if isinstance(event, BookDelta):
            bids, asks = replay.books[(event.venue, event.symbol)]
            if pending:
                # The fills come right before the book update that removes their size.
                changes = {c.price: c for c in event.changes}
                for trade in pending:
                    book = asks if trade.taker == "buy" else bids
                    assert trade.price == (min(book) if trade.taker == "buy" else max(book)) or trade.price in changes
                    change = changes[trade.price]
                    assert change.update_id == trade.update_id
                    assert change.size == book[trade.price] - trade.size
                    trades += 1
                pending = []
            replay.apply(event)
    assert trades > 200


def test_tickers_follow_the_top_of_the_book() -> None:
    market = Market(settings(), ["binance"], START)
    replay = Replay(market)
    checked = 0
    for event in run(market, 20):
        if isinstance(event, BookDelta):
            replay.apply(event)
        elif isinstance(event, TickerEvent):
            bids, asks = replay.books[(event.venue, event.symbol)]
            assert (event.bid, event.bid_size, event.ask, event.ask_size) == (max(bids), bids[max(bids)], min(asks), asks[min(asks)])
            assert event.stats.low <= event.stats.last <= event.stats.high
            checked += 1
    assert checked > 500


def test_triangle_fair_prices_are_consistent() -> None:
    market = Market(settings(), ["binance"], START)
    for t in (START, START + 10.05, START + 600):
        implied = market.fair_price("ETH-USDT", t) / market.fair_price("BTC-USDT", t)
        assert math.isclose(market.fair_price("ETH-BTC", t), implied, rel_tol=1e-12)


def _mid_bps(market: Market, venue: str, symbol: str) -> float:
    snap = market.snapshot(venue, symbol)
    return 1e4 * math.log((snap.bids[0][0] + snap.asks[0][0]) / 2 * market.instruments[symbol].tick.to_float(1))


def test_dislocations_appear_at_their_size_and_vanish() -> None:
    quiet = {"lag_ms": 0, "noise_bps": 0, "rest_port": 0, "ws_port": 0}
    shock = {"size_bps": 50, "every_s": 5, "duration_s": 1.5}
    market = Market(settings(rate=1500, venues={"binance": quiet, "bybit": quiet}, dislocation=shock), ["binance", "bybit"], START)
    samples: list[tuple[float, str, float]] = []  # (t, symbol, binance mid - bybit mid in bps)
    t = START
    while t < START + 60:
        t += 0.2
        market.advance(t)
        for symbol in market.symbols:
            samples.append((t, symbol, _mid_bps(market, "binance", symbol) - _mid_bps(market, "bybit", symbol)))
    dislocations = market.dislocations.until(t)
    checked = 0
    for d in dislocations:
        # Judge only dislocations that no other one on the same symbol overlaps (within 2 s).
        if any(o is not d and o.symbol == d.symbol and o.start < d.end + 2 and d.start < o.end + 2 for o in dislocations):
            continue
        if d.end + 2 > t:
            continue
        expected = d.offset_bps if d.venue == "binance" else -d.offset_bps
        during = [gap for ts, symbol, gap in samples if symbol == d.symbol and d.start + 0.2 <= ts < d.end]
        after = [gap for ts, symbol, gap in samples if symbol == d.symbol and d.end + 0.2 <= ts < d.end + 2]
        assert during and all(abs(gap - expected) < 8 for gap in during), (d, during)
        assert after and all(abs(gap) < 8 for gap in after), (d, after)
        checked += 1
    assert checked >= 5
    quiet_gaps = [gap for ts, _, gap in samples if not any(d.start - 0.2 <= ts < d.end + 0.2 for d in dislocations)]
    assert max(abs(g) for g in quiet_gaps) < 8


def test_volatility_regimes_switch() -> None:
    regimes = RegimeSettings(calm_mean_s=20, volatile_mean_s=10, volatile_multiplier=5, correlation=0.7)
    spec = settings().symbols
    fair = FairPrices(spec, regimes, Random(3), START, history_s=1.0)
    returns: dict[Regime, list[float]] = {Regime.CALM: [], Regime.VOLATILE: []}
    switches = 0
    previous, regime = math.log(fair.price("BTC-USDT", START)), fair.regime(START)
    for i in range(1, 36_000):  # one simulated hour
        t = START + i * GRID_S
        now, current = math.log(fair.price("BTC-USDT", t)), fair.regime(t)
        returns[current].append(now - previous)
        switches += current is not regime
        previous, regime = now, current
    assert switches >= 20
    calm = statistics.pstdev(returns[Regime.CALM]) * 1e4
    volatile = statistics.pstdev(returns[Regime.VOLATILE]) * 1e4
    assert abs(calm - 1.5) < 0.1  # BTC-USDT's configured volatility_bps
    assert 4.0 < volatile / calm < 6.0


def test_rate_is_messages_per_second_per_venue() -> None:
    market = Market(settings(rate=500), ["binance", "bybit"], START)
    per_venue = len(run(market, 20)) / 2 / 20
    assert 350 < per_venue < 650


def test_grid_formats_exact_decimals() -> None:
    tick = Grid.of(0.01)
    assert tick.fixed(6500001, 8) == "65000.01000000"
    assert tick.plain(6500000) == "65000" and tick.plain(6500010) == "65000.1"
    assert Grid.of(0.00001).fixed(4923) == "0.04923" and Grid.of(1e-05).places == 5
    assert Grid.of(0.5).plain(3) == "1.5" and Grid.of(10.0).plain(7) == "70"


def test_fault_schedule() -> None:
    faults = Faults(settings(faults={"drop_every_s": 5, "stall_every_s": 10, "stall_s": 2, "skip_sequence_every": 3}).faults, Random(1), 100.0)
    assert faults.next_drop(100.0) == 105.0 and faults.next_drop(105.0) == 110.0
    assert faults.next_stall(100.0) == (110.0, 112.0) and faults.next_stall(111.0) == (110.0, 112.0)
    assert faults.next_stall(112.0) == (120.0, 122.0)
    assert not faults.stalled(109.9) and faults.stalled(110.5) and not faults.stalled(112.0)
    assert [faults.skip_book_update() for _ in range(6)] == [False, False, True, False, False, True]
    assert not faults.rest_error()
