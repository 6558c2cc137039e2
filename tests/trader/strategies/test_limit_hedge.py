"""Limit-then-hedge on hand-built books: the resting price that clears after the hedge, repricing and
canceling as the hedge venue moves, and the hedge of each fill."""

from __future__ import annotations

from decimal import Decimal as D

import msgspec

from shared.trading import (
    Intent,
    LimitHedgeParams,
    Order,
    OrderStatus,
    OrderType,
    Side,
    StrategyInstance,
    TimeInForce,
)
from tests.trader.market_data import T0, S, balances, book, context, spec, view
from trader.market import MarketView, MarketViewConfig
from trader.strategies import NOTHING, StrategyContext, limit_hedge, plan, requirements

# binance (the maker venue) charges makers 5 bps; bybit (the hedge venue) charges takers 10 bps.
SPECS = [spec("binance", "BTC-USDT", maker="0.0005"), spec("bybit", "BTC-USDT")]
MAKER = book("binance", "BTC-USDT", [(99.50, 1.0)], [(100.50, 1.0)])
HEDGE = book("bybit", "BTC-USDT", [(100.20, 0.3), (100.10, 1.0)], [(100.30, 0.3), (100.40, 1.0)])
FUNDED = balances(("binance", "USDT", "1000"), ("binance", "BTC", "10"), ("bybit", "BTC", "10"), ("bybit", "USDT", "1000"))


def instance(sides: tuple[Side, ...] = (Side.BUY,), reprice_bps: str = "2") -> StrategyInstance:
    return StrategyInstance("lh", LimitHedgeParams("binance", "bybit", "BTC-USDT", D("0.5"), D(10), sides, D(reprice_bps)))


def ctx(*books: object, funds: object = FUNDED, market: MarketView | None = None, now: int = T0) -> StrategyContext:
    return context(market or view(*books), funds, SPECS, now)  # type: ignore[arg-type]


def resting(price: str, side: Side = Side.BUY) -> Order:
    return Order("c1", "binance", "main", "BTC-USDT", side, OrderType.LIMIT, D("0.500"), D(price), TimeInForce.POST_ONLY,
                 OrderStatus.ACCEPTED)


def test_a_bid_is_priced_so_that_selling_its_fill_on_the_hedge_venue_clears_the_threshold() -> None:
    (proposal,) = plan(ctx(MAKER, HEDGE), instance()).proposals
    (leg,) = proposal.legs
    # A 0.5 bid yields 0.49975 BTC after the maker fee; the hedge sells 0.499 of it into bybit's bids:
    # 0.3 at 100.20 + 0.199 at 100.10, VWAP 100.1601. Break-even at 10 bps:
    # 100.1601 * 0.999 * 0.9995 / 1.001 = 99.9100, down to the tick.
    assert (leg.venue, leg.side, leg.amount, leg.price) == ("binance", Side.BUY, D("0.500"), D("99.91"))
    assert (leg.type, leg.time_in_force, leg.fee_rate) == (OrderType.LIMIT, TimeInForce.POST_ONLY, D("0.0005"))
    assert proposal.edge_bps == D("10.00")
    assert (proposal.intent, proposal.direction) == (Intent.OPEN, "bid")


def test_an_ask_is_priced_so_that_buying_its_replacement_on_the_hedge_venue_clears_the_threshold() -> None:
    quote = limit_hedge.quote(ctx(MAKER, HEDGE), instance((Side.SELL,)).params, Side.SELL)  # type: ignore[arg-type]
    assert isinstance(quote, limit_hedge.Quote)
    # Replacing 0.5 BTC takes 0.5 / 0.999 = 0.5005 bought on bybit, 0.501 on the lot: 0.3 at 100.30 + 0.201 at
    # 100.40, VWAP 100.3401. The ask must fetch 100.3401 * 1.001 / (0.9995 * 0.999) = 100.5913, up to 100.60.
    assert (quote.amount, quote.price, quote.hedge_amount) == (D("0.500"), D("100.60"), D("0.501"))
    assert quote.hedge_vwap == D("50.2704") / D("0.501")
    assert quote.edge_bps == D("10.87")


