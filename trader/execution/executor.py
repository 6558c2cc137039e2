"""The one interface every executor implements: the paper executor now, a ccxt live executor later.

An executor only executes: it never decides. Every call is async, because a live one talks to a venue.
The client order id is the key across the wire: the trader journals it before `submit`, the venue
stores it with the order, and after a timeout (or a crash) `order(client_order_id)` tells whether the
order exists. `submit` is idempotent on that id: a re-sent id is answered with the existing order and
no new events, never with a second order.

Fills that arrive later (a resting limit order crossed by the market) reach the trader through the
executor's own channel (the paper executor returns them from `on_book` / `on_trade`; a live one will
stream them); `fills(since)` is the polling fallback that reconciliation uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from shared.trading import Balances, CancelOrder, Fill, Order, OrderEvent, SubmitOrder

__all__ = ["Executor", "ExecutorError", "ExecutorUnavailable", "OrderUpdate"]


class ExecutorError(Exception):
    """The executor could not carry out a call; the order's state is unknown until looked up."""


class ExecutorUnavailable(ExecutorError):
    """The executor (its venue, or its store) cannot be reached at all."""


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """The answer to a command: the order as the executor now holds it, and the events this call produced
    (none when a re-sent client order id is answered with the existing order, or a cancel finds it final)."""

    order: Order
    events: tuple[OrderEvent, ...]

    @property
    def duplicate(self) -> bool:
        return not self.events


@runtime_checkable
class Executor(Protocol):
    # Whether the executor's record of an order outlives a power cut of this machine. A venue's does: the
    # journal then syncs an order's intent to disk before the order goes, so it never knows less than the venue.
    # The paper venue's store is on this machine and commits like the journal; syncing the journal alone would
    # protect nothing (after a power cut either may keep an order the other lost; reconciliation reports it).
    survives_power_cut: bool

    async def submit(self, command: SubmitOrder) -> OrderUpdate:
        """Send the order. A refusal (funds, minimums, unknown instrument) is an `OrderRejected` event, not an error."""
        ...

    async def cancel(self, command: CancelOrder) -> OrderUpdate:
        """Cancel an open order; a final order is returned as it is. Unknown ids raise `KeyError`."""
        ...

    async def order(self, client_order_id: str) -> Order | None:
        """The order with this client order id, as the venue holds it, or None if the venue never got it."""
        ...

    async def open_orders(self) -> tuple[Order, ...]:
        ...

    async def fills(self, since: int = 0) -> tuple[Fill, ...]:
        """Every fill with `ts_event >= since`, oldest first."""
        ...

    async def balances(self, account: str = "main") -> Balances:
        """`account`'s balances on every venue this executor trades (the trader trades one account per venue)."""
        ...
