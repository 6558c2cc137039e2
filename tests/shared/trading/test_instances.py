"""Strategy instances: validated parameters per strategy, and pause/resume."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D

import pytest

from shared.trading import (
    CrossExchangeParams,
    InstanceState,
    LimitHedgeParams,
    Side,
    StrategyInstance,
    StrategyKind,
    TriangularParams,
)


def test_an_instance_knows_its_kind_venues_and_symbols() -> None:
    cross = StrategyInstance("x", CrossExchangeParams(("binance", "bybit"), "BTC-USDT", D("0.01"), D(10)))
    tri = StrategyInstance("t", TriangularParams("binance", ("BTC-USDT", "ETH-BTC", "ETH-USDT"), "USDT", D(500), D(5)))
    hedge_params = LimitHedgeParams("gateio", "binance", "ETH-USDT", D("0.1"), D(8))
    hedge = StrategyInstance("h", hedge_params)
    assert (cross.kind, cross.venues, cross.symbols) == (StrategyKind.CROSS_EXCHANGE, ("binance", "bybit"), ("BTC-USDT",))
    assert (tri.kind, tri.venues, tri.symbols) == (StrategyKind.TRIANGULAR, ("binance",), ("BTC-USDT", "ETH-BTC", "ETH-USDT"))
    assert (hedge.kind, hedge.venues, hedge_params.sides) == (StrategyKind.LIMIT_HEDGE, ("gateio", "binance"), (Side.BUY, Side.SELL))


def test_pausing_and_resuming() -> None:
    instance = StrategyInstance("x", CrossExchangeParams(("a", "b"), "BTC-USDT", D(1), D(1)))
    assert instance.active
    paused = instance.paused()
    assert paused.state is InstanceState.PAUSED and not paused.active
    assert paused.resumed().active


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CrossExchangeParams(("binance",), "BTC-USDT", D(1), D(1)), "two or more distinct venues"),
        (lambda: CrossExchangeParams(("a", "a"), "BTC-USDT", D(1), D(1)), "two or more distinct venues"),
        (lambda: CrossExchangeParams(("a", "b"), "BTC-USDT", D(0), D(1)), "size 0 must be positive"),
        (lambda: CrossExchangeParams(("a", "b"), "BTC-USDT", D(1), D(-1)), "accept losing trades"),
        (lambda: TriangularParams("a", ("BTC-USDT", "ETH-BTC", "SOL-USDT"), "USDT", D(1), D(1)), "do not form a cycle"),
        (lambda: TriangularParams("a", ("BTC-USDT", "ETH-BTC", "ETH-USDT"), "SOL", D(1), D(1)), "not one of the cycle's assets"),
        (lambda: LimitHedgeParams("a", "a", "BTC-USDT", D(1), D(1)), "must differ"),
        (lambda: LimitHedgeParams("a", "b", "BTC-USDT", D(1), D(1), sides=()), "once each"),
    ],
)
def test_parameters_that_make_no_sense_are_refused(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_only_spot_pairs_are_traded() -> None:
    with pytest.raises(ValueError, match="spot only"):
        CrossExchangeParams(("a", "b"), "BTC-USDT-PERP", D(1), D(1))
