"""The trading engine: strategies, risk, execution and journal wired together, fed market events by the
service. `build_engine` is the one place that chooses its parts from the trader's configuration."""

from __future__ import annotations

from shared.clock import Clock
from trader.config import TraderConfig
from trader.engine.config import EngineConfig
from trader.engine.engine import TradingEngine
from trader.engine.latency import LatencyRecorder, LatencySummary
from trader.engine.legs import LegController, LegServices
from trader.engine.pnl import attempt_pnl, max_drawdown, sharpe, venue_pnl
from trader.engine.reports import ExposureUnhedged, KillReport, StopReport, TradingRefused
from trader.engine.status import ArbitrageCounts, EngineState, EngineStatus
from trader.execution import ExecutionQueues, PaperConfig, PaperExecutor, PaperStore
from trader.journal import Journal
from trader.market import MarketView
from trader.risk import RiskManager

__all__ = [
    "ArbitrageCounts",
    "EngineConfig",
    "EngineState",
    "EngineStatus",
    "ExposureUnhedged",
    "KillReport",
    "LatencyRecorder",
    "LatencySummary",
    "LegController",
    "LegServices",
    "StopReport",
    "TradingEngine",
    "TradingRefused",
    "attempt_pnl",
    "build_engine",
    "max_drawdown",
    "sharpe",
    "venue_pnl",
]


def build_engine(config: TraderConfig, clock: Clock, engine: EngineConfig | None = None) -> TradingEngine:
    """A paper-trading engine on the configured files: the journal and the paper venue's own store.
    Call `start()` (recovery first) before feeding it events."""
    view = MarketView(config.market_view)
    journal = Journal(config.journal_path, clock)
    store = PaperStore(config.paper.store_path)
    executor = PaperExecutor(store, PaperConfig(config.instruments, config.paper.balances.as_tuple(), config.paper.latency_ns / 1e9), clock)
    risk = RiskManager(config.risk, config.instruments, view)
    return TradingEngine(journal=journal, executor=executor, queues=ExecutionQueues(executor), risk=risk, view=view,
                         instruments=config.instruments, clock=clock, config=engine, configured=config.instances)
