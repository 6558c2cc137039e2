"""Proposals: what they take from balances, and resizing that keeps chained legs consistent."""

from __future__ import annotations

from decimal import Decimal as D

import msgspec
import pytest

from shared.trading import Intent, Leg, Proposal, Side, StrategyKind
from tests.shared.trading.values import FEE, INSTRUMENTS, cross_proposal, triangle_proposal


def test_a_cross_exchange_proposal_spends_quote_on_the_buy_venue_and_base_on_the_sell_venue() -> None:
    assert cross_proposal().funding() == {("binance", "USDT"): D("100.10000"), ("bybit", "BTC"): D("0.999")}


def test_chained_legs_on_one_venue_spend_what_the_previous_leg_yields() -> None:
    # Leg 2 spends 39.90 * 0.05 = 1.995 BTC of the 1.998 leg 1 yields; leg 3 sells 39.86 of the 39.8601 ETH leg 2 yields.
    assert triangle_proposal().funding() == {("binance", "USDT"): D("200.000")}


def test_a_chained_leg_that_spends_more_than_its_predecessor_yields_takes_the_rest_from_the_balance() -> None:
    p = triangle_proposal()
    greedy = msgspec.structs.replace(p.legs[2], amount=D("40.00"))
    proposal = msgspec.structs.replace(p, legs=(p.legs[0], p.legs[1], greedy))
    assert proposal.funding()[("binance", "ETH")] == D("40.00") - D("39.90") * (1 - FEE)


def test_scaling_rounds_each_leg_and_sizes_a_chained_leg_by_its_predecessors_new_yield() -> None:
    scaled = cross_proposal().scaled(D("0.5"), INSTRUMENTS)
    assert scaled is not None
    assert [leg.amount for leg in scaled.legs] == [D("0.500"), D("0.499")]  # 0.5 * 0.999 = 0.4995, down to the lot
    assert scaled.expected_profit == D("0.115")
    assert scaled.edge_bps == D("22.91")


def test_scaling_a_triangle_keeps_every_leg_affordable_from_the_one_before() -> None:
    scaled = triangle_proposal().scaled(D("0.5"), INSTRUMENTS)
    assert scaled is not None
    btc, eth, back = scaled.legs
    assert btc.amount == D("1.000")
    assert eth.amount == D("19.95")  # half of 39.90; 0.999 BTC buys up to 19.98 at 0.05
    assert back.amount == D("19.93")  # half of 39.86; leg 2 yields 19.93005


def test_scaling_below_a_venue_minimum_gives_nothing() -> None:
    assert cross_proposal().scaled(D("0.009"), INSTRUMENTS) is None  # 0.009 BTC at ~100 is under 10 USDT


def test_scaling_needs_a_fraction_in_zero_to_one() -> None:
    with pytest.raises(ValueError, match="not in"):
        cross_proposal().scaled(D("1.5"), INSTRUMENTS)


def test_a_proposal_needs_legs_and_an_unchained_first_leg() -> None:
    leg = Leg("binance", "BTC-USDT", Side.BUY, D(1), D(100), D(100), FEE, chained=True)
    with pytest.raises(ValueError, match="first leg"):
        Proposal("p", "i", StrategyKind.CROSS_EXCHANGE, Intent.OPEN, "a>b", (leg,), D(0), D(0), "USDT", 0, 0)
    with pytest.raises(ValueError, match="no legs"):
        Proposal("p", "i", StrategyKind.CROSS_EXCHANGE, Intent.OPEN, "a>b", (), D(0), D(0), "USDT", 0, 0)


def test_a_leg_knows_what_it_spends_and_yields() -> None:
    buy, sell = cross_proposal().legs
    assert (buy.spent_asset, buy.spends, buy.received_asset, buy.yields) == ("USDT", D("100.10000"), "BTC", D("0.999000"))
    assert (sell.spent_asset, sell.spends, sell.received_asset) == ("BTC", D("0.999"), "USDT")
    assert sell.yields == D("0.999") * D("100.48") * (1 - FEE)
