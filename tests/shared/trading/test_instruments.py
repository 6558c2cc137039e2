"""Instrument specs: rounding to a venue's tick and lot grids, minimums and fees."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.trading import Instruments, InstrumentSpec, Liquidity, Side, to_decimal

BTC = InstrumentSpec("binance", "BTC-USDT", tick_size=D("0.01"), lot_size=D("0.00001"), min_size=D("0.0001"),
                     min_notional=D(5), maker_fee=D("0.0002"), taker_fee=D("0.001"))


def test_amounts_round_down_to_the_lot_and_print_at_its_precision() -> None:
    assert BTC.round_amount(D("0.0123456789")) == D("0.01234")
    assert str(BTC.round_amount(D(1))) == "1.00000"
    assert BTC.round_amount_up(D("0.012341")) == D("0.01235")


def test_a_lot_that_is_not_a_power_of_ten() -> None:
    spec = InstrumentSpec("x", "ABC-USDT", tick_size=D("0.05"), lot_size=D("0.5"))
    assert spec.round_amount(D("1.7")) == D("1.5")
    assert spec.round_amount_up(D("1.7")) == D("2.0")
    assert spec.floor_price(D("10.07")) == D("10.05")
    assert spec.ceil_price(D("10.07")) == D("10.10")


def test_prices_round_to_the_tick_passively_or_aggressively_by_side() -> None:
    price = D("65000.005")
    assert BTC.passive_price(Side.BUY, price) == D("65000.00")  # a bid never pays more
    assert BTC.passive_price(Side.SELL, price) == D("65000.01")  # an ask never asks less
    assert BTC.aggressive_price(Side.BUY, price) == D("65000.01")  # a taker buy still reaches the level
    assert BTC.aggressive_price(Side.SELL, price) == D("65000.00")
    assert BTC.nearest_price(D("65000.004")) == D("65000.00")


def test_minimum_size_and_notional() -> None:
    assert BTC.meets_minimums(D("0.0001"), D(65000))
    assert not BTC.meets_minimums(D("0.00009"), D(65000))  # under min_size
    assert not BTC.meets_minimums(D("0.0001"), D(40000))  # 4 USDT, under min_notional 5
    assert BTC.shortfall(D("0.0001"), D(40000)) == "binance BTC-USDT: notional 4.0000 is under the minimum 5"
    assert BTC.shortfall(D(0), D(40000)) == "binance BTC-USDT: size rounds to 0 at lot 0.00001"
    assert BTC.shortfall(D("0.001"), D(40000)) is None


def test_fees_are_charged_on_the_asset_received() -> None:
    assert BTC.fee(Side.BUY, D("0.5"), D(60000), Liquidity.TAKER) == D("0.0005")  # BTC
    assert BTC.received(Side.BUY, D("0.5"), D(60000), Liquidity.TAKER) == D("0.4995")
    assert BTC.fee(Side.SELL, D("0.5"), D(60000), Liquidity.MAKER) == D("6.0000")  # USDT at 2 bps
    assert BTC.received(Side.SELL, D("0.5"), D(60000), Liquidity.MAKER) == D("29994.0000")
    assert (BTC.received_asset(Side.BUY), BTC.spent_asset(Side.BUY)) == ("BTC", "USDT")


def test_float_market_prices_become_the_decimals_they_print_as() -> None:
    assert to_decimal(65000.01) == D("65000.01")
    assert to_decimal(0.04923) == D("0.04923")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tick_size": D(0)}, "tick_size and lot_size must be positive"),
        ({"min_notional": D(-1)}, "cannot be negative"),
        ({"taker_fee": D(1)}, "taker_fee 1 is not a rate"),
        ({"symbol": "btcusdt"}, "BASE-QUOTE"),
    ],
)
def test_a_spec_that_makes_no_sense_is_refused(changes: dict[str, object], message: str) -> None:
    fields = {"venue": "v", "symbol": "BTC-USDT", "tick_size": D("0.01"), "lot_size": D("0.001")} | changes
    with pytest.raises(ValueError, match=message):
        InstrumentSpec(**fields)  # type: ignore[arg-type]


def test_instruments_name_a_missing_spec_and_refuse_duplicates() -> None:
    instruments = Instruments([BTC])
    assert instruments.spec("binance", "BTC-USDT") is BTC
    with pytest.raises(KeyError, match="no instrument spec for bybit BTC-USDT"):
        instruments.spec("bybit", "BTC-USDT")
    with pytest.raises(ValueError, match="specified twice"):
        Instruments([BTC, BTC])
