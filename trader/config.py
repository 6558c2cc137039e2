"""The trader's settings section as the trading core's typed values: where the stream is, the instruments
and their specs, the strategy instances, the risk and market-view configuration, the paper executor's
parameters and the API's bind. The entry point builds it once from the validated `Settings`.

Fees in the settings are in bps and become rates (7.5 bps -> 0.00075); durations become integer
nanoseconds; money and sizes stay `Decimal`, the simulator's float tick and lot are read as printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.settings import Settings
from shared.settings.trader import (
    InstanceSettings,
    RiskSettings,
    SymbolSpecSettings,
    TraderMode,
    TraderSettings,
    VenueSpecSettings,
    symbol_grid,
)
from shared.trading import (
    Balance,
    Balances,
    CrossExchangeParams,
    InstanceState,
    Instruments,
    InstrumentSpec,
    LimitHedgeParams,
    StrategyInstance,
    StrategyKind,
    StrategyParams,
    TriangularParams,
    spot_pair,
)
from trader.market import MarketViewConfig
from trader.risk.config import BreakerConfig, RiskConfig, RiskLimits, SafeModeConfig, VolatilityPolicy

_BPS = Decimal(10_000)
_WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # a wildcard bind is reached on loopback


@dataclass(frozen=True, slots=True)
class StreamConfig:
    url: str  # the collector's fan-out stream
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class PaperConfig:
    latency_ns: int
    balances: Balances  # starting balances, used when the paper store is new
    store_path: Path  # the paper venue's own record, apart from the journal


@dataclass(frozen=True, slots=True)
class ApiConfig:
    enabled: bool
    host: str
    port: int
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class TraderConfig:
    mode: TraderMode
    stream: StreamConfig
    journal_path: Path
    shutdown_grace_ns: int
    instruments: Instruments
    instances: tuple[StrategyInstance, ...]
    risk: RiskConfig
    market_view: MarketViewConfig
    paper: PaperConfig
    api: ApiConfig
    reconcile_interval_ns: int = 10_000_000_000
    summary_interval_ns: int = 10_000_000_000


def trader_config(settings: Settings) -> TraderConfig:
    trader = settings.trader
    return TraderConfig(
        mode=trader.mode,
        stream=stream_config(settings),
        journal_path=Path(trader.journal_path),
        shutdown_grace_ns=_ns(trader.shutdown_grace_s),
        instruments=instruments(settings),
        instances=tuple(strategy_instance(instance) for instance in trader.instances),
        risk=risk_config(trader.risk),
        market_view=market_view_config(trader),
        paper=paper_config(trader),
        api=ApiConfig(trader.api.enabled, trader.api.host, trader.api.port, trader.api.token_value()),
        reconcile_interval_ns=_ns(trader.reconcile_interval_s),
        summary_interval_ns=_ns(trader.summary_interval_s),
    )


def stream_config(settings: Settings) -> StreamConfig:
    """`trader.stream`, or else the collector the `server` section describes, with its token."""
    stream = settings.trader.stream
    token = stream.token.get_secret_value() if stream.token is not None else settings.server.token_value()
    if stream.url:
        return StreamConfig(stream.url, token or None)
    host = _WILDCARD_HOSTS.get(settings.server.host, settings.server.host)
    if ":" in host:
        host = f"[{host}]"
    return StreamConfig(f"ws://{host}:{settings.server.port}/", token or None)


def instruments(settings: Settings) -> Instruments:
    """Every spot symbol the collector follows on every venue whose tick and lot are known (given in
    `trader.venues`, or the simulator's for a simulated venue), with that venue's fees and minimums."""
    specs = []
    for venue, exchange in settings.exchanges.items():
        for symbol in exchange.symbols:
            try:
                spot_pair(symbol)
            except ValueError:
                continue  # a derivative: the trader trades spot only
            grid = symbol_grid(settings.trader, settings.exchanges, settings.sim, venue, symbol)
            if grid is not None:
                specs.append(_spec(settings.trader, venue, symbol, *grid))
    return Instruments(specs)


def _spec(trader: TraderSettings, venue: str, symbol: str, tick: Decimal, lot: Decimal) -> InstrumentSpec:
    venue_spec = trader.venues.get(venue, VenueSpecSettings())
    symbol_spec = venue_spec.symbols.get(symbol, SymbolSpecSettings())
    return InstrumentSpec(
        venue=venue,
        symbol=symbol,
        tick_size=tick,
        lot_size=lot,
        min_size=symbol_spec.min_size,
        min_notional=symbol_spec.min_notional,
        maker_fee=venue_spec.maker_fee_bps / _BPS,
        taker_fee=venue_spec.taker_fee_bps / _BPS,
    )


def strategy_instance(instance: InstanceSettings) -> StrategyInstance:
    state = InstanceState.ACTIVE if instance.enabled else InstanceState.PAUSED
    return StrategyInstance(id=instance.id, params=strategy_params(instance), state=state)


def strategy_params(instance: InstanceSettings) -> StrategyParams:
    size, min_profit = instance.size, instance.min_profit_bps
    if instance.kind is StrategyKind.CROSS_EXCHANGE:
        return CrossExchangeParams(venues=instance.venues, symbol=instance.symbols[0], size=size, min_profit_bps=min_profit)
    if instance.kind is StrategyKind.TRIANGULAR:
        first, second, third = instance.symbols
        return TriangularParams(venue=instance.venues[0], symbols=(first, second, third), start_asset=instance.cycle_start(),
                                size=size, min_profit_bps=min_profit)
    optional: dict[str, Any] = {}  # the core's defaults unless the settings give them
    if instance.sides is not None:
        optional["sides"] = instance.sides
    if instance.reprice_bps is not None:
        optional["reprice_bps"] = instance.reprice_bps
    return LimitHedgeParams(maker_venue=instance.venues[0], hedge_venue=instance.venues[1], symbol=instance.symbols[0],
                            size=size, min_profit_bps=min_profit, **optional)


def risk_config(risk: RiskSettings) -> RiskConfig:
    limits, volatility, breaker, safe = risk.limits, risk.volatility, risk.breaker, risk.safe_mode
    return RiskConfig(
        limits=RiskLimits(
            valuation_asset=limits.valuation_asset,
            max_trade_notional=limits.max_trade_notional,
            max_position=dict(limits.max_position),
            max_position_value=limits.max_position_value,
            max_venue_value=limits.max_venue_value,
            max_open_orders=limits.max_open_orders,
            max_daily_loss=limits.max_daily_loss,
        ),
        volatility=VolatilityPolicy(scale_from_bps=volatility.scale_from_bps, pause_bps=volatility.pause_bps,
                                    min_scale=volatility.min_scale),
        breaker=BreakerConfig(failures=breaker.failures, window_ns=_ns(breaker.window_s), cooldown_ns=_ns(breaker.cooldown_s)),
        safe_mode=SafeModeConfig(auto_exit=safe.auto_exit, stale_after_ns=_ns(safe.stale_after_s), errors=safe.errors,
                                 error_window_ns=_ns(safe.error_window_s)),
    )


def market_view_config(trader: TraderSettings) -> MarketViewConfig:
    view = trader.market_view
    return MarketViewConfig(
        max_book_age_ns=_ns(view.max_book_age_ms / 1000),
        volatility_window_ns=_ns(view.volatility_window_s),
        volatility_sample_ns=_ns(view.volatility_sample_ms / 1000),
    )


def paper_config(trader: TraderSettings) -> PaperConfig:
    balances = Balances(Balance(venue, "main", asset, amount)
                        for venue, assets in trader.paper.balances.items() for asset, amount in assets.items())
    return PaperConfig(latency_ns=_ns(trader.paper.latency_ms / 1000), balances=balances, store_path=Path(trader.paper_store_path))


def _ns(seconds: float) -> int:
    return round(seconds * 1_000_000_000)