def test_a_bid_stays_under_the_maker_venues_best_ask() -> None:
    high = book("bybit", "BTC-USDT", [(101.50, 5.0)], [(101.60, 1.0)])
    (proposal,) = plan(ctx(MAKER, high), instance()).proposals
    assert proposal.legs[0].price == D("100.49")  # post-only: one tick under binance's 100.50 ask


def test_the_quote_balance_on_the_maker_venue_caps_a_bid() -> None:
    funds = balances(("binance", "USDT", "30"), ("bybit", "BTC", "10"))
    (proposal,) = plan(ctx(MAKER, HEDGE, funds=funds), instance()).proposals
    # 30 / 99.91 = 0.3002 -> 0.300; the smaller hedge (0.299) sells at 100.20 alone, so the price rises.
    assert proposal.legs[0].amount == D("0.300")
    assert proposal.legs[0].price == D("99.94")  # 100.20 * 0.999 * 0.9995 / 1.001 = 99.9498


def test_a_resting_bid_that_still_clears_and_has_not_drifted_is_kept() -> None:
    assert plan(ctx(MAKER, HEDGE), instance(), [resting("99.91")]) == NOTHING
    assert plan(ctx(MAKER, HEDGE), instance(), [resting("99.90")]).proposals == ()  # 1 bp under the ideal: within 2 bps


def test_a_resting_bid_is_repriced_at_once_when_the_hedge_venue_falls() -> None:
    lower = book("bybit", "BTC-USDT", [(100.00, 5.0)], [(100.30, 1.0)])
    result = plan(ctx(MAKER, lower), instance(), [resting("99.91")])
    (cancel,) = result.cancels
    assert cancel.client_order_id == "c1" and "no longer clears" in cancel.reason
    (proposal,) = result.proposals
    assert proposal.legs[0].price == D("99.75")  # 100.00 * 0.999 * 0.9995 / 1.001 = 99.7504


def test_a_resting_bid_is_repriced_when_the_hedge_venue_rises_past_the_tolerance() -> None:
    higher = book("bybit", "BTC-USDT", [(100.50, 5.0)], [(100.60, 1.0)])
    result = plan(ctx(MAKER, higher), instance(), [resting("99.91")])
    # 100.50 * 0.999 * 0.9995 / 1.001 = 100.2490: 33 bps over the resting 99.91.
    assert "ideal price moved from 99.91 to 100.24" in result.cancels[0].reason
    assert result.proposals[0].legs[0].price == D("100.24")


def test_a_resting_bid_is_canceled_when_the_hedge_venue_cannot_be_traded() -> None:
    market = view(MAKER, HEDGE, config=MarketViewConfig(max_book_age_ns=S))
    market.on_book(book("binance", "BTC-USDT", MAKER.bids, MAKER.asks, at=T0 + 2 * S))
    result = plan(ctx(market=market, now=T0 + 2 * S), instance(), [resting("99.91")])
    assert result.proposals == ()
    (cancel,) = result.cancels
    assert cancel.reason == "cancel: bybit BTC-USDT is not tradeable"


def test_a_partial_fill_of_a_bid_is_hedged_at_once_on_the_hedge_venue() -> None:
    hedge = limit_hedge.hedge(ctx(MAKER, HEDGE), instance(), Side.BUY, D("0.200"), attempt_id="a1")
    assert hedge is not None
    (leg,) = hedge.legs
    # 0.2 bought yields 0.1999 after the maker fee: 0.199 sold, all at bybit's 100.20.
    assert (leg.venue, leg.side, leg.amount, leg.price, leg.type, leg.time_in_force) == (
        "bybit", Side.SELL, D("0.199"), D("100.20"), OrderType.LIMIT, TimeInForce.IOC)
    assert (hedge.intent, hedge.attempt_id) == (Intent.HEDGE, "a1")


