"""Cross-exchange arbitrage on hand-built books: exact sizes and prices, both taker fees, lot rounding."""

from __future__ import annotations

from decimal import Decimal as D

from shared.trading import CrossExchangeParams, Intent, OrderType, Side, StrategyInstance, StrategyKind, TimeInForce
from tests.trader.market_data import MS, T0, S, balances, book, context, spec, view
from trader.market import MarketViewConfig
from trader.strategies import cross_exchange, plan, requirements

SPECS = [spec("binance", "BTC-USDT"), spec("bybit", "BTC-USDT"), spec("gateio", "BTC-USDT")]  # lot 0.001, min 10 USDT, taker 0.1%
# binance offers 0.5 at 100.00 and 1.0 at 100.10; bybit bids 0.4 at 100.60 and 1.0 at 100.40.
CHEAP = book("binance", "BTC-USDT", [(99.90, 1.0)], [(100.00, 0.5), (100.10, 1.0)])
RICH = book("bybit", "BTC-USDT", [(100.60, 0.4), (100.40, 1.0)], [(100.70, 1.0)], at=T0 - MS)
FUNDED = balances(("binance", "USDT", "1000"), ("bybit", "BTC", "10"))


def instance(size: str = "1", min_profit_bps: str = "10", venues: tuple[str, ...] = ("binance", "bybit")) -> StrategyInstance:
    return StrategyInstance("xex", CrossExchangeParams(venues, "BTC-USDT", D(size), D(min_profit_bps)))


def test_buys_the_configured_size_and_sells_what_it_yields_after_the_fee() -> None:
    (proposal,) = plan(context(view(CHEAP, RICH), FUNDED, SPECS), instance()).proposals
    buy, sell = proposal.legs
    # Buy 1.000: 0.5 at 100.00 + 0.5 at 100.10 = 100.05 USDT. It yields 0.999 BTC, sold as 0.4 at 100.60 + 0.599
    # at 100.40 = 100.3796 USDT, 100.2792204 after the fee: 22.91 bps over 100.05.
    assert (buy.venue, buy.side, buy.amount, buy.price, buy.expected_price) == ("binance", Side.BUY, D("1.000"), D("100.10"), D("100.05"))
    assert (sell.venue, sell.side, sell.amount, sell.price) == ("bybit", Side.SELL, D("0.999"), D("100.40"))
    assert sell.expected_price == D("100.3796") / D("0.999") and sell.chained
    assert all(leg.type is OrderType.LIMIT and leg.time_in_force is TimeInForce.IOC and leg.fee_rate == D("0.001") for leg in proposal.legs)
    assert proposal.edge_bps == D("22.91")
    assert abs(proposal.expected_profit - (D("100.2792204") - D("100.05"))) < D("1e-20")
    assert (proposal.kind, proposal.intent, proposal.direction, proposal.profit_asset) == (
        StrategyKind.CROSS_EXCHANGE, Intent.OPEN, "binance>bybit", "USDT")
    assert (proposal.id, proposal.instance_id, proposal.ts_event, proposal.ts_init) == ("p1", "xex", T0, T0)


def test_nothing_when_the_fees_eat_a_gross_edge() -> None:
    # 15 bps apart at the top, 20 bps of taker fees.
    near = book("bybit", "BTC-USDT", [(100.15, 5.0)], [(100.70, 1.0)])
    assert plan(context(view(CHEAP, near), FUNDED, SPECS), instance(min_profit_bps="0")).proposals == ()


def test_the_size_shrinks_to_the_largest_that_still_clears() -> None:
    # Past 0.5 the buy walks to 101.00: up to 0.554 the VWAP still clears 30 bps (30.11), at 0.555 it does not (29.93).
    cheap = book("binance", "BTC-USDT", [(99.90, 1.0)], [(100.00, 0.5), (101.00, 5.0)])
    rich = book("bybit", "BTC-USDT", [(100.60, 0.6), (99.00, 5.0)], [(100.70, 1.0)])
    (proposal,) = plan(context(view(cheap, rich), FUNDED, SPECS), instance(min_profit_bps="30")).proposals
    assert [leg.amount for leg in proposal.legs] == [D("0.554"), D("0.553")]
    assert [leg.price for leg in proposal.legs] == [D("101.00"), D("100.60")]
    assert proposal.edge_bps == D("30.11")


