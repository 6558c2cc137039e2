"""Sending an order the journaled way: the journal hears of it before the executor does, and hears every answer.

1. `record_intent` journals the order (and the arbitrage step that sends it) with its client order id, in a
   commit that survives a crash of the process; synced to disk too (it survives a power cut) when the
   executor's own record does (`Executor.survives_power_cut`: a venue's, not the paper venue's);
2. `OrderSubmitted` is journaled, in the same commit: from here the order may exist at the venue;
3. the command goes through its (venue, account) queue to the executor;
4. every event of the answer is journaled.

If the executor fails or does not answer in time, the order may still exist. It is looked up by its
client order id in the same queue, so the look-up runs after the submit has finished or been dropped:
found, its state and fills are adopted; not found, it was never sent and is journaled as such. If the
look-up fails too, the order stays `submitted` for reconciliation to settle, and the error is raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from shared.clock import Clock
from shared.trading import (
    ArbitrageAttempt,
    Fill,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    OrderSubmitted,
    SubmitOrder,
)
from trader.execution.queues import ExecutionQueues
from trader.journal import Journal

__all__ = ["NOT_SENT", "adoption_events", "send"]

NOT_SENT = "never sent: the executor has no order with this client order id"


async def send(journal: Journal, queues: ExecutionQueues, command: SubmitOrder, clock: Clock, attempt: ArbitrageAttempt | None = None,
               timeout_s: float = 10.0, lookup_timeout_s: float = 30.0, clock_skew_ns: int = 60_000_000_000,
               on_handed: Callable[[], None] | None = None) -> Order:
    """Journal, send and journal the answer; returns the order as journaled. `on_handed` is called once the
    intent is journaled, as the command is handed to its queue (what tick-to-decision measures up to)."""
    # One commit before the order goes (with what the journal holds for it: an approval and its arbitrage), synced to
    # disk if the executor's record of the order will outlive a power cut.
    with journal.transaction(durable=queues.executor.survives_power_cut):
        journal.record_intent(command.to_order(), attempt)
        journal.record(OrderSubmitted(command.client_order_id, command.venue, clock()))
    try:
        handed = queues.submit_soon(command)  # in its queue before anything else runs
        if on_handed is not None:
            on_handed()
        update = await asyncio.wait_for(handed, timeout_s)
    except Exception as error:
        return await _settle(journal, queues, command, error, lookup_timeout_s, clock_skew_ns)
    order = journal.order(command.client_order_id)
    for event in update.events:
        order = journal.record(event)
    assert order is not None
    return order


async def _settle(journal: Journal, queues: ExecutionQueues, command: SubmitOrder, error: Exception, timeout_s: float,
                  clock_skew_ns: int) -> Order:
    journaled = journal.order(command.client_order_id)
    assert journaled is not None
    venue_order = await asyncio.wait_for(queues.order(command.venue, command.account, command.client_order_id), timeout_s)
    if venue_order is None:
        detail = f"{NOT_SENT} (after {type(error).__name__}: {error})" if str(error) else f"{NOT_SENT} (after {type(error).__name__})"
        return journal.record(OrderRejected(command.client_order_id, command.venue, journaled.ts_last, detail))
    fills = [f for f in await queues.executor.fills(command.ts_init - clock_skew_ns) if f.client_order_id == command.client_order_id]
    order = journaled
    for event in adoption_events(journaled, venue_order, (f for f in fills if not journal.has_fill(f.venue, f.trade_id))):
        order = journal.record(event)
    return order


def adoption_events(journaled: Order, venue_order: Order, missing: Iterable[Fill]) -> list[OrderEvent]:
    """The events that bring the journal's version of an order to the venue's: its acknowledgement, the
    fills the journal lacks (oldest first) and how it ended. Applying them may still raise `InvalidTransition`
    if the two records contradict each other."""
    cid, venue = journaled.client_order_id, journaled.venue
    events: list[OrderEvent] = []
    if venue_order.venue_order_id and venue_order.venue_order_id != journaled.venue_order_id:
        events.append(OrderAccepted(cid, venue, venue_order.ts_last, venue_order.venue_order_id))
    events += [OrderFilled(cid, venue, f.ts_event, f) for f in sorted(missing, key=lambda f: f.ts_event)]
    if venue_order.status is OrderStatus.CANCELED and journaled.status is not OrderStatus.CANCELED:
        events.append(OrderCanceled(cid, venue, venue_order.ts_last, venue_order.reason))
    elif venue_order.status is OrderStatus.REJECTED and journaled.status is not OrderStatus.REJECTED:
        events.append(OrderRejected(cid, venue, venue_order.ts_last, venue_order.reason))
    return events

