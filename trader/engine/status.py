"""The engine's status: one typed snapshot for the API, the CLI and the metrics."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from shared.trading import ArbitrageAttempt, Balance, Order, StrategyInstance
from trader.engine.latency import LatencySummary
from trader.engine.reports import ExposureUnhedged
from trader.risk import RiskStatus, Shortfall

PnlTable = dict[str, dict[str, Decimal]]  # key (venue, instance or session) -> profit asset -> realized PnL after fees


class EngineState(StrEnum):
    IDLE = "idle"  # not started
    RUNNING = "running"
    SAFE_MODE = "safe_mode"  # running, opening no new positions
    KILLED = "killed"
    STOPPED = "stopped"
    REFUSED = "refused"  # recovery could not complete: not trading


@dataclass(frozen=True, slots=True)
class ArbitrageCounts:
    succeeded: int = 0  # filled as planned, or hedged back to flat
    failed: int = 0  # ended failed-unhedged
    aborted: int = 0  # stopped before anything filled


@dataclass(frozen=True, slots=True)
class EngineStatus:
    state: EngineState
    reason: str
    ts: int
    session_id: int | None
    balances: tuple[Balance, ...]
    positions: dict[str, Decimal]  # net exposure per asset of unfinished and unhedged arbitrages
    open_orders: tuple[Order, ...]
    recent_arbitrages: tuple[ArbitrageAttempt, ...]  # newest first, legs and hedges included
    in_flight: int
    pnl_by_venue: PnlTable
    pnl_by_instance: PnlTable
    pnl_by_session: PnlTable
    counts: ArbitrageCounts
    max_drawdown: Decimal  # of the realized PnL series, in the valuation asset
    sharpe: float | None  # per arbitrage, not annualized
    risk: RiskStatus
    shortfalls: tuple[Shortfall, ...]  # each with the transfer that would restore it
    unhedged: tuple[ExposureUnhedged, ...]
    tick_to_decision: LatencySummary
    instances: tuple[StrategyInstance, ...]