def test_the_quote_balance_on_the_buy_venue_caps_the_size() -> None:
    # 60 USDT buys 0.5 at 100.00 and 10 / 100.10 = 0.0999 more: 0.599 after rounding, costing 59.9099.
    funds = balances(("binance", "USDT", "60"), ("bybit", "BTC", "10"))
    (proposal,) = plan(context(view(CHEAP, RICH), funds, SPECS), instance()).proposals
    assert [leg.amount for leg in proposal.legs] == [D("0.599"), D("0.598")]  # 0.599 * 0.999 = 0.598401
    assert proposal.legs[0].expected_price == D("59.9099") / D("0.599")


def test_the_base_balance_on_the_sell_venue_caps_the_size() -> None:
    funds = balances(("binance", "USDT", "1000"), ("bybit", "BTC", "0.3"))
    (proposal,) = plan(context(view(CHEAP, RICH), funds, SPECS), instance()).proposals
    assert [leg.amount for leg in proposal.legs] == [D("0.300"), D("0.299")]  # 0.3 / 0.999 buys at most 0.3003
    assert proposal.edge_bps == D("39.89")  # 100.60 / 100.00 * 0.999^2, all on the top levels


def test_both_books_depth_caps_the_size() -> None:
    thin = book("bybit", "BTC-USDT", [(100.60, 0.2)], [(100.70, 1.0)])
    (proposal,) = plan(context(view(CHEAP, thin), FUNDED, SPECS), instance()).proposals
    assert [leg.amount for leg in proposal.legs] == [D("0.200"), D("0.199")]  # 0.2 / 0.999 = 0.2002 on bybit's bids


def test_nothing_when_the_size_rounds_under_the_venue_minimum() -> None:
    funds = balances(("binance", "USDT", "9"), ("bybit", "BTC", "10"))  # 0.09 BTC is 9 USDT, under the 10 USDT minimum
    assert plan(context(view(CHEAP, RICH), funds, SPECS), instance()).proposals == ()
    no_base = balances(("binance", "USDT", "1000"), ("bybit", "BTC", "0.0005"))  # rounds to 0 lots
    assert plan(context(view(CHEAP, RICH), no_base, SPECS), instance()).proposals == ()


def test_nothing_from_a_stale_book() -> None:
    market = view(CHEAP, RICH, config=MarketViewConfig(max_book_age_ns=S))
    assert plan(context(market, FUNDED, SPECS, now=T0 + 2 * S), instance()).proposals == ()


def test_the_best_pair_of_three_venues_is_the_one_proposed() -> None:
    richer = book("gateio", "BTC-USDT", [(100.80, 2.0)], [(101.00, 1.0)])
    funds = balances(("binance", "USDT", "1000"), ("bybit", "BTC", "10"), ("gateio", "BTC", "10"))
    (proposal,) = plan(context(view(CHEAP, RICH, richer), funds, SPECS), instance(venues=("binance", "bybit", "gateio"))).proposals
    assert proposal.direction == "binance>gateio"


def test_a_paused_instance_proposes_nothing() -> None:
    assert plan(context(view(CHEAP, RICH), FUNDED, SPECS), instance().paused()).proposals == ()


def test_each_direction_needs_quote_on_its_buy_venue_and_base_on_its_sell_venue() -> None:
    needs = requirements(context(view(CHEAP, RICH), FUNDED, SPECS), [instance()])
    by = {(n.direction, n.venue, n.asset): n.amount for n in needs}
    mid = D("99.95")  # the mid of binance's book, the most recent of BTC-USDT
    assert by == {
        ("binance>bybit", "binance", "USDT"): mid, ("binance>bybit", "bybit", "BTC"): D(1),
        ("bybit>binance", "bybit", "USDT"): mid, ("bybit>binance", "binance", "BTC"): D(1),
    }
    assert cross_exchange.direction("a", "b") == "a>b"
