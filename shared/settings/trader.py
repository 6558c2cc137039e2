"""The trader: its market data stream, execution mode, files, what each venue allows, the paper executor,
risk limits, market view, shutdown, API and strategy instances. Every key is described in docs/configuration.md.

Plain settings, like every section: `trader/config.py` turns them into the trading core's typed values.
Checks that need other sections (a venue must be in `exchanges`, a symbol collected there, a simulated
venue's tick and lot come from `sim.symbols`) are in `trader_problem`, which the root settings call so
that the error names the exact key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from shared.auth import exposed_without_token, token_required, token_value
from shared.events import Channel
from shared.settings.base import Section
from shared.settings.market import EndpointKind, ExchangeSettings
from shared.settings.sim import SimSettings
from shared.symbols import is_normalized
from shared.trading.enums import Side, StrategyKind
from shared.trading.instruments import spot_pair

DEFAULT_FEE_BPS = Decimal(10)  # 0.1%, the base spot rate of most venues (Binance, Bybit, KuCoin)
_ASSET = re.compile(r"^[A-Z0-9]{1,20}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class TraderMode(StrEnum):
    PAPER = "paper"  # the paper executor: simulated fills against the live books
    LIVE = "live"  # real orders through ccxt: a later issue


def _assets_upper(value: Any) -> Any:
    """Asset keys are upper-cased, so environment overrides (whose keys arrive lower case) can name them;
    a later key wins, so an override replaces the file's entry."""
    if not isinstance(value, Mapping):
        return value
    merged: dict[Any, Any] = {}
    for key, amount in value.items():
        merged[key.upper() if isinstance(key, str) else key] = amount
    return merged


def _check_assets(value: Mapping[str, Any]) -> None:
    for asset in value:
        if not _ASSET.match(asset):
            raise ValueError(f"asset {asset!r} is not an upper-case asset name such as BTC or USDT")


class StreamSettings(Section):
    """Where the trader reads market data: the collector's fan-out stream (docs/protocol.md)."""

    url: str | None = None  # ws://host:port/; unset: the collector described by the `server` section
    token: SecretStr | None = None  # unset: server.token

    @field_validator("url")
    @classmethod
    def _websocket_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value


class SymbolSpecSettings(Section):
    """One symbol on one venue; tick and lot default to the simulator's for a simulated venue."""

    tick: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)  # price increment
    lot: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)  # size increment, in base units
    min_size: Amount = Decimal(0)  # smallest order, in base units
    min_notional: Amount = Decimal(0)  # smallest order value, in quote units


class VenueSpecSettings(Section):
    taker_fee_bps: Decimal = Field(default=DEFAULT_FEE_BPS, ge=0, lt=10_000, allow_inf_nan=False)
    maker_fee_bps: Decimal = Field(default=DEFAULT_FEE_BPS, gt=-10_000, lt=10_000, allow_inf_nan=False)  # < 0: a rebate
    symbols: dict[str, SymbolSpecSettings] = Field(default_factory=dict)

    @field_validator("symbols")
    @classmethod
    def _spot_symbols(cls, value: dict[str, SymbolSpecSettings]) -> dict[str, SymbolSpecSettings]:
        for symbol in value:
            _spot(symbol)
        return value


