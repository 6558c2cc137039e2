"""The common fair price of every symbol: correlated asset random walks with volatility regimes.

Prices are modelled per asset (BTC, ETH, USDT, ...) against a numeraire, and a symbol's fair price
is base / quote, so triangles such as BTC-USDT, ETH-USDT, ETH-BTC stay consistent. The walk advances
on a fixed 100 ms grid whatever the caller's timing, which keeps it deterministic from the seed.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from random import Random

from shared.settings.sim import RegimeSettings, SimSymbolSettings
from shared.symbols import split

GRID_S = 0.1


class Regime(StrEnum):
    CALM = "calm"
    VOLATILE = "volatile"


@dataclass(frozen=True, slots=True)
class _Point:
    regime: Regime
    log_prices: tuple[float, ...]  # per asset, in `FairPrices._assets` order


class FairPrices:
    def __init__(
        self,
        symbols: Mapping[str, SimSymbolSettings],
        regimes: RegimeSettings,
        rng: Random,
        start: float,
        history_s: float,
    ) -> None:
        self._regimes = regimes
        self._rng = rng
        self._start = start
        self._assets, log_prices, self._sigmas = _assets_from_symbols(symbols)
        self._index = {asset: i for i, asset in enumerate(self._assets)}
        self._legs = {s: (self._index[split(s)[0]], self._index[split(s)[1]]) for s in symbols}
        # Enough points to look `history_s` back from the newest one, plus one to interpolate.
        self._points: deque[_Point] = deque(maxlen=math.ceil(history_s / GRID_S) + 3)
        self._points.append(_Point(Regime.CALM, tuple(log_prices)))
        self._first = 0  # grid index of self._points[0]

    @property
    def assets(self) -> tuple[str, ...]:
        return self._assets

    def price(self, symbol: str, t: float) -> float:
        base, quote = self._legs[symbol]
        position = max(0.0, (t - self._start) / GRID_S)
        below = int(position)
        weight = position - below
        p0 = self._point(below)
        log0 = p0.log_prices[base] - p0.log_prices[quote]
        if weight == 0.0:
            return math.exp(log0)
        p1 = self._point(below + 1)
        log1 = p1.log_prices[base] - p1.log_prices[quote]
        return math.exp(log0 + (log1 - log0) * weight)

    def regime(self, t: float) -> Regime:
        return self._point(int(max(0.0, (t - self._start) / GRID_S))).regime

    def _point(self, index: int) -> _Point:
        while self._first + len(self._points) <= index:
            self._step()
        # Older points have been dropped: a query that far back gets the oldest one kept.
        return self._points[max(0, index - self._first)]

    def _step(self) -> None:
        last = self._points[-1]
        regime = last.regime
        mean_s = self._regimes.calm_mean_s if regime is Regime.CALM else self._regimes.volatile_mean_s
        if self._rng.random() < GRID_S / mean_s:
            regime = Regime.VOLATILE if regime is Regime.CALM else Regime.CALM
        scale = 1e-4 * (self._regimes.volatile_multiplier if regime is Regime.VOLATILE else 1.0)
        rho = self._regimes.correlation
        common = self._rng.gauss(0.0, 1.0)
        moved = []
        for log_price, sigma in zip(last.log_prices, self._sigmas, strict=True):
            own = self._rng.gauss(0.0, 1.0)
            shock = math.sqrt(rho) * common + math.sqrt(1.0 - rho) * own
            moved.append(log_price + sigma * scale * shock)
        if len(self._points) == self._points.maxlen:
            self._first += 1
        self._points.append(_Point(regime, tuple(moved)))


def _assets_from_symbols(symbols: Mapping[str, SimSymbolSettings]) -> tuple[tuple[str, ...], list[float], list[float]]:
    """Asset log prices and per-step volatilities (bps) implied by the symbols.

    Each connected group of assets gets a numeraire that never moves (the asset most often quoted,
    typically the stablecoin); the others are reached through a spanning tree of symbols and take
    their volatility from the symbol that reached them. Symbols outside the tree close cycles and
    follow from the assets.
    """
    quoted = Counter(split(s)[1] for s in symbols)
    assets = sorted({a for s in symbols for a in split(s)}, key=lambda a: (-quoted[a], a))
    log_price: dict[str, float] = {}
    sigma: dict[str, float] = {}
    for root in assets:
        if root in log_price:
            continue
        log_price[root], sigma[root] = 0.0, 0.0
        frontier = [root]
        while frontier:
            known = frontier.pop(0)
            for symbol, spec in symbols.items():
                base, quote = split(symbol)
                if quote == known and base not in log_price:
                    log_price[base] = log_price[known] + math.log(spec.price)
                    sigma[base] = spec.volatility_bps
                    frontier.append(base)
                elif base == known and quote not in log_price:
                    log_price[quote] = log_price[known] - math.log(spec.price)
                    sigma[quote] = spec.volatility_bps
                    frontier.append(quote)
    return tuple(assets), [log_price[a] for a in assets], [sigma[a] for a in assets]
