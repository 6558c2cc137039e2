"""Each risk limit on its own: what fits passes, what does not gives the fraction that fits, or 0."""

from __future__ import annotations

import math
from decimal import Decimal as D

import pytest

from shared.trading import DecisionReason
from tests.shared.trading.values import cross_proposal
from tests.trader.market_data import T0, S, balances, book
from trader.market import MarketView, MarketViewConfig
from trader.risk import RiskLimits, VolatilityPolicy
from trader.risk import limits as rules

PRICES = {"USDT": D(1), "BTC": D(100)}
LIMITS = RiskLimits(valuation_asset="USDT", max_trade_notional=D(1000), max_position={"BTC": D("0.5")}, max_position_value=D(30),
                    max_venue_value=D(1000), max_open_orders=20, max_daily_loss=D(200))
PROPOSAL = cross_proposal()  # buy 1.000 BTC on binance (limit 100.10), sell 0.999 on bybit (expected 100.48)


def test_daily_loss_stops_new_trades_once_the_realized_loss_reaches_the_limit() -> None:
    assert rules.daily_loss(D("-199.99"), LIMITS) is None
    limited = rules.daily_loss(D(-200), LIMITS)
    assert limited is not None and (limited.fraction, limited.reason) == (0, DecisionReason.DAILY_LOSS)


def test_open_orders_count_the_new_legs() -> None:
    assert rules.open_orders(18, PROPOSAL, LIMITS) is None
    limited = rules.open_orders(19, PROPOSAL, LIMITS)
    assert limited is not None and limited.detail == "19 open + 2 new > limit 20"


def test_trade_notional_resizes_to_the_limit_by_the_largest_leg() -> None:
    small = RiskLimits(max_trade_notional=D(50))
    limited = rules.trade_notional(PROPOSAL, PRICES.get, small)
    assert limited is not None and limited.reason is DecisionReason.NOTIONAL_LIMIT
    assert limited.fraction == D(50) / (D("0.999") * D("100.48"))  # the sell leg: 100.37952 USDT
    assert rules.trade_notional(PROPOSAL, PRICES.get, LIMITS) is None


def test_a_position_limit_counts_each_leg_alone() -> None:
    # Either leg alone moves BTC by 0.999 against a 0.5 limit.
    limited = rules.positions(PROPOSAL, {}, PRICES.get, LIMITS)
    assert limited is not None and limited.fraction == D("0.5") / D("0.999")
    # Holding 0.4 already, the buy leg alone has room for 0.1.
    limited = rules.positions(PROPOSAL, {"BTC": D("0.4")}, PRICES.get, LIMITS)
    assert limited is not None and limited.fraction == D("0.1") / D("0.999000")
    # Holding 0.6, past the limit: nothing that adds to it.
    limited = rules.positions(PROPOSAL, {"BTC": D("0.6")}, PRICES.get, LIMITS)
    assert limited is not None and limited.fraction == 0 and limited.reason is DecisionReason.POSITION_LIMIT


def test_an_asset_without_its_own_position_limit_is_held_to_a_value() -> None:
    limits = RiskLimits(max_position={}, max_position_value=D(30))  # 30 USDT of BTC at 100: 0.3 BTC
    limited = rules.positions(PROPOSAL, {}, PRICES.get, limits)
    assert limited is not None and limited.fraction == D("0.3") / D("0.999")
    with pytest.raises(rules.Unvalued, match="no price for BTC"):
        rules.positions(PROPOSAL, {}, {"USDT": D(1)}.get, limits)


def test_funding_resizes_to_the_free_balance() -> None:
    assert rules.funding(PROPOSAL, balances(("binance", "USDT", "1000"), ("bybit", "BTC", "10"))) is None
    limited = rules.funding(PROPOSAL, balances(("binance", "USDT", "50"), ("bybit", "BTC", "10")))
    assert limited is not None and limited.fraction == D(50) / D("100.10000")
    assert limited.detail == "binance needs 100.10000 USDT, has 50 free"


def test_venue_value_stops_a_trade_that_would_add_to_a_venue_at_its_limit() -> None:
    funds = balances(("binance", "USDT", "1000"), ("bybit", "BTC", "10"))  # bybit holds 1000 USDT of BTC already
    limited = rules.venue_value(PROPOSAL, funds, PRICES.get, LIMITS)
    # The sell swaps 0.999 BTC (99.9 USDT at 100) for 0.999 * 100.48 * 0.999 = 100.2791 USDT: +0.38.
    assert limited is not None and limited.fraction == 0 and limited.detail == "bybit would hold 1000.38 > limit 1000 USDT"
    assert rules.venue_value(PROPOSAL, balances(("binance", "USDT", "1000"), ("bybit", "BTC", "5")), PRICES.get, LIMITS) is None


def volatile_view() -> MarketView:
    """Mids 100, 101, 100 a second apart: realized volatility sqrt(2) * ln(1.01) = 140.7 bps."""
    market = MarketView(MarketViewConfig(volatility_window_ns=10 * S, volatility_sample_ns=S))
    for i, mid in enumerate([100.0, 101.0, 100.0]):
        market.on_book(book("binance", "BTC-USDT", [(mid - 0.05, 1.0)], [(mid + 0.05, 1.0)], at=T0 + i * S))
    return market


def test_size_shrinks_linearly_as_volatility_rises() -> None:
    vol = math.sqrt(2) * math.log(1.01) * 10_000
    policy = VolatilityPolicy(scale_from_bps=50.0, pause_bps=200.0, min_scale=D("0.25"))
    limited = rules.volatility(PROPOSAL, volatile_view(), T0 + 2 * S, policy)
    assert limited is not None and limited.reason is DecisionReason.VOLATILITY_SCALED
    assert float(limited.fraction) == pytest.approx(1 - (vol - 50) / 150 * 0.75)


def test_high_volatility_pauses_new_trades() -> None:
    limited = rules.volatility(PROPOSAL, volatile_view(), T0 + 2 * S, VolatilityPolicy(scale_from_bps=50.0, pause_bps=140.0))
    assert limited is not None and limited.fraction == 0 and limited.reason is DecisionReason.HIGH_VOLATILITY


def test_calm_or_unknown_volatility_leaves_the_size_alone() -> None:
    assert rules.volatility(PROPOSAL, volatile_view(), T0 + 2 * S, VolatilityPolicy(scale_from_bps=150.0, pause_bps=300.0)) is None
    assert rules.volatility(PROPOSAL, MarketView(), T0, VolatilityPolicy()) is None