def test_a_filled_ask_is_hedged_by_buying_what_covers_it_after_the_fee() -> None:
    hedge = limit_hedge.hedge(ctx(MAKER, HEDGE), instance((Side.SELL,)), Side.SELL, D("0.500"))
    assert hedge is not None
    (leg,) = hedge.legs
    assert (leg.side, leg.amount, leg.price) == (Side.BUY, D("0.501"), D("100.40"))


def test_a_hedge_goes_out_as_a_market_order_when_the_hedge_book_is_stale() -> None:
    market = view(MAKER, HEDGE, config=MarketViewConfig(max_book_age_ns=S))
    hedge = limit_hedge.hedge(ctx(market=market, now=T0 + 2 * S), instance(), Side.BUY, D("0.200"))
    assert hedge is not None
    (leg,) = hedge.legs
    assert (leg.type, leg.price, leg.amount) == (OrderType.MARKET, None, D("0.199"))
    assert leg.expected_price == D("100.25")  # bybit's last mid


def test_a_fill_too_small_to_hedge_alone_waits_for_the_next() -> None:
    assert limit_hedge.hedge(ctx(MAKER, HEDGE), instance(), Side.BUY, D("0.05")) is None  # 0.049 * 100.2 < 10 USDT


def test_nothing_rests_without_the_base_to_hedge_a_bid() -> None:
    no_base = balances(("binance", "USDT", "1000"))
    reason = limit_hedge.quote(ctx(MAKER, HEDGE, funds=no_base), instance().params, Side.BUY)  # type: ignore[arg-type]
    assert reason == "bybit BTC-USDT: too little depth or base balance to hedge a bid"
    assert plan(ctx(MAKER, HEDGE, funds=no_base), instance()).proposals == ()


def test_nothing_rests_when_the_hedge_would_be_under_its_venues_minimum() -> None:
    small = balances(("binance", "USDT", "1000"), ("bybit", "BTC", "0.05"))  # 0.049 BTC at ~100 is under 10 USDT
    reason = limit_hedge.quote(ctx(MAKER, HEDGE, funds=small), instance().params, Side.BUY)  # type: ignore[arg-type]
    assert isinstance(reason, str) and "under the minimum 10" in reason


def test_a_bid_needs_quote_on_the_maker_venue_and_base_on_the_hedge_venue() -> None:
    needs = requirements(ctx(MAKER, HEDGE), [instance((Side.BUY, Side.SELL))])
    by = {(n.direction, n.venue, n.asset) for n in needs}
    assert by == {("bid", "binance", "USDT"), ("bid", "bybit", "BTC"), ("ask", "binance", "BTC"), ("ask", "bybit", "USDT")}


def test_a_canceled_order_is_not_resting() -> None:
    gone = msgspec.structs.replace(resting("99.91"), status=OrderStatus.CANCELED)
    assert len(plan(ctx(MAKER, HEDGE), instance(), [gone]).proposals) == 1


def test_a_resting_order_that_no_longer_clears_is_canceled_before_one_that_only_drifted() -> None:
    higher = book("bybit", "BTC-USDT", [(100.50, 5.0)], [(100.60, 1.0)])
    ask = msgspec.structs.replace(resting("100.55", Side.SELL), client_order_id="c2")
    result = plan(ctx(MAKER, higher), instance((Side.BUY, Side.SELL)), [resting("99.91"), ask])
    # On one account cancels run one after another: the ask, now a loss if filled, goes before the bid, which still clears.
    assert [(c.client_order_id, c.reason.split(":")[1].split(",")[0].strip()) for c in result.cancels] == [
        ("c2", "100.55 no longer clears"), ("c1", "ideal price moved from 99.91 to 100.24")]
