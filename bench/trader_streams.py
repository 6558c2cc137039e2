"""Synthetic market streams for bench/trader.py: the demo market's venues, symbols and prices, with
occasional dislocations, as the collector's events (books of 10 levels a side, tickers, trades, and a
`connected` status per venue at the start). Deterministic for a seed.

Fair prices follow a random walk (ETH-BTC is ETH-USDT over BTC-USDT, so triangles are consistent);
each venue quotes its fair price plus a small noise of its own, and a dislocation moves one venue's
price of one symbol by `dislocation_bps` for `duration_s`, about every `every_s` seconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from shared.events import BookTop, Event, Side, Status, StatusKind, Ticker, Trade

VENUES = ("binance", "bybit", "gateio", "kucoin")
SYMBOLS = ("BTC-USDT", "ETH-USDT", "ETH-BTC")
TICK = {"BTC-USDT": 0.01, "ETH-USDT": 0.01, "ETH-BTC": 0.00001}
LEVEL_SIZE = {"BTC-USDT": 0.5, "ETH-USDT": 5.0, "ETH-BTC": 5.0}
DEPTH = 10
MIX = (("book", 0.5), ("ticker", 0.35), ("trade", 0.15))  # share of events per channel


@dataclass(frozen=True, slots=True)
class StreamSpec:
    rate: float  # events per second, all venues together
    seconds: float
    t0: int = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
    seed: int = 7
    dislocation_bps: float = 30.0
    every_s: float = 15.0
    duration_s: float = 3.0
    volatility_bps: float = 0.3  # per event of a symbol, of the fair price
    noise_bps: float = 0.5  # each venue's own quote noise


def _round(price: float, tick: float) -> float:
    return round(round(price / tick) * tick, 8)


def stream(spec: StreamSpec) -> Iterator[Event]:
    rng = random.Random(spec.seed)
    step = 1e9 / spec.rate
    fair = {"BTC-USDT": 65_000.0, "ETH-USDT": 3_200.0}
    noise = {(v, s): 0.0 for v in VENUES for s in SYMBOLS}
    dislocation: tuple[str, str, float, int] | None = None  # venue, symbol, bps, until ns
    next_dislocation = spec.t0 + int(rng.expovariate(1 / spec.every_s) * 1e9)
    trade_ids = 0
    for venue in VENUES:
        yield Status(venue, None, spec.t0, spec.t0, StatusKind.CONNECTED, "subscribed")
    channels, weights = zip(*MIX, strict=True)
    count = int(spec.rate * spec.seconds)
    for i in range(count):
        ts = spec.t0 + 1_000 + int(i * step)
        if dislocation is not None and ts >= dislocation[3]:
            dislocation = None
        if dislocation is None and ts >= next_dislocation:
            dislocation = (rng.choice(VENUES), rng.choice(SYMBOLS), rng.choice((-1, 1)) * spec.dislocation_bps,
                           ts + int(spec.duration_s * 1e9))
            next_dislocation = ts + int(rng.expovariate(1 / spec.every_s) * 1e9)
        venue, symbol = VENUES[rng.randrange(4)], SYMBOLS[rng.randrange(3)]
        walk = "BTC-USDT" if symbol == "BTC-USDT" else "ETH-USDT"
        fair[walk] *= math.exp(rng.gauss(0.0, spec.volatility_bps / 1e4))
        key = (venue, symbol)
        noise[key] = 0.95 * noise[key] + rng.gauss(0.0, spec.noise_bps * 0.3)
        price = fair[symbol] if symbol in fair else fair["ETH-USDT"] / fair["BTC-USDT"]
        offset = noise[key] + (dislocation[2] if dislocation and dislocation[:2] == key else 0.0)
        mid = price * (1 + offset / 1e4)
        tick = TICK[symbol]
        bid = _round(mid * (1 - 0.4 / 1e4), tick)
        ask = max(_round(mid * (1 + 0.4 / 1e4), tick), _round(bid + tick, tick))
        ts_event = ts - 40_000_000 - rng.randrange(20_000_000)
        kind = rng.choices(channels, weights)[0]
        size = LEVEL_SIZE[symbol]
        if kind == "book":
            bids = tuple((_round(bid - n * tick, tick), round(size * rng.uniform(0.5, 1.5), 6)) for n in range(DEPTH))
            asks = tuple((_round(ask + n * tick, tick), round(size * rng.uniform(0.5, 1.5), 6)) for n in range(DEPTH))
            yield BookTop(venue, symbol, ts_event, ts, bids, asks, i)
        elif kind == "ticker":
            yield Ticker(venue, symbol, ts_event, ts, bid, round(size * rng.uniform(0.5, 1.5), 6), ask, round(size * rng.uniform(0.5, 1.5), 6))
        else:
            trade_ids += 1
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            amount = round(size * 0.3 * rng.expovariate(1), 6)
            yield Trade(venue, symbol, ts_event, ts, str(trade_ids), side, ask if side is Side.BUY else bid, amount)
