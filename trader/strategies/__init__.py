"""Strategies: pure functions of (market view, balances, instruments, parameters) to proposals.

One module per strategy; this registry is the one place that lists them. Each offers `plan` (what to
propose and which of its resting orders to cancel) and `requirements` (the balances each direction
needs, for the risk manager's inventory). `limit_hedge.hedge` turns a resting order's fill into its hedge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from shared.trading import Order, StrategyInstance, StrategyKind
from trader.strategies import cross_exchange, limit_hedge, triangular
from trader.strategies.context import NOTHING, Cancel, Plan, Requirement, StrategyContext


@dataclass(frozen=True, slots=True)
class Strategy:
    plan: Callable[[StrategyContext, StrategyInstance, Sequence[Order]], Plan]
    requirements: Callable[[StrategyContext, StrategyInstance], tuple[Requirement, ...]]


STRATEGIES: dict[StrategyKind, Strategy] = {
    StrategyKind.CROSS_EXCHANGE: Strategy(lambda ctx, instance, _: cross_exchange.plan(ctx, instance), cross_exchange.requirements),
    StrategyKind.TRIANGULAR: Strategy(lambda ctx, instance, _: triangular.plan(ctx, instance), triangular.requirements),
    StrategyKind.LIMIT_HEDGE: Strategy(limit_hedge.plan, limit_hedge.requirements),
}


def plan(ctx: StrategyContext, instance: StrategyInstance, resting: Sequence[Order] = ()) -> Plan:
    """What `instance` proposes now; a paused instance proposes nothing and leaves its orders be."""
    if not instance.active:
        return NOTHING
    return STRATEGIES[instance.kind].plan(ctx, instance, resting)


def requirements(ctx: StrategyContext, instances: Iterable[StrategyInstance]) -> tuple[Requirement, ...]:
    """What every active instance needs, direction by direction."""
    return tuple(need for instance in instances if instance.active for need in STRATEGIES[instance.kind].requirements(ctx, instance))


__all__ = [
    "NOTHING",
    "STRATEGIES",
    "Cancel",
    "Plan",
    "Requirement",
    "Strategy",
    "StrategyContext",
    "plan",
    "requirements",
]
