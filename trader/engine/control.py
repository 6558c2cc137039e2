"""The engine's controls: strategy instances added, paused, resumed and removed; the kill switch; shutdown;
reconciliation with the executor; and the cancels all of these send. A mixin of `TradingEngine`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.trading import Balances, Order, OrderType, StrategyInstance, TimeInForce
from trader import recovery
from trader.engine.flatten import flatten as flatten_exposure
from trader.engine.legs import cancel_journaled
from trader.engine.reports import KillReport, StopReport
from trader.engine.status import EngineState

if TYPE_CHECKING:
    from trader.engine.engine import TradingEngine

_RESTING = frozenset({TimeInForce.GTC, TimeInForce.POST_ONLY})


def instances(engine: TradingEngine) -> tuple[StrategyInstance, ...]:
    return engine.registry.all()

def add_instance(engine: TradingEngine, instance: StrategyInstance) -> StrategyInstance:
    added = engine.registry.add(instance)
    engine._inventory = None
    return added

def pause_instance(engine: TradingEngine, instance_id: str) -> StrategyInstance:
    engine._inventory = None
    return engine.registry.pause(instance_id)

def resume_instance(engine: TradingEngine, instance_id: str) -> StrategyInstance:
    engine._inventory = None
    return engine.registry.resume(instance_id)

def remove_instance(engine: TradingEngine, instance_id: str) -> StrategyInstance:
    engine._inventory = None
    engine.versions.forget(instance_id)
    return engine.registry.remove(instance_id)

async def kill(engine: TradingEngine, flatten: bool, reason: str) -> KillReport:
    """Stop new proposals at once, cancel every open order, report the exposure left; unwind it only with `flatten`."""
    now = engine.clock()
    engine.risk.kill.engage(now, reason, flatten)
    engine.state, engine.reason = EngineState.KILLED, reason
    engine.journal.record_risk_event("kill_switch", "engaged", f"{reason} (flatten: {flatten})")
    canceled = await engine._cancel_all(lambda order: True, f"kill switch: {reason}")
    flattened, denied = await flatten_exposure(engine.services, engine.exposure, f"s{engine.session_id}") if flatten else ((), ())
    net, by_venue = engine._exposure()
    return KillReport(reason, engine.clock(), canceled, net, by_venue, flattened, denied)

async def stop(engine: TradingEngine, grace_s: float, reason: str = "shutdown") -> StopReport:
    """Stop new proposals, cancel resting limit orders, give in-flight legs `grace_s` to finish or hedge, end the session."""
    engine.state, engine.reason = EngineState.STOPPED, reason
    canceled = await engine._cancel_all(lambda order: order.type is OrderType.LIMIT and order.time_in_force in _RESTING,
                                      f"shutdown: {reason}")
    running = set(engine._tasks)
    if running:
        _, late = await asyncio.wait(running, timeout=grace_s)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    unfinished = tuple(c.attempt for c in engine._controllers.values())
    net, by_venue = engine._exposure()
    engine.journal.end_session(reason, engine.ledger.session(engine.session_id or 0))
    engine.session_id = None
    await engine.queues.close()
    return StopReport(reason, engine.clock(), canceled, unfinished, net, by_venue)

async def reconcile(engine: TradingEngine) -> recovery.Reconciliation | None:
    """Compare balances and open orders with the executor (skipped while an order is on its way)."""
    if any(c.sending for c in engine._controllers.values()) or any(engine.queues.pending(*key) for key in engine.queues.keys()):
        return None
    result = await recovery.check(engine.journal, engine.executor, engine.config.accounts)
    mismatch = "; ".join(result.problems()) or None
    engine.risk.reconciled(engine.clock(), mismatch)
    if mismatch:
        engine.journal.record_risk_event("mismatch", "reconciliation", mismatch)
    await engine.refresh_balances()
    return result

async def refresh_balances(engine: TradingEngine) -> Balances:
    engine.commitments.balances_read(c.attempt for c in engine._controllers.values())
    rows = [b for account in engine.config.accounts for b in (await engine.executor.balances(account)).values()]
    engine.balances = Balances(rows)
    engine._inventory = None
    return engine.balances

def cancel_soon(engine: TradingEngine, client_order_id: str, reason: str) -> None:
    order = engine.journal.order(client_order_id)
    if order is None or not order.is_open or client_order_id in engine._canceling:
        return
    engine._canceling.add(client_order_id)
    engine._spawn(engine._cancel(order, reason))

async def cancel(engine: TradingEngine, order: Order, reason: str) -> Order:
    try:
        result = await cancel_journaled(engine.journal, engine.queues, order, reason, engine.clock())
    except Exception as error:
        engine.risk.error(engine.clock(), f"cancel {order.client_order_id}: {error}")
        return order
    finally:
        engine._canceling.discard(order.client_order_id)
    if order.attempt_id in engine._controllers:
        engine._controllers[order.attempt_id].notify()
    return result

async def cancel_all(engine: TradingEngine, which: Callable[[Order], bool], reason: str) -> tuple[Order, ...]:
    orders = [o for o in engine.journal.orders(final=False) if o.is_open and which(o)]
    results = await asyncio.gather(*(engine._cancel(o, reason) for o in orders))
    return tuple(results)
