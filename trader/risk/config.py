"""The risk manager's parameters, as plain values; the trader's settings build them from its config file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class RiskLimits:
    valuation_asset: str = "USDT"  # what notional, balance and loss limits are counted in
    max_trade_notional: Decimal = Decimal(1000)  # largest leg of one proposal, valued
    max_position: Mapping[str, Decimal] = field(default_factory=dict)  # per asset, in its own units...
    max_position_value: Decimal = Decimal(5000)  # ...and valued, for assets not listed there
    max_venue_value: Decimal = Decimal(50_000)  # most value held on one venue (counterparty risk)
    max_open_orders: int = 20
    max_daily_loss: Decimal = Decimal(200)  # realized, valued, per UTC day


@dataclass(frozen=True, slots=True)
class VolatilityPolicy:
    """Trade size shrinks linearly from full at `scale_from_bps` to `min_scale` at `pause_bps`; at and past
    `pause_bps` new positions stop. Volatility is the market view's realized volatility over its window."""

    scale_from_bps: float = 30.0
    pause_bps: float = 100.0
    min_scale: Decimal = Decimal("0.25")


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    failures: int = 5  # failed or rejected orders...
    window_ns: int = 60 * _S  # ...within this window open the breaker...
    cooldown_ns: int = 120 * _S  # ...for this long, after which one trial order may go (half-open)


@dataclass(frozen=True, slots=True)
class SafeModeConfig:
    auto_exit: bool = True  # leave safe mode when every cause has cleared; otherwise only an operator can
    stale_after_ns: int = 5 * _S  # a traded venue/symbol untradeable this long enters safe mode
    errors: int = 10  # errors within the window enter safe mode; it clears when the window holds fewer
    error_window_ns: int = 60 * _S


@dataclass(frozen=True, slots=True)
class RiskConfig:
    limits: RiskLimits = RiskLimits()
    volatility: VolatilityPolicy = VolatilityPolicy()
    breaker: BreakerConfig = BreakerConfig()
    safe_mode: SafeModeConfig = SafeModeConfig()
