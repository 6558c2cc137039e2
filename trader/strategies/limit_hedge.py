"""Limit-then-hedge: rest a post-only limit order on the maker venue, priced so that hedging it at once
with a taker order on the hedge venue, at that venue's current depth-walked price, clears
`min_profit_bps` after the maker fee on one side and the taker fee on the other.

A resting bid on A is hedged by selling on B what the bid's fills yield (the fill less A's maker fee,
rounded down to B's lot); a resting ask on A is hedged by buying on B enough that, after B's fee, it
replaces what was sold (rounded up). Remainders under a lot stay as inventory and count at the hedge's
price, so the edge is the fee-adjusted ratio of the two prices.

As B moves, the resting order is repriced: at once when its price no longer clears, otherwise once its
ideal price has drifted `reprice_bps`; it is canceled when no price clears or B cannot be traded. Cancels
that stop a loss (the order no longer clears, or cannot be hedged) come before those that only move a
price that still clears: on one account they run one after another.
Each fill, partial or full, is hedged at once by `hedge`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.pricing import BPS, Walk, cross_venue_rate, depth, walk
from shared.symbols import split
from shared.trading import (
    Intent,
    Leg,
    LimitHedgeParams,
    Order,
    OrderType,
    Proposal,
    Side,
    StrategyInstance,
    StrategyKind,
    TimeInForce,
)
from trader.market import DecimalLevels
from trader.strategies.context import Cancel, Plan, Requirement, StrategyContext, quantize_bps

ONE = Decimal(1)
ZERO = Decimal(0)
_LABEL = {Side.BUY: "bid", Side.SELL: "ask"}
_Sides = tuple[DecimalLevels, DecimalLevels]


def direction(side: Side) -> str:
    return _LABEL[side]


@dataclass(frozen=True, slots=True)
class Quote:
    """Where a resting order should be now, and the hedge that prices it."""

    side: Side
    amount: Decimal  # on the maker venue
    price: Decimal  # on the maker venue's tick grid
    hedge_amount: Decimal  # on the hedge venue
    hedge_vwap: Decimal
    edge_bps: Decimal
    expected_profit: Decimal  # quote asset


def quote(ctx: StrategyContext, params: LimitHedgeParams, side: Side) -> Quote | str:
    """The resting order for `side` at the current books and balances, or why there is none."""
    maker, hedger = params.maker_venue, params.hedge_venue
    maker_sides, hedge_sides = ctx.sides(maker, params.symbol, taking=False), ctx.sides(hedger, params.symbol)
    if maker_sides is None or hedge_sides is None:
        return f"{maker if maker_sides is None else hedger} {params.symbol} is not tradeable"
    found = (_bid if side is Side.BUY else _ask)(ctx, params, maker_sides, hedge_sides)
    if isinstance(found, str):
        return found
    amount, price, hedge_amount, hedged, rate, spent = found
    mspec, hspec = ctx.instruments.spec(maker, params.symbol), ctx.instruments.spec(hedger, params.symbol)
    problem = mspec.shortfall(amount, price) or hspec.shortfall(hedge_amount, hedged.vwap)
    if problem:
        return problem
    edge = (rate - ONE) * BPS
    if edge < params.min_profit_bps:
        return f"{maker} {params.symbol}: the {direction(side)} clears only {quantize_bps(edge)} bps"
    return Quote(side, amount, price, hedge_amount, hedged.vwap, quantize_bps(edge), spent * (rate - ONE))


# amount, price, hedge amount, hedge walk, quote back per quote spent, quote spent
_Priced = tuple[Decimal, Decimal, Decimal, Walk[Decimal], Decimal, Decimal]


def _bid(ctx: StrategyContext, params: LimitHedgeParams, maker_sides: _Sides, hedge_sides: _Sides) -> _Priced | str:
    """A bid on A at p whose fills, less A's maker fee, are sold on B's bids: per quote spent,
    `cross_venue_rate(p, B's VWAP, maker fee, taker fee)` comes back, so p is that rate's break-even
    at the target edge, rounded down to A's tick and kept under A's best ask (post-only)."""
    mspec, hspec = ctx.instruments.spec(params.maker_venue, params.symbol), ctx.instruments.spec(params.hedge_venue, params.symbol)
    base, quote_asset = split(params.symbol)
    keep = ONE - mspec.maker_fee  # of a bid's fill, what is left to sell on B
    bids_b = hedge_sides[0]
    full = params.size * keep
    room = depth(bids_b, up_to=full)
    assert room is not None
    held = params.size if room.amount >= full else room.amount / keep
    amount = mspec.round_amount(min(held, ctx.balances.free(params.hedge_venue, base) / keep))
    target = ONE + params.min_profit_bps / BPS
    for _ in range(2):  # a second pass once the quote balance on A has cut the size
        hedge_amount = hspec.round_amount(amount * keep)
        hedged = walk(bids_b, hedge_amount)
        if hedged is None:
            return f"{params.hedge_venue} {params.symbol}: too little depth or base balance to hedge a bid"
        clearing = mspec.floor_price(keep * hedged.vwap * (ONE - hspec.taker_fee) / target)
        price = min(clearing, maker_sides[1][0][0] - mspec.tick_size)
        if price <= 0:
            break
        affordable = mspec.round_amount(ctx.balances.free(params.maker_venue, quote_asset) / price)
        if affordable >= amount:
            rate = cross_venue_rate(price, hedged.vwap, mspec.maker_fee, hspec.taker_fee)
            return amount, price, hedge_amount, hedged, rate, amount * price
        amount = affordable
    return f"{params.maker_venue} {params.symbol}: no bid clears {params.min_profit_bps} bps within the quote balance"


def _ask(ctx: StrategyContext, params: LimitHedgeParams, maker_sides: _Sides, hedge_sides: _Sides) -> _Priced | str:
    """An ask on A at p whose fills are replaced by buying on B's asks what, after B's fee, covers them:
    per quote spent on B, `cross_venue_rate(B's VWAP, p, taker fee, maker fee)` comes back."""
    mspec, hspec = ctx.instruments.spec(params.maker_venue, params.symbol), ctx.instruments.spec(params.hedge_venue, params.symbol)
    base, quote_asset = split(params.symbol)
    cover = ONE - hspec.taker_fee  # of a hedge buy on B, what arrives
    asks_b = hedge_sides[1]
    full = params.size / cover
    room = depth(asks_b, up_to=full)
    assert room is not None
    held = params.size if room.amount >= full else room.amount * cover
    amount = mspec.round_amount(min(held, ctx.balances.free(params.maker_venue, base)))
    quote_free = ctx.balances.free(params.hedge_venue, quote_asset)
    target = ONE + params.min_profit_bps / BPS
    while amount > 0:
        hedge_amount = hspec.round_amount_up(amount / cover)
        hedged = walk(asks_b, hedge_amount)
        if hedged is None:  # rounding the hedge up went past the depth
            amount -= mspec.lot_size
            continue
        if hedged.cost > quote_free:  # shrinks strictly: amount is on the lot grid and the ratio is under 1
            amount = mspec.round_amount(amount * quote_free / hedged.cost)
            continue
        clearing = mspec.ceil_price(hedged.vwap * target / ((ONE - mspec.maker_fee) * cover))
        price = max(clearing, maker_sides[0][0][0] + mspec.tick_size)
        rate = cross_venue_rate(hedged.vwap, price, hspec.taker_fee, mspec.maker_fee)
        return amount, price, hedge_amount, hedged, rate, amount / cover * hedged.vwap
    return f"{params.hedge_venue} {params.symbol}: too little depth or quote balance to hedge an ask"


def plan(ctx: StrategyContext, instance: StrategyInstance, resting: Sequence[Order] = ()) -> Plan:
    """Post, keep, reprice or cancel the instance's resting order on each side. `resting` is its open orders."""
    params = instance.params
    assert isinstance(params, LimitHedgeParams)
    proposals: list[Proposal] = []
    cancels: list[tuple[bool, Cancel]] = []  # (urgent, cancel)
    for side in params.sides:
        mine = [o for o in resting if o.side is side and o.is_open]
        target = quote(ctx, params, side)
        moving = [(why[0], Cancel(o.client_order_id, why[1])) for o in mine if (why := _why_move(o, target, params.reprice_bps))]
        cancels.extend(moving)
        if len(moving) == len(mine) and isinstance(target, Quote):
            proposals.append(_post(ctx, instance, target))
    ordered = [cancel for urgent, cancel in cancels if urgent] + [cancel for urgent, cancel in cancels if not urgent]
    return Plan(tuple(proposals), tuple(ordered))


