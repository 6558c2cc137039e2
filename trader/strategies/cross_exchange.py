"""Cross-exchange arbitrage: buy on one venue's asks, sell on another's bids, when the depth-walked VWAPs
for the trade size clear `min_profit_bps` after both taker fees.

The buy of q base on A yields q * (1 - fee_A) base (fees are charged on the asset received), and the
sell on B is that yield rounded down to B's lot, so the base nets out across the venues but for a
remainder under one lot, which stays on A as inventory and counts at the sell price: the edge is the
fee-adjusted ratio of the two VWAPs (`shared.pricing.cross_venue_rate`). The size is the largest that
clears, up to the configured size, both books' visible depth, the quote balance on A and the base
balance on B. Both legs are IOC limits at the worst price walked, so a moved book cannot fill them worse.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import permutations

from shared.pricing import BPS, cross_venue_edge_bps, cross_venue_rate, depth, walk, walk_quote
from shared.symbols import split
from shared.trading import CrossExchangeParams, Intent, Leg, Proposal, Side, StrategyInstance, StrategyKind
from trader.strategies.context import NOTHING, Fit, Plan, Requirement, StrategyContext, largest_fit, quantize_bps

ONE = Decimal(1)
# Top-of-book screening runs in floats; this slack keeps float rounding from screening out an edge
# that clears exactly in Decimals.
_SCREEN_SLACK_BPS = 1e-6


def direction(buy_venue: str, sell_venue: str) -> str:
    return f"{buy_venue}>{sell_venue}"


def plan(ctx: StrategyContext, instance: StrategyInstance) -> Plan:
    """The best opportunity over every ordered pair of the instance's venues, or nothing.

    One proposal at most: two pairs sharing a venue would both be sized against the same balance.
    """
    params = instance.params
    assert isinstance(params, CrossExchangeParams)
    best: Proposal | None = None
    for buy_venue, sell_venue in permutations(params.venues, 2):
        proposal = evaluate(ctx, instance, buy_venue, sell_venue)
        if proposal and (best is None or proposal.expected_profit > best.expected_profit):
            best = proposal
    return Plan((best,)) if best else NOTHING


def evaluate(ctx: StrategyContext, instance: StrategyInstance, buy_venue: str, sell_venue: str) -> Proposal | None:
    params = instance.params
    assert isinstance(params, CrossExchangeParams)
    symbol = params.symbol
    base, quote = split(symbol)
    buy_top, sell_top = ctx.top(buy_venue, symbol), ctx.top(sell_venue, symbol)
    if buy_top is None or sell_top is None:
        return None
    buy_spec = ctx.instruments.spec(buy_venue, symbol)
    sell_spec = ctx.instruments.spec(sell_venue, symbol)
    buy_fee, sell_fee = buy_spec.taker_fee, sell_spec.taker_fee
    top = cross_venue_edge_bps(buy_top[1], sell_top[0], float(buy_fee), float(sell_fee))
    if top < float(params.min_profit_bps) - _SCREEN_SLACK_BPS:
        return None  # not even the best prices clear: the usual case, decided without walking a book
    buy_sides, sell_sides = ctx.sides(buy_venue, symbol), ctx.sides(sell_venue, symbol)
    if buy_sides is None or sell_sides is None:
        return None
    asks, bids = buy_sides[1], sell_sides[0]

    quote_free = ctx.balances.free(buy_venue, quote)
    base_free = ctx.balances.free(sell_venue, base)
    sold_full = params.size * (ONE - buy_fee)  # what a full-size buy yields to sell
    ask_depth, bid_depth = depth(asks, up_to=params.size), depth(bids, up_to=sold_full)
    assert ask_depth is not None and bid_depth is not None
    bid_cap = params.size if bid_depth.amount >= sold_full else bid_depth.amount / (ONE - buy_fee)
    caps = [params.size, ask_depth.amount, bid_cap, base_free / (ONE - buy_fee)]
    affordable = walk_quote(asks, quote_free)
    if affordable is not None:
        caps.append(affordable.amount)
    elif quote_free <= 0:
        return None
    n_max = int(min(caps) / buy_spec.lot_size)

    def fit(n: int) -> tuple[Fit, Proposal | None]:
        buy_amount = buy_spec.round_amount(n * buy_spec.lot_size)
        sell_amount = sell_spec.round_amount(buy_amount * (ONE - buy_fee))
        if not buy_spec.meets_minimums(buy_amount, asks[0][0]) or not sell_spec.meets_minimums(sell_amount, bids[0][0]):
            return Fit.TOO_SMALL, None
        bought, sold = walk(asks, buy_amount), walk(bids, sell_amount)
        if bought is None or sold is None or bought.cost > quote_free or sell_amount > base_free:
            return Fit.TOO_BIG, None
        rate = cross_venue_rate(bought.vwap, sold.vwap, buy_fee, sell_fee)
        edge = (rate - ONE) * BPS
        if edge < params.min_profit_bps:
            return Fit.TOO_BIG, None
        account = instance.account
        legs = (
            Leg(buy_venue, symbol, Side.BUY, buy_amount, buy_spec.ceil_price(bought.worst), bought.vwap, buy_fee, account=account),
            Leg(sell_venue, symbol, Side.SELL, sell_amount, sell_spec.floor_price(sold.worst), sold.vwap, sell_fee, chained=True, account=account),
        )
        return Fit.OK, Proposal(
            id=ctx.new_id(),
            instance_id=instance.id,
            kind=StrategyKind.CROSS_EXCHANGE,
            intent=Intent.OPEN,
            direction=direction(buy_venue, sell_venue),
            legs=legs,
            edge_bps=quantize_bps(edge),
            expected_profit=bought.cost * (rate - ONE),
            profit_asset=quote,
            ts_event=ctx.received_at((buy_venue, symbol), (sell_venue, symbol)),
            ts_init=ctx.now,
        )

    return largest_fit(n_max, fit)


def requirements(ctx: StrategyContext, instance: StrategyInstance) -> tuple[Requirement, ...]:
    """Each direction needs the quote for a full-size buy on its buy venue and the base to sell on its sell venue."""
    params = instance.params
    assert isinstance(params, CrossExchangeParams)
    base, quote = split(params.symbol)
    price = ctx.view.price(base, quote)
    needs = []
    for buy_venue, sell_venue in permutations(params.venues, 2):
        label = direction(buy_venue, sell_venue)
        if price is not None:
            needs.append(Requirement(instance.id, label, buy_venue, quote, params.size * Decimal(repr(price))))
        needs.append(Requirement(instance.id, label, sell_venue, base, params.size))
    return tuple(needs)
