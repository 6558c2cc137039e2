"""The trader's settings section becomes the core's typed values, exactly."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from shared.settings import load_settings, settings_from_mapping
from shared.settings.trader import RiskSettings, TraderMode, TraderSettings
from shared.trading import (
    Balance,
    CrossExchangeParams,
    InstanceState,
    InstrumentSpec,
    LimitHedgeParams,
    Side,
    StrategyInstance,
    TriangularParams,
)
from trader.config import StreamConfig, market_view_config, risk_config, stream_config, trader_config
from trader.market import MarketViewConfig
from trader.risk.config import BreakerConfig, RiskConfig, RiskLimits, SafeModeConfig, VolatilityPolicy

ROOT = Path(__file__).resolve().parents[2]
DEMO: dict[str, Any] = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
S = 1_000_000_000


def demo(**trader: Any) -> dict[str, Any]:
    raw = copy.deepcopy(DEMO)
    raw["trader"].update(trader)
    return raw


def test_the_demo_config_converts_to_the_core_values() -> None:
    config = trader_config(load_settings(ROOT / "config" / "demo.yaml"))
    assert config.mode is TraderMode.PAPER
    assert config.journal_path == Path("data/trader/journal.sqlite")
    assert config.paper.store_path == Path("data/trader/paper.sqlite")
    assert config.shutdown_grace_ns == 30 * S
    assert config.instances == (
        StrategyInstance("btc-binance-gateio", CrossExchangeParams(("binance", "gateio"), "BTC-USDT", Decimal("0.01"), Decimal(3))),
        StrategyInstance("tri-binance", TriangularParams("binance", ("BTC-USDT", "ETH-BTC", "ETH-USDT"), "USDT", Decimal(300), Decimal(7))),
        StrategyInstance("eth-bybit-kucoin", LimitHedgeParams("bybit", "kucoin", "ETH-USDT", Decimal("0.1"), Decimal(8),
                                                              sides=(Side.BUY, Side.SELL), reprice_bps=Decimal(2))),
    )
    assert config.risk == RiskConfig(
        limits=RiskLimits(valuation_asset="USDT", max_trade_notional=Decimal(1500), max_position={"BTC": Decimal("0.1"), "ETH": Decimal(2)},
                          max_position_value=Decimal(5000), max_venue_value=Decimal(100_000), max_open_orders=20, max_daily_loss=Decimal(200)),
        volatility=VolatilityPolicy(scale_from_bps=60.0, pause_bps=300.0, min_scale=Decimal("0.25")),
        breaker=BreakerConfig(failures=5, window_ns=60 * S, cooldown_ns=120 * S),
        safe_mode=SafeModeConfig(auto_exit=True, stale_after_ns=5 * S, errors=10, error_window_ns=60 * S),
    )
    assert config.market_view == MarketViewConfig(max_book_age_ns=2 * S, volatility_window_ns=60 * S, volatility_sample_ns=S)
    assert config.paper.latency_ns == 50_000_000
    assert (config.api.enabled, config.api.host, config.api.port, config.api.token) == (True, "127.0.0.1", 8790, None)
    assert (config.stream.url, config.stream.token) == ("ws://127.0.0.1:8765/", None)


def test_demo_instruments_take_the_simulators_grid_and_each_venues_fees() -> None:
    instruments = trader_config(load_settings(ROOT / "config" / "demo.yaml")).instruments
    assert len(instruments) == 12  # 4 venues x 3 symbols
    assert instruments.spec("binance", "ETH-BTC") == InstrumentSpec(
        "binance", "ETH-BTC", tick_size=Decimal("0.00001"), lot_size=Decimal("0.0001"), min_size=Decimal(0),
        min_notional=Decimal("0.0001"), maker_fee=Decimal("0.00075"), taker_fee=Decimal("0.00075"))
    assert instruments.spec("gateio", "BTC-USDT") == InstrumentSpec(
        "gateio", "BTC-USDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"), min_size=Decimal(0),
        min_notional=Decimal(0), maker_fee=Decimal("0.001"), taker_fee=Decimal("0.001"))


def test_demo_paper_balances_are_one_balance_per_venue_and_asset() -> None:
    balances = trader_config(load_settings(ROOT / "config" / "demo.yaml")).paper.balances
    assert len(balances) == 12
    assert balances[("kucoin", "ETH")] == Balance("kucoin", "main", "ETH", Decimal(5))
    assert balances.free("binance", "USDT") == Decimal(20000) and balances.free("bybit", "BTC") == Decimal("0.3")


def test_the_settings_defaults_are_the_cores_defaults() -> None:
    assert risk_config(RiskSettings()) == RiskConfig()
    assert market_view_config(TraderSettings()) == MarketViewConfig()


def test_durations_become_exact_nanoseconds() -> None:
    settings = settings_from_mapping(demo(
        shutdown_grace_s=0.1, market_view={"max_book_age_ms": 750, "volatility_window_s": 0.3, "volatility_sample_ms": 0.1},
        paper={"latency_ms": 0.5}, risk={"breaker": {"window_s": 0.5, "cooldown_s": 1.1}, "safe_mode": {"stale_after_s": 2.5}}))
    config = trader_config(settings)
    assert config.shutdown_grace_ns == 100_000_000
    assert config.market_view == MarketViewConfig(max_book_age_ns=750_000_000, volatility_window_ns=300_000_000, volatility_sample_ns=100_000)
    assert config.paper.latency_ns == 500_000
    assert (config.risk.breaker.window_ns, config.risk.breaker.cooldown_ns) == (500_000_000, 1_100_000_000)
    assert config.risk.safe_mode.stale_after_ns == 2_500_000_000


def test_the_stream_defaults_to_the_collector_of_the_server_section_with_its_token() -> None:
    raw = demo()
    raw["server"] = {"host": "0.0.0.0", "port": 9001, "token": "server-token"}
    assert stream_config(settings_from_mapping(raw)) == StreamConfig("ws://127.0.0.1:9001/", "server-token")
    raw["server"] = {"host": "::", "port": 9002, "token": "t"}
    assert stream_config(settings_from_mapping(raw)).url == "ws://[::1]:9002/"
    raw["trader"]["stream"] = {"url": "wss://collector.example:443/", "token": "own-token"}
    stream = stream_config(settings_from_mapping(raw))
    assert (stream.url, stream.token) == ("wss://collector.example:443/", "own-token")
    assert "own-token" not in repr(stream)


def test_an_api_token_reaches_the_api_config_and_stays_out_of_its_repr() -> None:
    config = trader_config(settings_from_mapping(demo(api={"host": "0.0.0.0", "port": 0, "token": "api-token-1"})))
    assert (config.api.host, config.api.port, config.api.token) == ("0.0.0.0", 0, "api-token-1")
    assert "api-token-1" not in repr(config)


def test_instance_options_reach_the_params_and_a_disabled_instance_starts_paused() -> None:
    settings = settings_from_mapping(demo(instances=[
        {"id": "lh", "kind": "limit_hedge", "venues": ["gateio", "binance"], "symbols": ["BTC-USDT"], "size": 0.002,
         "min_profit_bps": 1.5, "sides": ["sell"], "reprice_bps": 0.5, "enabled": False},
        {"id": "tri", "kind": "triangular", "venues": ["kucoin"], "symbols": ["ETH-BTC", "ETH-USDT", "BTC-USDT"], "size": 0.01,
         "min_profit_bps": 0, "start_asset": "BTC"},
        {"id": "tri-default", "kind": "triangular", "venues": ["bybit"], "symbols": ["ETH-BTC", "ETH-USDT", "BTC-USDT"], "size": 100,
         "min_profit_bps": 1},
        {"id": "lh-default", "kind": "limit_hedge", "venues": ["bybit", "gateio"], "symbols": ["ETH-BTC"], "size": 1, "min_profit_bps": 2},
        {"id": "xex", "kind": "cross_exchange", "venues": ["binance", "bybit", "gateio", "kucoin"], "symbols": ["ETH-USDT"], "size": 0.5,
         "min_profit_bps": 4},
    ]))
    assert trader_config(settings).instances == (
        StrategyInstance("lh", LimitHedgeParams("gateio", "binance", "BTC-USDT", Decimal("0.002"), Decimal("1.5"), sides=(Side.SELL,),
                                                reprice_bps=Decimal("0.5")), state=InstanceState.PAUSED),
        StrategyInstance("tri", TriangularParams("kucoin", ("ETH-BTC", "ETH-USDT", "BTC-USDT"), "BTC", Decimal("0.01"), Decimal(0))),
        StrategyInstance("tri-default", TriangularParams("bybit", ("ETH-BTC", "ETH-USDT", "BTC-USDT"), "USDT", Decimal(100), Decimal(1))),
        StrategyInstance("lh-default", LimitHedgeParams("bybit", "gateio", "ETH-BTC", Decimal(1), Decimal(2))),
        StrategyInstance("xex", CrossExchangeParams(("binance", "bybit", "gateio", "kucoin"), "ETH-USDT", Decimal("0.5"), Decimal(4))),
    )


def test_live_venues_have_instruments_only_where_their_rules_are_given() -> None:
    settings = settings_from_mapping({
        "exchanges": {"binance": {"endpoint": "live", "symbols": ["BTC-USDT", "ETH-USDT", "BTC-USDT-PERP"]}},
        "trader": {"venues": {"binance": {"taker_fee_bps": 7.5, "maker_fee_bps": -1,
                                          "symbols": {"BTC-USDT": {"tick": 0.01, "lot": 0.00001, "min_size": 0.0001, "min_notional": 5}}}}},
    })
    instruments = trader_config(settings).instruments
    assert list(instruments) == [("binance", "BTC-USDT")]
    assert instruments.spec("binance", "BTC-USDT") == InstrumentSpec(
        "binance", "BTC-USDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"), min_size=Decimal("0.0001"),
        min_notional=Decimal(5), maker_fee=Decimal("-0.0001"), taker_fee=Decimal("0.00075"))


def test_a_simulated_venue_spec_can_override_the_simulators_grid() -> None:
    raw = demo()
    raw["trader"]["venues"]["kucoin"] = {"symbols": {"BTC-USDT": {"tick": 0.1, "min_size": 0.0001}}}
    spec = trader_config(settings_from_mapping(raw)).instruments.spec("kucoin", "BTC-USDT")
    assert (spec.tick_size, spec.lot_size, spec.min_size) == (Decimal("0.1"), Decimal("0.00001"), Decimal("0.0001"))
    assert spec.taker_fee == Decimal("0.001")  # the default fee: 10 bps
