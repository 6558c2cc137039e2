"""Hand-built trading values shared by the tests of the trading model."""

from __future__ import annotations

from decimal import Decimal as D

from shared.trading import (
    Fill,
    Instruments,
    InstrumentSpec,
    Intent,
    Leg,
    Liquidity,
    Proposal,
    Side,
    StrategyKind,
)

FEE = D("0.001")
INSTRUMENTS = Instruments(
    [
        InstrumentSpec("binance", "BTC-USDT", D("0.01"), D("0.001"), min_size=D("0.001"), min_notional=D(10), taker_fee=FEE),
        InstrumentSpec("bybit", "BTC-USDT", D("0.01"), D("0.001"), min_size=D("0.001"), min_notional=D(10), taker_fee=FEE),
        InstrumentSpec("binance", "ETH-BTC", D("0.00001"), D("0.01"), taker_fee=FEE),
        InstrumentSpec("binance", "ETH-USDT", D("0.01"), D("0.01"), taker_fee=FEE),
    ]
)


def cross_proposal(buy: str = "1.000", sell: str = "0.999") -> Proposal:
    """Buy BTC on binance at up to 100.10, sell what that yields on bybit down to 100.40."""
    return Proposal(
        id="p1",
        instance_id="xex",
        kind=StrategyKind.CROSS_EXCHANGE,
        intent=Intent.OPEN,
        direction="binance>bybit",
        legs=(
            Leg("binance", "BTC-USDT", Side.BUY, D(buy), D("100.10"), D("100.05"), FEE),
            Leg("bybit", "BTC-USDT", Side.SELL, D(sell), D("100.40"), D("100.48"), FEE, chained=True),
        ),
        edge_bps=D("22.91"),
        expected_profit=D("0.23"),
        profit_asset="USDT",
        ts_event=1,
        ts_init=2,
    )


def triangle_proposal() -> Proposal:
    """USDT -> BTC -> ETH -> USDT on binance."""
    return Proposal(
        id="p2",
        instance_id="tri",
        kind=StrategyKind.TRIANGULAR,
        intent=Intent.OPEN,
        direction="USDT>BTC>ETH>USDT",
        legs=(
            Leg("binance", "BTC-USDT", Side.BUY, D("2.000"), D(100), D(100), FEE),
            Leg("binance", "ETH-BTC", Side.BUY, D("39.90"), D("0.05"), D("0.05"), FEE, chained=True),
            Leg("binance", "ETH-USDT", Side.SELL, D("39.86"), D("5.1"), D("5.1"), FEE, chained=True),
        ),
        edge_bps=D(100),
        expected_profit=D(2),
        profit_asset="USDT",
        ts_event=1,
        ts_init=2,
    )


def fill_of(client_order_id: str, leg: Leg, amount: str, price: str | None = None, trade_id: str = "t") -> Fill:
    px = D(price) if price is not None else leg.expected_price
    amt = D(amount)
    fee = amt * leg.fee_rate if leg.side is Side.BUY else amt * px * leg.fee_rate
    return Fill(client_order_id, leg.venue, leg.account, leg.symbol, leg.side, trade_id, px, amt, fee, leg.received_asset, Liquidity.TAKER, 5)
