"""Strategy instances: a strategy with its venues, symbols, size and thresholds, active or paused.

They come from the trader's configuration and its API, are persisted in the journal, and are what
strategies and the risk manager's inventory read. `params` is a tagged union, one struct per strategy.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from shared.trading.enums import InstanceState, Side, StrategyKind
from shared.trading.instruments import spot_pair


def _check_common(size: Decimal, min_profit_bps: Decimal) -> None:
    if size <= 0:
        raise ValueError(f"size {size} must be positive")
    if min_profit_bps < 0:
        raise ValueError(f"min_profit_bps {min_profit_bps} cannot be negative: that would accept losing trades")


class CrossExchangeParams(msgspec.Struct, frozen=True, tag=StrategyKind.CROSS_EXCHANGE.value, tag_field="strategy"):
    """Buy on one venue, sell on another, in every ordered pair of `venues`."""

    venues: tuple[str, ...]
    symbol: str
    size: Decimal  # most base per trade
    min_profit_bps: Decimal

    def __post_init__(self) -> None:
        _check_common(self.size, self.min_profit_bps)
        spot_pair(self.symbol)
        if len(set(self.venues)) < 2 or len(set(self.venues)) != len(self.venues):
            raise ValueError(f"venues {list(self.venues)}: a cross-exchange strategy needs two or more distinct venues")


class TriangularParams(msgspec.Struct, frozen=True, tag=StrategyKind.TRIANGULAR.value, tag_field="strategy"):
    """A three-leg cycle on one venue from `start_asset` back to it, tried in both directions."""

    venue: str
    symbols: tuple[str, str, str]
    start_asset: str
    size: Decimal  # most of start_asset put into one cycle
    min_profit_bps: Decimal

    def __post_init__(self) -> None:
        _check_common(self.size, self.min_profit_bps)
        assets: dict[str, int] = {}
        for symbol in self.symbols:
            for asset in spot_pair(symbol):
                assets[asset] = assets.get(asset, 0) + 1
        if len(set(self.symbols)) != 3 or len(assets) != 3 or any(count != 2 for count in assets.values()):
            raise ValueError(f"symbols {list(self.symbols)} do not form a cycle over three assets")
        if self.start_asset not in assets:
            raise ValueError(f"start_asset {self.start_asset} is not one of the cycle's assets {sorted(assets)}")


class LimitHedgeParams(msgspec.Struct, frozen=True, tag=StrategyKind.LIMIT_HEDGE.value, tag_field="strategy"):
    """Rest a limit order on `maker_venue`; hedge its fills at once with a taker order on `hedge_venue`."""

    maker_venue: str
    hedge_venue: str
    symbol: str
    size: Decimal  # base per resting order
    min_profit_bps: Decimal
    sides: tuple[Side, ...] = (Side.BUY, Side.SELL)  # which resting orders to keep: bids, asks, or both
    reprice_bps: Decimal = Decimal(2)  # move a resting order once its ideal price drifts this far

    def __post_init__(self) -> None:
        _check_common(self.size, self.min_profit_bps)
        spot_pair(self.symbol)
        if self.maker_venue == self.hedge_venue:
            raise ValueError("maker_venue and hedge_venue must differ")
        if not self.sides or len(set(self.sides)) != len(self.sides):
            raise ValueError(f"sides {list(self.sides)}: list buy, sell or both, once each")
        if self.reprice_bps <= 0:
            raise ValueError(f"reprice_bps {self.reprice_bps} must be positive")


StrategyParams = CrossExchangeParams | TriangularParams | LimitHedgeParams

_KIND: dict[type, StrategyKind] = {
    CrossExchangeParams: StrategyKind.CROSS_EXCHANGE,
    TriangularParams: StrategyKind.TRIANGULAR,
    LimitHedgeParams: StrategyKind.LIMIT_HEDGE,
}


class StrategyInstance(msgspec.Struct, frozen=True):
    id: str
    params: StrategyParams
    state: InstanceState = InstanceState.ACTIVE
    account: str = "main"  # the account its orders use on every venue

    @property
    def kind(self) -> StrategyKind:
        return _KIND[type(self.params)]

    @property
    def active(self) -> bool:
        return self.state is InstanceState.ACTIVE

    @property
    def venues(self) -> tuple[str, ...]:
        p = self.params
        if isinstance(p, CrossExchangeParams):
            return p.venues
        if isinstance(p, TriangularParams):
            return (p.venue,)
        return (p.maker_venue, p.hedge_venue)

    @property
    def symbols(self) -> tuple[str, ...]:
        p = self.params
        return p.symbols if isinstance(p, TriangularParams) else (p.symbol,)

    def paused(self) -> StrategyInstance:
        return msgspec.structs.replace(self, state=InstanceState.PAUSED)

    def resumed(self) -> StrategyInstance:
        return msgspec.structs.replace(self, state=InstanceState.ACTIVE)
