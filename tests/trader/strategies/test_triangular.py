"""Triangular arbitrage on one venue's hand-built books: leg-by-leg rounding, yields carried after fees."""

from __future__ import annotations

from decimal import Decimal as D

from shared.events import Side
from shared.trading import Intent, StrategyInstance, StrategyKind, TriangularParams
from tests.trader.market_data import T0, S, balances, book, context, spec, view
from trader.market import MarketViewConfig
from trader.strategies import plan, requirements, triangular

SYMBOLS = ("BTC-USDT", "ETH-BTC", "ETH-USDT")
SPECS = [
    spec("binance", "BTC-USDT", lot="0.00001", min_notional="5"),
    spec("binance", "ETH-BTC", tick="0.00001", lot="0.0001", min_notional="0.0001"),
    spec("binance", "ETH-USDT", lot="0.0001", min_notional="5"),
]  # taker 0.1% on each
BTC = book("binance", "BTC-USDT", [(49990.0, 1.0)], [(50000.0, 0.01), (50010.0, 1.0)])
ETH_BTC = book("binance", "ETH-BTC", [(0.0499, 5.0)], [(0.05, 5.0)])
ETH = book("binance", "ETH-USDT", [(2515.0, 0.2), (2510.0, 5.0)], [(2520.0, 5.0)])
FUNDED = balances(("binance", "USDT", "5000"))


def instance(size: str = "1000", min_profit_bps: str = "10") -> StrategyInstance:
    return StrategyInstance("tri", TriangularParams("binance", SYMBOLS, "USDT", D(size), D(min_profit_bps)))


def test_both_directions_of_the_cycle_from_the_start_asset() -> None:
    forward, backward = triangular.cycles(instance().params)  # type: ignore[arg-type]
    assert [(s.symbol, s.side) for s in forward] == [("BTC-USDT", Side.BUY), ("ETH-BTC", Side.BUY), ("ETH-USDT", Side.SELL)]
    assert [(s.symbol, s.side) for s in backward] == [("ETH-USDT", Side.BUY), ("ETH-BTC", Side.SELL), ("BTC-USDT", Side.SELL)]


def test_each_leg_is_sized_from_what_the_previous_leg_yields_after_its_fee() -> None:
    (proposal,) = plan(context(view(BTC, ETH_BTC, ETH), FUNDED, SPECS), instance()).proposals
    btc, eth, back = proposal.legs
    # 1000 USDT buys 0.01 BTC at 50000 and 500 / 50010 = 0.009998 more: 0.01999 on the lot, costing 999.5999.
    assert (btc.symbol, btc.side, btc.amount, btc.price, btc.chained) == ("BTC-USDT", Side.BUY, D("0.01999"), D("50010.00"), False)
    assert btc.expected_price == D("999.5999") / D("0.01999")
    # It yields 0.01997001 BTC, which buys 0.3994002 ETH at 0.05: 0.3994 on the lot.
    assert (eth.symbol, eth.side, eth.amount, eth.price, eth.chained) == ("ETH-BTC", Side.BUY, D("0.3994"), D("0.05000"), True)
    # That yields 0.3990006 ETH, sold as 0.3990: 0.2 at 2515 and 0.199 at 2510 = 1002.49 USDT, 1001.48751 after the fee.
    assert (back.symbol, back.side, back.amount, back.price, back.chained) == ("ETH-USDT", Side.SELL, D("0.3990"), D("2510.00"), True)
    # The remainders under a lot (0.00000001 BTC, 0.0000006 ETH) count at the cycle's rates: 1001.4895175 back for 999.5999.
    assert proposal.edge_bps == D("18.90")
    assert abs(proposal.expected_profit - D("1.8896175")) < D("1e-7")
    assert (proposal.kind, proposal.intent, proposal.direction, proposal.profit_asset) == (
        StrategyKind.TRIANGULAR, Intent.OPEN, "USDT>BTC>ETH>USDT", "USDT")


def test_nothing_when_three_fees_eat_the_edge() -> None:
    # 2505 / 2500 is 20 bps gross; three 10 bps fees take 30.
    eth = book("binance", "ETH-USDT", [(2505.0, 5.0)], [(2520.0, 5.0)])
    assert plan(context(view(BTC, ETH_BTC, eth), FUNDED, SPECS), instance(min_profit_bps="0")).proposals == ()


def test_the_other_direction_when_it_is_the_profitable_one() -> None:
    # ETH bought at 2400, sold for 0.0505 BTC, the BTC sold at 49990: 0.0505 * 49990 / 2400 = 1.0519 gross.
    eth_btc = book("binance", "ETH-BTC", [(0.0505, 5.0)], [(0.0506, 5.0)])
    eth = book("binance", "ETH-USDT", [(2399.0, 5.0)], [(2400.0, 5.0)])
    (proposal,) = plan(context(view(BTC, eth_btc, eth), FUNDED, SPECS), instance()).proposals
    assert proposal.direction == "USDT>ETH>BTC>USDT"
    eth_leg, btc_leg, back = proposal.legs
    assert (eth_leg.side, eth_leg.amount) == (Side.BUY, D("0.4166"))  # 1000 / 2400 = 0.41666, down to the lot
    assert (btc_leg.side, btc_leg.amount) == (Side.SELL, D("0.4161"))  # 0.4166 * 0.999 = 0.4161834
    assert (back.side, back.amount) == (Side.SELL, D("0.02099"))  # 0.4161 * 0.0505 * 0.999 = 0.020991...


def test_the_start_balance_caps_the_cycle() -> None:
    (proposal,) = plan(context(view(BTC, ETH_BTC, ETH), balances(("binance", "USDT", "250")), SPECS), instance()).proposals
    assert proposal.legs[0].amount == D("0.00500")  # 250 / 50000
    assert proposal.legs[0].amount * proposal.legs[0].expected_price == D("250.00000")


def test_nothing_when_a_leg_rounds_under_its_minimum() -> None:
    assert plan(context(view(BTC, ETH_BTC, ETH), balances(("binance", "USDT", "4")), SPECS), instance()).proposals == ()


def test_nothing_when_one_of_the_three_books_is_stale() -> None:
    fresh_btc = book("binance", "BTC-USDT", BTC.bids, BTC.asks, at=T0 + 2 * S)
    fresh_eth = book("binance", "ETH-USDT", ETH.bids, ETH.asks, at=T0 + 2 * S)
    market = view(ETH_BTC, fresh_btc, fresh_eth, config=MarketViewConfig(max_book_age_ns=S))
    assert plan(context(market, FUNDED, SPECS, now=T0 + 2 * S), instance()).proposals == ()


def test_both_directions_need_the_start_asset_on_the_venue() -> None:
    needs = requirements(context(view(BTC), FUNDED, SPECS), [instance()])
    assert {(n.direction, n.venue, n.asset, n.amount) for n in needs} == {
        ("USDT>BTC>ETH>USDT", "binance", "USDT", D(1000)),
        ("USDT>ETH>BTC>USDT", "binance", "USDT", D(1000)),
    }
