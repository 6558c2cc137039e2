"""Triangular arbitrage on one venue: a three-leg cycle from a start asset back to it (USDT -> BTC -> ETH
-> USDT over BTC-USDT, ETH-BTC, ETH-USDT), tried in both directions.

Each leg walks its book; lot and tick rounding are applied leg by leg, and what a leg hands to the
next is what it really yields after its taker fee (fees are charged on the asset received). A buy
leg spends what it was handed on as much base as that buys, rounded down to the lot; a sell leg sells
what it was handed, rounded down. What rounding leaves behind stays on the venue as inventory and
counts at the rates the rest of the cycle trades at, so the edge is what comes back (plus those
remainders) against what the first leg spent. The cycle is sized by the first leg's lots: the largest
that clears, up to the configured size, the start asset's balance and every book's depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from shared.pricing import edge_bps, path_rate, walk, walk_quote
from shared.symbols import split
from shared.trading import Intent, Leg, Proposal, Side, StrategyInstance, StrategyKind, TriangularParams
from trader.market import DecimalLevels
from trader.strategies.context import NOTHING, Fit, Plan, Requirement, StrategyContext, largest_fit, quantize_bps

ONE = Decimal(1)
_SCREEN_SLACK = 1e-10  # float rounding in the top-of-book screen must not hide an edge that clears in Decimals


@dataclass(frozen=True, slots=True)
class Step:
    symbol: str
    side: Side  # BUY: spend the quote asset for base; SELL: spend base for the quote asset


@lru_cache(maxsize=256)  # the same few instances' parameters, asked on every event
def cycles(params: TriangularParams) -> tuple[tuple[Step, ...], ...]:
    """Both directions of the cycle from the start asset, each as three steps."""
    found = []
    for first in (s for s in params.symbols if params.start_asset in split(s)):
        steps, held, left = [], params.start_asset, list(params.symbols)
        symbol = first
        while True:
            base, quote = split(symbol)
            side = Side.BUY if held == quote else Side.SELL
            steps.append(Step(symbol, side))
            held = base if side is Side.BUY else quote
            left.remove(symbol)
            if not left:
                break
            symbol = next(s for s in left if held in split(s))
        found.append(tuple(steps))
    return tuple(found)


def direction(params: TriangularParams, steps: Sequence[Step]) -> str:
    held, assets = params.start_asset, [params.start_asset]
    for step in steps:
        base, quote = split(step.symbol)
        held = base if held == quote else quote
        assets.append(held)
    return ">".join(assets)


def plan(ctx: StrategyContext, instance: StrategyInstance) -> Plan:
    """The better of the two directions, or nothing (both would spend the same start balance)."""
    params = instance.params
    assert isinstance(params, TriangularParams)
    found = [p for steps in cycles(params) if (p := evaluate(ctx, instance, steps))]
    return Plan((max(found, key=lambda p: p.expected_profit),)) if found else NOTHING


def evaluate(ctx: StrategyContext, instance: StrategyInstance, steps: Sequence[Step]) -> Proposal | None:
    params = instance.params
    assert isinstance(params, TriangularParams)
    venue = params.venue
    specs = [ctx.instruments.spec(venue, step.symbol) for step in steps]
    screen: list[tuple[Side, float, float]] = []
    for step, spec in zip(steps, specs, strict=True):
        top = ctx.top(venue, step.symbol)
        if top is None:
            return None
        screen.append((step.side, top[1] if step.side is Side.BUY else top[0], float(spec.taker_fee)))
    if (path_rate(screen) - 1) * 10_000 < float(params.min_profit_bps) - _SCREEN_SLACK:
        return None  # not even the best prices clear: decided without converting or walking a book
    books: list[DecimalLevels] = []
    for step in steps:
        sides = ctx.sides(venue, step.symbol)
        if sides is None:
            return None
        books.append(sides[1] if step.side is Side.BUY else sides[0])

    budget = min(params.size, ctx.balances.free(venue, params.start_asset))
    first, first_book, first_spec = steps[0], books[0], specs[0]
    if first.side is Side.BUY:
        affordable = walk_quote(first_book, budget)
        most = affordable.amount if affordable else sum((size for _, size in first_book), Decimal(0))
    else:
        most = budget
    n_max = int(most / first_spec.lot_size)

    def fit(n: int) -> tuple[Fit, Proposal | None]:
        legs: list[Leg] = []
        spent = carried = Decimal(0)
        flows: list[tuple[Decimal, Decimal, Decimal]] = []  # per leg: handed to it, used, yielded
        for index, (step, book, spec) in enumerate(zip(steps, books, specs, strict=True)):
            fee = spec.taker_fee
            if index == 0:
                amount = spec.round_amount(n * spec.lot_size)
            elif step.side is Side.BUY:
                affordable = walk_quote(book, carried)
                if affordable is None:
                    return Fit.TOO_BIG, None
                amount = spec.round_amount(affordable.amount)
            else:
                amount = spec.round_amount(carried)
            if not spec.meets_minimums(amount, book[0][0]):
                return Fit.TOO_SMALL, None
            taken = walk(book, amount)
            if taken is None:
                return Fit.TOO_BIG, None
            used = taken.cost if step.side is Side.BUY else amount
            if index == 0:
                spent = carried = used
                if spent > budget:
                    return Fit.TOO_BIG, None
            yielded = amount * (ONE - fee) if step.side is Side.BUY else taken.cost * (ONE - fee)
            flows.append((carried, used, yielded))
            carried = yielded
            limit = spec.ceil_price(taken.worst) if step.side is Side.BUY else spec.floor_price(taken.worst)
            legs.append(Leg(venue, step.symbol, step.side, amount, limit, taken.vwap, fee, chained=index > 0, account=instance.account))
        value = cycle_value(flows)
        edge = edge_bps(spent, value)
        if edge < params.min_profit_bps:
            return Fit.TOO_BIG, None
        return Fit.OK, Proposal(
            id=ctx.new_id(),
            instance_id=instance.id,
            kind=StrategyKind.TRIANGULAR,
            intent=Intent.OPEN,
            direction=direction(params, steps),
            legs=tuple(legs),
            edge_bps=quantize_bps(edge),
            expected_profit=value - spent,
            profit_asset=params.start_asset,
            ts_event=ctx.received_at(*((venue, step.symbol) for step in steps)),
            ts_init=ctx.now,
        )

    return largest_fit(n_max, fit)


def cycle_value(flows: Sequence[tuple[Decimal, Decimal, Decimal]]) -> Decimal:
    """What a cycle returns in its start asset: the last leg's yield, plus each leg's unspent remainder
    carried through the rest of the cycle at the rates (yield per unit used) its legs traded at."""
    value = flows[-1][2]
    onward = ONE
    for handed, used, yielded in reversed(flows):
        onward *= yielded / used
        value += (handed - used) * onward
    return value


def requirements(ctx: StrategyContext, instance: StrategyInstance) -> tuple[Requirement, ...]:
    """Both directions start from the same asset on the one venue; the rest is carried through the cycle."""
    params = instance.params
    assert isinstance(params, TriangularParams)
    return tuple(
        Requirement(instance.id, direction(params, steps), params.venue, params.start_asset, params.size) for steps in cycles(params)
    )