class PaperSettings(Section):
    latency_ms: float = Field(default=50.0, ge=0, allow_inf_nan=False)  # added to every order and cancel
    balances: dict[str, dict[str, Amount]] = Field(default_factory=dict)  # venue -> asset -> starting amount

    @field_validator("balances", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return {venue: _assets_upper(assets) for venue, assets in value.items()} if isinstance(value, Mapping) else value

    @field_validator("balances")
    @classmethod
    def _asset_names(cls, value: dict[str, dict[str, Decimal]]) -> dict[str, dict[str, Decimal]]:
        for assets in value.values():
            _check_assets(assets)
        return value


class LimitSettings(Section):
    valuation_asset: str = Field(default="USDT", pattern=_ASSET.pattern)  # what the value limits are counted in
    max_trade_notional: Decimal = Field(default=Decimal(1000), gt=0, allow_inf_nan=False)  # largest leg, valued
    max_position: dict[str, Amount] = Field(default_factory=dict)  # per asset, in its own units...
    max_position_value: Amount = Decimal(5000)  # ...and valued, for the assets not listed there
    max_venue_value: Decimal = Field(default=Decimal(50_000), gt=0, allow_inf_nan=False)  # most value held on one venue
    max_open_orders: int = Field(default=20, ge=1)
    max_daily_loss: Amount = Decimal(200)  # realized, valued, per UTC day

    @field_validator("max_position", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return _assets_upper(value)

    @field_validator("max_position")
    @classmethod
    def _asset_names(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        _check_assets(value)
        return value


class VolatilitySettings(Section):
    """Trade size shrinks linearly from full at `scale_from_bps` to `min_scale` at `pause_bps`; at and past
    `pause_bps` new positions stop. Volatility is realized over `market_view.volatility_window_s`."""

    scale_from_bps: float = Field(default=30.0, ge=0, allow_inf_nan=False)
    pause_bps: float = Field(default=100.0, gt=0, allow_inf_nan=False)
    min_scale: Decimal = Field(default=Decimal("0.25"), gt=0, le=1, allow_inf_nan=False)

    @field_validator("pause_bps")
    @classmethod
    def _above_scale_from(cls, value: float, info: ValidationInfo) -> float:
        if value <= info.data.get("scale_from_bps", 0.0):
            raise ValueError("must be above scale_from_bps")
        return value


class BreakerSettings(Section):
    failures: int = Field(default=5, ge=1)  # failed or rejected orders...
    window_s: float = Field(default=60.0, gt=0, allow_inf_nan=False)  # ...within this window open the breaker...
    cooldown_s: float = Field(default=120.0, gt=0, allow_inf_nan=False)  # ...for this long, then one trial order


class SafeModeSettings(Section):
    auto_exit: bool = True  # leave safe mode once every cause has cleared; false: only an operator ends it
    stale_after_s: float = Field(default=5.0, gt=0, allow_inf_nan=False)  # a traded venue/symbol untradeable this long
    errors: int = Field(default=10, ge=1)  # this many errors within error_window_s
    error_window_s: float = Field(default=60.0, gt=0, allow_inf_nan=False)


class RiskSettings(Section):
    limits: LimitSettings = LimitSettings()
    volatility: VolatilitySettings = VolatilitySettings()
    breaker: BreakerSettings = BreakerSettings()
    safe_mode: SafeModeSettings = SafeModeSettings()


class MarketViewSettings(Section):
    max_book_age_ms: float = Field(default=2000.0, gt=0, allow_inf_nan=False)  # an older book is untradeable
    volatility_window_s: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    volatility_sample_ms: float = Field(default=1000.0, gt=0, allow_inf_nan=False)  # mids sampled at most this often

    @field_validator("volatility_sample_ms")
    @classmethod
    def _within_window(cls, value: float, info: ValidationInfo) -> float:
        window = info.data.get("volatility_window_s")
        if window is not None and value >= window * 1000:
            raise ValueError("must be shorter than volatility_window_s")
        return value


class TraderApiSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8790, ge=0, le=65535)  # 0 picks a free port (tests)
    token: SecretStr | None = None  # required when host is not loopback (shared/auth.py)

    @field_validator("token")
    @classmethod
    def _required_when_exposed(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        host = info.data.get("host", "127.0.0.1")
        if info.data.get("enabled", True) and exposed_without_token(host, value):
            raise ValueError(token_required("trader.api", host))
        return value

    def token_value(self) -> str | None:
        return token_value(self.token)


class InstanceSettings(Section):
    """A strategy instance. venues: cross_exchange two or more (every ordered pair is tried), triangular
    one, limit_hedge two (where the limit rests, then where it is hedged). symbols: one, or three closing
    a cycle for triangular. size: base units, or units of start_asset for triangular."""

    id: str = Field(pattern=_ID.pattern)
    kind: StrategyKind
    venues: tuple[str, ...]
    symbols: tuple[str, ...]
    size: Decimal = Field(gt=0, allow_inf_nan=False)
    min_profit_bps: Decimal = Field(ge=0, allow_inf_nan=False)
    enabled: bool = True  # false: the instance starts paused
    start_asset: str | None = None  # triangular: where each cycle starts and ends (default: the quote of two symbols)
    sides: tuple[Side, ...] | None = None  # limit_hedge: which limit orders rest (default: buy and sell)
    reprice_bps: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)  # limit_hedge (default 2)

    @field_validator("venues")
    @classmethod
    def _venue_count(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a venue is listed twice")
        kind = info.data.get("kind")
        if kind is StrategyKind.CROSS_EXCHANGE and len(value) < 2:
            raise ValueError("cross_exchange needs two or more venues")
        if kind is StrategyKind.TRIANGULAR and len(value) != 1:
            raise ValueError("triangular trades on one venue")
        if kind is StrategyKind.LIMIT_HEDGE and len(value) != 2:
            raise ValueError("limit_hedge needs two venues: where the limit order rests, then where it is hedged")
        return value

    @field_validator("symbols")
    @classmethod
    def _symbol_shape(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        for symbol in value:
            _spot(symbol)
        if len(set(value)) != len(value):
            raise ValueError("a symbol is listed twice")
        kind = info.data.get("kind")
        if kind is StrategyKind.TRIANGULAR:
            if len(value) != 3 or not closes_cycle(value):
                raise ValueError(f"{', '.join(value)} do not close a cycle: triangular needs three symbols over three assets, "
                                 "each asset in two of them")
        elif kind is not None and len(value) != 1:
            raise ValueError(f"{kind.value} trades one symbol")
        return value

    @field_validator("start_asset")
    @classmethod
    def _start_asset(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind, symbols = info.data.get("kind"), info.data.get("symbols")
        if kind is not StrategyKind.TRIANGULAR:
            if value is not None:
                raise ValueError("only read with kind: triangular")
            return value
        if symbols is None:  # the symbols are wrong, and that error is reported
            return value
        assets = {asset for symbol in symbols for asset in spot_pair(symbol)}
        if value is None:
            if default_start_asset(symbols) is None:
                raise ValueError(f"required: no asset is the quote of two of {', '.join(symbols)}")
        elif value not in assets:
            raise ValueError(f"{value!r} is not one of the cycle's assets ({', '.join(sorted(assets))})")
        return value

    @field_validator("sides", "reprice_bps")
    @classmethod
    def _limit_hedge_only(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("kind") not in (StrategyKind.LIMIT_HEDGE, None):
            raise ValueError("only read with kind: limit_hedge")
        if info.field_name == "sides" and value is not None and (not value or len(set(value)) != len(value)):
            raise ValueError("list buy, sell or both, once each")
        return value

    def cycle_start(self) -> str:
        """A triangular instance's start asset, given or defaulted."""
        start = self.start_asset or default_start_asset(self.symbols)
        if start is None:
            raise ValueError(f"instance {self.id}: no start asset")
        return start


class TraderSettings(Section):
    mode: TraderMode = TraderMode.PAPER
    stream: StreamSettings = StreamSettings()
    journal_path: str = Field(default="data/trader/journal.sqlite", min_length=1)  # the trader's own record
    paper_store_path: str = Field(default="data/trader/paper.sqlite", min_length=1)  # the paper venue's record
    shutdown_grace_s: float = Field(default=30.0, ge=0, allow_inf_nan=False)  # wait for in-flight legs on SIGTERM
    reconcile_interval_s: float = Field(default=10.0, gt=0, allow_inf_nan=False)  # balances and open orders vs the executor
    summary_interval_s: float = Field(default=10.0, gt=0, allow_inf_nan=False)  # a log line with the running PnL
    venues: dict[str, VenueSpecSettings] = Field(default_factory=dict)
    paper: PaperSettings = PaperSettings()
    risk: RiskSettings = RiskSettings()
    market_view: MarketViewSettings = MarketViewSettings()
    api: TraderApiSettings = TraderApiSettings()
    instances: tuple[InstanceSettings, ...] = ()

    @field_validator("mode")
    @classmethod
    def _paper_only(cls, value: TraderMode) -> TraderMode:
        if value is TraderMode.LIVE:
            raise ValueError("live execution comes in a later issue; only 'paper' is supported for now")
        return value

    @field_validator("paper_store_path")
    @classmethod
    def _apart_from_journal(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("journal_path"):
            raise ValueError("must differ from journal_path: the paper venue keeps its own record, apart from the journal")
        return value


def closes_cycle(symbols: tuple[str, ...]) -> bool:
    """Three distinct spot symbols over three assets, each asset in exactly two of them."""
    counts: dict[str, int] = {}
    for symbol in symbols:
        for asset in spot_pair(symbol):
            counts[asset] = counts.get(asset, 0) + 1
    return len(set(symbols)) == 3 and len(counts) == 3 and all(n == 2 for n in counts.values())


def default_start_asset(symbols: tuple[str, ...]) -> str | None:
    """The asset that is the quote of two of the symbols (USDT for BTC-USDT, ETH-USDT, ETH-BTC), if one is."""
    quotes = [spot_pair(symbol)[1] for symbol in symbols]
    return next((q for q in quotes if quotes.count(q) == 2), None)


def symbol_grid(trader: TraderSettings, exchanges: Mapping[str, ExchangeSettings], sim: SimSettings,
                venue: str, symbol: str) -> tuple[Decimal, Decimal] | None:
    """(tick, lot) of a symbol on a venue: the trader's own spec, else the simulator's for a simulated venue."""
    spec = _symbol_spec(trader, venue, symbol)
    simulated = venue in exchanges and exchanges[venue].endpoint is EndpointKind.SIM
    sim_symbol = sim.symbols.get(symbol) if simulated else None
    tick = spec.tick if spec.tick is not None else (Decimal(repr(sim_symbol.tick)) if sim_symbol else None)
    lot = spec.lot if spec.lot is not None else (Decimal(repr(sim_symbol.lot)) if sim_symbol else None)
    return (tick, lot) if tick is not None and lot is not None else None


def trader_problem(trader: TraderSettings, exchanges: Mapping[str, ExchangeSettings],
                   sim: SimSettings) -> tuple[str, str] | None:
    """The first (key, problem) where the trader section disagrees with `exchanges` or `sim`, or None."""
    for venue in trader.paper.balances:
        if venue not in exchanges:
            return f"trader.paper.balances.{venue}", _unknown(venue, exchanges)
    seen: dict[str, int] = {}
    for i, instance in enumerate(trader.instances):
        if instance.id in seen:
            return f"trader.instances.{i}.id", f"{instance.id!r} is also the id of trader.instances.{seen[instance.id]}"
        seen[instance.id] = i
    return _venue_spec_problem(trader, exchanges) or next(
        (p for i, instance in enumerate(trader.instances) if (p := _instance_problem(trader, exchanges, sim, i, instance))), None)


def _venue_spec_problem(trader: TraderSettings, exchanges: Mapping[str, ExchangeSettings]) -> tuple[str, str] | None:
    for venue, spec in trader.venues.items():
        if venue not in exchanges:
            return f"trader.venues.{venue}", _unknown(venue, exchanges)
        simulated = exchanges[venue].endpoint is EndpointKind.SIM
        for symbol, symbol_spec in spec.symbols.items():
            key = f"trader.venues.{venue}.symbols.{symbol}"
            if symbol not in exchanges[venue].symbols:
                return key, _not_collected(symbol, venue, exchanges[venue])
            for name in ("tick", "lot"):
                if getattr(symbol_spec, name) is None and not simulated:
                    return f"{key}.{name}", f"required: '{venue}' is not simulated, so there is no default"
    return None


def _instance_problem(trader: TraderSettings, exchanges: Mapping[str, ExchangeSettings], sim: SimSettings,
                      i: int, instance: InstanceSettings) -> tuple[str, str] | None:
    key = f"trader.instances.{i}"
    for venue in instance.venues:
        if venue not in exchanges:
            return f"{key}.venues", _unknown(venue, exchanges)
        if Channel.BOOK not in exchanges[venue].channels:
            return f"{key}.venues", f"venue {venue!r} does not collect the book channel (exchanges.{venue}.channels)"
    for venue in instance.venues:
        for symbol in instance.symbols:
            if symbol not in exchanges[venue].symbols:
                return f"{key}.symbols", _not_collected(symbol, venue, exchanges[venue])
            grid = symbol_grid(trader, exchanges, sim, venue, symbol)
            if grid is None:
                return f"{key}.symbols", (f"no tick and lot for {symbol} on {venue!r}: set trader.venues.{venue}.symbols.{symbol} "
                                          "(only simulated venues have defaults)")
            smallest = max(grid[1], _symbol_spec(trader, venue, symbol).min_size)
            if instance.kind is not StrategyKind.TRIANGULAR and instance.size < smallest:  # a triangle's size is not in base
                base = spot_pair(symbol)[0]
                return f"{key}.size", f"{instance.size} {base} is under the smallest order on {venue!r} ({smallest}: lot or min_size)"
    return None


def _unknown(venue: str, exchanges: Mapping[str, ExchangeSettings]) -> str:
    return f"unknown venue {venue!r} (exchanges lists: {', '.join(sorted(exchanges)) or 'nothing'})"


def _symbol_spec(trader: TraderSettings, venue: str, symbol: str) -> SymbolSpecSettings:
    return trader.venues.get(venue, VenueSpecSettings()).symbols.get(symbol, SymbolSpecSettings())


def _not_collected(symbol: str, venue: str, exchange: ExchangeSettings) -> str:
    return f"symbol {symbol!r} is not collected on {venue!r} (exchanges.{venue}.symbols lists: {', '.join(exchange.symbols)})"


def _spot(symbol: str) -> None:
    if not is_normalized(symbol):
        raise ValueError(f"symbol {symbol!r} is not of the form BASE-QUOTE in upper case (e.g. BTC-USDT)")
    spot_pair(symbol)  # refuses a derivative: the trader trades spot only
