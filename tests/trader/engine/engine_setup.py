"""An engine on real files under tmp_path (journal, paper venue store), fed hand-built books; the clock is manual."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from shared.events import BookTop, Level, Side, Status, StatusKind
from shared.settings.trader import TraderMode
from shared.trading import Balance, Balances, CrossExchangeParams, Instruments, InstrumentSpec, LimitHedgeParams, StrategyInstance
from tests.trader.execution.paper_setup import ManualClock
from tests.trader.market_data import MS, T0, S, spec
from trader.config import ApiConfig, PaperConfig, StreamConfig, TraderConfig
from trader.engine import EngineConfig, TradingEngine, build_engine
from trader.market import MarketViewConfig
from trader.risk import RiskConfig

SPECS = (spec("binance", "BTC-USDT"), spec("bybit", "BTC-USDT"))  # tick 0.01, lot 0.001, min notional 10, taker 0.1%, maker 0
FUNDS = Balances((Balance("binance", "main", "USDT", D(1000)), Balance("binance", "main", "BTC", D(1)),
                  Balance("bybit", "main", "USDT", D(1000)), Balance("bybit", "main", "BTC", D(1))))
ENGINE = EngineConfig(poll_s=0.01)


def xex(instance_id: str = "xex", size: str = "0.5", min_profit_bps: str = "10") -> StrategyInstance:
    return StrategyInstance(instance_id, CrossExchangeParams(("binance", "bybit"), "BTC-USDT", D(size), D(min_profit_bps)))


def lh(instance_id: str = "lh", size: str = "0.2") -> StrategyInstance:
    return StrategyInstance(instance_id, LimitHedgeParams("binance", "bybit", "BTC-USDT", D(size), D(10), sides=(Side.BUY,)))


def config(tmp_path: Path, *instances: StrategyInstance, latency_ms: int = 0, specs: tuple[InstrumentSpec, ...] = SPECS,
           funds: Balances = FUNDS) -> TraderConfig:
    return TraderConfig(
        mode=TraderMode.PAPER,
        stream=StreamConfig("ws://127.0.0.1:1/"),
        journal_path=tmp_path / "journal.db",
        shutdown_grace_ns=30 * S,
        instruments=Instruments(specs),
        instances=instances,
        risk=RiskConfig(),
        market_view=MarketViewConfig(max_book_age_ns=2 * S),
        paper=PaperConfig(latency_ms * MS, funds, tmp_path / "venue.db"),
        api=ApiConfig(False, "127.0.0.1", 0),
    )


def engine(tmp_path: Path, *instances: StrategyInstance, clock: ManualClock | None = None, latency_ms: int = 0,
           engine_config: EngineConfig = ENGINE, specs: tuple[InstrumentSpec, ...] = SPECS, funds: Balances = FUNDS) -> TradingEngine:
    return build_engine(config(tmp_path, *instances, latency_ms=latency_ms, specs=specs, funds=funds), clock or ManualClock(), engine_config)


def btc(venue: str, bids: tuple[Level, ...], asks: tuple[Level, ...], at: int = T0, sequence: int = 1) -> BookTop:
    return BookTop(venue, "BTC-USDT", at - MS, at, bids, asks, sequence)


def down(venue: str, at: int = T0) -> Status:
    return Status(venue, None, at, at, StatusKind.DISCONNECTED, "test: feed lost")


# A dislocation: binance sells at 100.00, bybit buys at 101.00.
CHEAP = btc("binance", ((99.90, 5.0),), ((100.00, 1.0), (100.10, 5.0)))
RICH = btc("bybit", ((101.00, 1.0), (100.90, 5.0)), ((101.10, 5.0),))


TRI_SPECS = (
    spec("binance", "BTC-USDT", lot="0.00001", min_notional="5"),
    spec("binance", "ETH-BTC", tick="0.00001", lot="0.0001", min_notional="0.0001"),
    spec("binance", "ETH-USDT", lot="0.0001", min_notional="5"),
)  # taker 0.1% on each


def tri_book(symbol: str, bids: tuple[Level, ...], asks: tuple[Level, ...], sequence: int = 1) -> BookTop:
    return BookTop("binance", symbol, T0, T0, bids, asks, sequence)
