"""The backtest: the trader's strategies, risk manager and paper executor run over a range of the lake,
in simulated time, as fast as possible; the same range gives the same report every time."""

from trader.backtest.loop import SimulatedLoop
from trader.backtest.report import BacktestReport, InstanceResult, Timing, Trade, Unhedged, build_report, render
from trader.backtest.runner import CHANNELS, NoMarketData, backtest, lake_events, run_backtest

__all__ = [
    "CHANNELS",
    "BacktestReport",
    "InstanceResult",
    "NoMarketData",
    "SimulatedLoop",
    "Timing",
    "Trade",
    "Unhedged",
    "backtest",
    "build_report",
    "lake_events",
    "render",
    "run_backtest",
]