def _why_move(order: Order, target: Quote | str, reprice_bps: Decimal) -> tuple[bool, str] | None:
    """Whether `order` must go at once (its fill would lose) and why, or None to keep it."""
    if isinstance(target, str):
        return True, f"cancel: {target}"
    assert order.price is not None
    if (order.side is Side.BUY and order.price > target.price) or (order.side is Side.SELL and order.price < target.price):
        return True, f"reprice: {order.price} no longer clears, {target.price} does"
    if abs(target.price - order.price) / order.price * BPS >= reprice_bps:
        return False, f"reprice: ideal price moved from {order.price} to {target.price}"
    return None


def _post(ctx: StrategyContext, instance: StrategyInstance, target: Quote) -> Proposal:
    params = instance.params
    assert isinstance(params, LimitHedgeParams)
    spec = ctx.instruments.spec(params.maker_venue, params.symbol)
    leg = Leg(
        params.maker_venue,
        params.symbol,
        target.side,
        target.amount,
        target.price,
        target.price,
        spec.maker_fee,
        type=OrderType.LIMIT,
        time_in_force=TimeInForce.POST_ONLY,
        account=instance.account,
    )
    return Proposal(
        id=ctx.new_id(),
        instance_id=instance.id,
        kind=StrategyKind.LIMIT_HEDGE,
        intent=Intent.OPEN,
        direction=direction(target.side),
        legs=(leg,),
        edge_bps=target.edge_bps,
        expected_profit=target.expected_profit,
        profit_asset=split(params.symbol)[1],
        ts_event=ctx.received_at((params.maker_venue, params.symbol), (params.hedge_venue, params.symbol)),
        ts_init=ctx.now,
    )


