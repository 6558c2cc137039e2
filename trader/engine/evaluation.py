"""The engine's event path: each market event into the market view and the paper venue, then every active
strategy instance trading that venue and symbol plans, the risk manager decides each proposal (journaled), and
an approval is re-checked right before its first order and handed to a `LegController`; and the executor's
events (fills of resting orders) journaled and routed to their arbitrage. A mixin of `TradingEngine`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import msgspec

from shared.events import BookTop, Event, Trade
from shared.trading import ArbitrageAttempt, ArbitrageState, Decision, OrderEvent, Proposal, StrategyInstance, StrategyKind
from trader import strategies as strategy
from trader.engine.legs import LegController, apply_journal
from trader.engine.status import EngineState
from trader.strategies import limit_hedge

if TYPE_CHECKING:
    from trader.engine.engine import TradingEngine

LOG = logging.getLogger("trader.engine")


class Once:
    """Records one tick-to-decision sample, the first time it is called."""

    __slots__ = ("_record", "_start", "done")

    def __init__(self, record: Callable[[int], None], start: int) -> None:
        self._record, self._start, self.done = record, start, False

    def __call__(self) -> None:
        if not self.done:
            self.done = True
            self._record(time.perf_counter_ns() - self._start)


async def on_event(engine: TradingEngine, event: Event, now_ns: int) -> None:
    arrived = time.perf_counter_ns()
    engine.view.on_event(event)
    if engine.paper is not None and isinstance(event, BookTop | Trade):
        engine._executor_events(engine.paper.on_book(event) if isinstance(event, BookTop) else engine.paper.on_trade(event))
    if not isinstance(event, BookTop) or engine.state not in (EngineState.RUNNING, EngineState.SAFE_MODE):
        return
    once = Once(engine.latency.record, arrived)
    instances = engine.registry.touching(event.exchange, event.symbol)
    if instances:
        engine._evaluate(instances, now_ns, once)
    if not engine._starting:
        once()  # nothing approved: the decision not to trade

def on_stream_gap(engine: TradingEngine) -> None:
    engine.view.stream_gap()

def on_reconnected(engine: TradingEngine) -> None:
    engine.view.reconnected()

def evaluate(engine: TradingEngine, instances: Iterable[StrategyInstance], now: int, once: Once) -> None:
    ctx = engine.context(now)
    for instance in instances:
        resting = instance.kind is StrategyKind.LIMIT_HEDGE
        waiting = engine.versions.waiting(instance)
        if waiting and not resting:
            continue  # its last attempt traded against one of these books, which still shows what it took
        plan = strategy.plan(ctx, instance, engine._resting(instance.id))
        for cancel in plan.cancels:
            engine._cancel_soon(cancel.client_order_id, cancel.reason)
        if waiting or plan.cancels or (resting and engine._busy(instance.id)):
            # A resting order's cancels go at once; a new one is priced on the books that follow them (and once
            # an order or cancel on its way has been answered), so it is not queued behind them.
            continue
        traded = False
        for proposal in plan.proposals:
            engine.proposals += 1
            decision = engine.risk.decide(proposal, engine._portfolio(), now)
            if not decision.approved:
                engine.journal.record_decision(decision)
                continue
            # An approval is committed with its first order's intent (one fsync), or with any commit before it.
            engine.journal.later(functools.partial(engine.journal.record_decision, decision))
            traded = True
            engine.reserved.reserve(decision.proposal)
            engine.commitments.approved(decision.proposal)
            engine._starting[instance.id] = engine._starting.get(instance.id, 0) + 1
            engine._spawn(engine._execute(decision, instance, once))
        if traded:
            engine.versions.traded(instance)

async def execute(engine: TradingEngine, decision: Decision, instance: StrategyInstance, once: Once) -> None:
    attempt: ArbitrageAttempt | None = None
    proposal = decision.proposal
    try:
        checked = engine.risk.recheck(decision, engine.clock())
        if not checked.approved:
            engine.journal.record_decision(checked)
            once()
            return
        now = engine.clock()
        proposal = engine._with_hedge_leg(checked.proposal, instance, now)
        attempt = ArbitrageAttempt.from_proposal(proposal, engine._attempt_id(), now, engine.config.time_bound_ns)
        # Not journaled here: its controller's first step journals it before anything else runs (with its first
        # order's intent, or as it abandons it), in the commit that also writes its decision.
        controller = LegController(attempt, engine.services, instance, once)
    finally:
        engine.commitments.started(decision.proposal.id, attempt.id if attempt else None, proposal)
        engine._starting[instance.id] -= 1
        if not engine._starting[instance.id]:
            del engine._starting[instance.id]
    engine._changed(attempt)
    await engine._run(controller)

def with_hedge_leg(engine: TradingEngine, proposal: Proposal, instance: StrategyInstance, now: int) -> Proposal:
    """A limit-then-hedge attempt carries its planned hedge as a second leg, so a maker fill leaves it
    partly filled (to be hedged) rather than complete."""
    if proposal.kind is not StrategyKind.LIMIT_HEDGE:
        return proposal
    maker = proposal.legs[0]
    hedge = limit_hedge.hedge(engine.context(now), instance, maker.side, maker.amount)
    return msgspec.structs.replace(proposal, legs=(maker, *hedge.legs)) if hedge else proposal

def executor_events(engine: TradingEngine, events: Iterable[OrderEvent]) -> None:
    for event in events:
        try:
            order = engine.journal.record(event)
        except Exception as error:  # an order the journal does not know, or a transition it refuses
            LOG.error("executor event for %s not journaled: %s", event.client_order_id, error)
            engine.risk.error(engine.clock(), f"event for {event.client_order_id}: {error}")
            continue
        if order.attempt_id is None:
            continue
        controller = engine._controllers.get(order.attempt_id)
        if controller is not None:
            controller.notify()
        else:
            engine._late(order.attempt_id)

def late(engine: TradingEngine, attempt_id: str) -> None:
    """A fill for an arbitrage already over: recorded on it, and reported if it reopens exposure."""
    attempt = engine.journal.attempt(attempt_id)
    if attempt is None:
        return
    updated = apply_journal(engine.journal, attempt, engine.clock())
    if updated is attempt:
        return
    engine.journal.record_attempt(updated)
    engine._changed(updated)
    if updated.state is ArbitrageState.FAILED_UNHEDGED and attempt.state is not ArbitrageState.FAILED_UNHEDGED:
        controller = LegController(updated, engine.services)
        controller.finish()  # the same report as a controller ending failed-unhedged