def hedge_amount(ctx: StrategyContext, params: LimitHedgeParams, maker_side: Side, filled: Decimal) -> Decimal:
    """What the hedge venue must trade to offset `filled` base of a resting order on the maker venue."""
    mspec, hspec = ctx.instruments.spec(params.maker_venue, params.symbol), ctx.instruments.spec(params.hedge_venue, params.symbol)
    if maker_side is Side.BUY:
        return hspec.round_amount(filled * (ONE - mspec.maker_fee))
    return hspec.round_amount_up(filled / (ONE - hspec.taker_fee))


def hedge(ctx: StrategyContext, instance: StrategyInstance, maker_side: Side, filled: Decimal, attempt_id: str | None = None) -> Proposal | None:
    """The hedge of `filled` base of the resting order's fills (partial or full): a taker order on the hedge
    venue, proposed at once. An IOC limit at the worst price the hedge venue's book shows for it; a market
    order when that book is untradeable or too thin, since an unhedged fill costs more than slippage.
    None while `filled` rounds under the hedge venue's minimum: the caller adds the next fill to it."""
    params = instance.params
    assert isinstance(params, LimitHedgeParams)
    hspec = ctx.instruments.spec(params.hedge_venue, params.symbol)
    side = Side.SELL if maker_side is Side.BUY else Side.BUY
    amount = hedge_amount(ctx, params, maker_side, filled)
    sides = ctx.sides(params.hedge_venue, params.symbol)
    book = (sides[0] if side is Side.SELL else sides[1]) if sides else ()
    taken = walk(book, amount) if book else None
    reference = taken.vwap if taken else _last_price(ctx, params)
    if reference is None or not hspec.meets_minimums(amount, reference):
        return None
    if taken is not None:
        limit: Decimal | None = hspec.ceil_price(taken.worst) if side is Side.BUY else hspec.floor_price(taken.worst)
        order_type, tif = OrderType.LIMIT, TimeInForce.IOC
    else:
        limit, order_type, tif = None, OrderType.MARKET, TimeInForce.IOC
    leg = Leg(params.hedge_venue, params.symbol, side, amount, limit, reference, hspec.taker_fee, type=order_type, time_in_force=tif,
              account=instance.account)
    return Proposal(
        id=ctx.new_id(),
        instance_id=instance.id,
        kind=StrategyKind.LIMIT_HEDGE,
        intent=Intent.HEDGE,
        direction=direction(maker_side),
        legs=(leg,),
        edge_bps=ZERO,
        expected_profit=ZERO,
        profit_asset=split(params.symbol)[1],
        ts_event=ctx.received_at((params.hedge_venue, params.symbol)),
        ts_init=ctx.now,
        attempt_id=attempt_id,
    )


def _last_price(ctx: StrategyContext, params: LimitHedgeParams) -> Decimal | None:
    mid = ctx.view.mid(params.hedge_venue, params.symbol)
    return Decimal(repr(mid)) if mid is not None else None


def requirements(ctx: StrategyContext, instance: StrategyInstance) -> tuple[Requirement, ...]:
    """A bid needs quote on the maker venue and base on the hedge venue; an ask the other way round."""
    params = instance.params
    assert isinstance(params, LimitHedgeParams)
    base, quote_asset = split(params.symbol)
    price = ctx.view.price(base, quote_asset)
    needs = []
    for side in params.sides:
        base_venue, quote_venue = (params.hedge_venue, params.maker_venue) if side is Side.BUY else (params.maker_venue, params.hedge_venue)
        needs.append(Requirement(instance.id, direction(side), base_venue, base, params.size))
        if price is not None:
            needs.append(Requirement(instance.id, direction(side), quote_venue, quote_asset, params.size * Decimal(repr(price))))
    return tuple(needs)
