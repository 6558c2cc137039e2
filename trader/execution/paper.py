"""The paper executor: a simulated venue that fills against the live books it is given.

- Market orders walk the current book; limit orders take what crosses at once, then (GTC, post-only)
  rest until a later book or a public trade crosses their price, filling partly by the size available.
  Liquidity taken from a book version is not taken again (`BookLiquidity`).
- Fees come from each venue's `InstrumentSpec`: taker for what is taken, maker for what rests, charged
  on the asset received, as `shared.trading` does.
- Balances are per venue and account; a resting order locks what it may spend.
- A command it cannot carry out (unknown instrument, no book, under the venue's minimums, not enough
  funds, a post-only order that would take) is answered with `OrderRejected` and the reason.
- Every call waits the configured latency first. Orders, fills and balances live in a `PaperStore`,
  its own SQLite file, and a re-sent client order id is answered with the existing order.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import ParamSpec, TypeVar

from shared.clock import Clock
from shared.events import BookTop, Trade
from shared.trading import (
    Balance,
    Balances,
    CancelOrder,
    Fill,
    Instruments,
    InstrumentSpec,
    Liquidity,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderType,
    Side,
    SubmitOrder,
    TimeInForce,
    to_decimal,
)
from trader.execution.executor import ExecutorUnavailable, OrderUpdate
from trader.execution.liquidity import BookLiquidity
from trader.execution.paper_store import PaperStore

ZERO = Decimal(0)
_RESTS = frozenset({TimeInForce.GTC, TimeInForce.POST_ONLY})
P = ParamSpec("P")
R = TypeVar("R")
BalanceKey = tuple[str, str, str]  # venue, account, asset


@dataclass(frozen=True, slots=True)
class PaperConfig:
    instruments: Instruments
    initial_balances: tuple[Balance, ...] = ()  # seeded into a new store only
    latency_s: float = 0.0  # waited before every call is answered


class _Changes:
    """The balances and orders one command changes, applied to memory only once the store has committed them."""

    def __init__(self, balances: dict[BalanceKey, Balance]) -> None:
        self._base = balances
        self.balances: dict[BalanceKey, Balance] = {}
        self.orders: dict[str, Order] = {}
        self.fills: list[Fill] = []
        self.events: list[OrderEvent] = []

    def move(self, venue: str, account: str, asset: str, free: Decimal = ZERO, locked: Decimal = ZERO) -> None:
        key = (venue, account, asset)
        old = self.balances.get(key) or self._base.get(key) or Balance(venue, account, asset, ZERO)
        self.balances[key] = Balance(venue, account, asset, old.free + free, old.locked + locked)

    def free(self, venue: str, account: str, asset: str) -> Decimal:
        key = (venue, account, asset)
        balance = self.balances.get(key) or self._base.get(key)
        return balance.free if balance else ZERO

    def apply(self, order: Order, event: OrderEvent) -> Order:
        order = order.apply(event)
        self.orders[order.client_order_id] = order
        self.events.append(event)
        return order


class PaperExecutor:
    survives_power_cut = False  # its store commits on this machine with synchronous=NORMAL, as the journal does

    def __init__(self, store: PaperStore, config: PaperConfig, clock: Clock,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.config = config
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self._liquidity = BookLiquidity()
        store.seed(config.initial_balances)
        self._balances = {(b.venue, b.account, b.asset): b for b in store.balance_rows()}
        self._resting = {o.client_order_id: o for o in store.open_orders()}
        self._next_trade = store.fill_count() + 1

    # the Executor interface ----------------------------------------------------

    async def submit(self, command: SubmitOrder) -> OrderUpdate:
        await self._sleep(self.config.latency_s)
        existing = self._read(self._store.order, command.client_order_id)
        if existing is not None:
            return OrderUpdate(existing, ())
        now = self._clock()
        changes = _Changes(self._balances)
        order = command.to_order()
        spec = self.config.instruments.get((command.venue, command.symbol))
        problem = self._refusal(command, spec, changes)
        if problem or spec is None:
            order = changes.apply(order, OrderRejected(command.client_order_id, command.venue, now, problem or "unknown instrument"))
            return self._commit(changes, order)
        number = self._read(self._store.next_number)
        order = changes.apply(order, OrderAccepted(command.client_order_id, command.venue, now, f"paper-{number}"))
        slices = self._liquidity.plan(order.venue, order.symbol, order.side, order.amount, order.price, spec.lot_size)
        taken = sum((size for _, size in slices), ZERO)
        if command.time_in_force is TimeInForce.FOK and taken < order.amount:
            order = changes.apply(order, OrderCanceled(order.client_order_id, order.venue, now, f"fill-or-kill: only {taken} available"))
            return self._commit(changes, order)
        self._liquidity.take(order.venue, order.symbol, order.side, slices)
        for price, size in slices:
            order = self._fill(changes, order, spec, price, size, Liquidity.TAKER, now)
        if order.remaining > 0 and (order.type is OrderType.MARKET or order.time_in_force not in _RESTS):
            reason = "no more liquidity" if order.type is OrderType.MARKET else "immediate-or-cancel remainder"
            order = changes.apply(order, OrderCanceled(order.client_order_id, order.venue, now, reason))
        elif order.remaining > 0:
            spent, amount = _locked_for(order, spec)
            changes.move(order.venue, order.account, spent, free=-amount, locked=amount)
        return self._commit(changes, order)

    async def cancel(self, command: CancelOrder) -> OrderUpdate:
        await self._sleep(self.config.latency_s)
        order = self._read(self._store.order, command.client_order_id)
        if order is None:
            raise KeyError(f"paper venue {command.venue} has no order {command.client_order_id}")
        if not order.is_open:
            return OrderUpdate(order, ())
        changes = _Changes(self._balances)
        spec = self.config.instruments[(order.venue, order.symbol)]
        spent, amount = _locked_for(order, spec)
        changes.move(order.venue, order.account, spent, free=amount, locked=-amount)
        order = changes.apply(order, OrderCanceled(order.client_order_id, order.venue, self._clock(), command.reason or "canceled"))
        return self._commit(changes, order)

    async def order(self, client_order_id: str) -> Order | None:
        await self._sleep(self.config.latency_s)
        return self._read(self._store.order, client_order_id)

    async def open_orders(self) -> tuple[Order, ...]:
        await self._sleep(self.config.latency_s)
        return self._read(self._store.open_orders)

    async def fills(self, since: int = 0) -> tuple[Fill, ...]:
        await self._sleep(self.config.latency_s)
        return self._read(self._store.fills, since)

    async def balances(self, account: str = "main") -> Balances:
        await self._sleep(self.config.latency_s)
        return self._read(self._store.balances, account)

    # market data ----------------------------------------------------------------

    def on_book(self, book: BookTop) -> tuple[OrderEvent, ...]:
        """Take in a book; resting orders it crosses fill (at their own price, as makers) by the size it shows."""
        if not self._liquidity.update(book):
            return ()
        now = self._clock()
        changes = _Changes(self._balances)
        for order in self._resting_on(book.exchange, book.symbol):
            spec = self.config.instruments[(order.venue, order.symbol)]
            slices = self._liquidity.plan(order.venue, order.symbol, order.side, order.remaining, order.price, spec.lot_size)
            if slices:
                self._liquidity.take(order.venue, order.symbol, order.side, slices)
                assert order.price is not None
                self._fill(changes, order, spec, order.price, sum((size for _, size in slices), ZERO), Liquidity.MAKER, now, resting=True)
        return self._commit_market(changes)

    def on_trade(self, trade: Trade) -> tuple[OrderEvent, ...]:
        """A public trade through a resting order's price fills it by the trade's size, oldest order at the best price first."""
        price, left = to_decimal(trade.price), to_decimal(trade.amount)
        now = self._clock()
        changes = _Changes(self._balances)
        for order in self._resting_on(trade.exchange, trade.symbol):
            assert order.price is not None
            crosses = price <= order.price if order.side is Side.BUY else price >= order.price
            if trade.side is order.side or not crosses or left <= 0:
                continue
            spec = self.config.instruments[(order.venue, order.symbol)]
            size = spec.round_amount(min(left, order.remaining))
            if size > 0:
                left -= size
                self._fill(changes, order, spec, order.price, size, Liquidity.MAKER, now, resting=True)
        return self._commit_market(changes)

    def close(self) -> None:
        self._store.close()

    # internals -------------------------------------------------------------------

    def _refusal(self, command: SubmitOrder, spec: InstrumentSpec | None, changes: _Changes) -> str:
        venue, symbol, side = command.venue, command.symbol, command.side
        if spec is None:
            return f"unknown instrument {venue} {symbol}"
        best = self._liquidity.best(venue, symbol, side)
        if command.type is OrderType.MARKET and best is None:
            return f"no book for {venue} {symbol}"
        reference = command.price if command.price is not None else best
        assert reference is not None
        short = spec.shortfall(command.amount, reference)
        if short:
            return short
        if command.time_in_force is TimeInForce.POST_ONLY and best is not None and command.price is not None:
            if (best <= command.price) if side is Side.BUY else (best >= command.price):
                return f"post-only order at {command.price} would take liquidity at {best}"
        asset = spec.spent_asset(side)
        if side is Side.SELL:
            needed = command.amount
        elif command.price is not None:
            needed = command.amount * command.price
        else:
            slices = self._liquidity.plan(venue, symbol, side, command.amount, None, spec.lot_size)
            needed = sum((price * size for price, size in slices), ZERO)
        free = changes.free(venue, command.account, asset)
        if needed > free:
            return f"insufficient {asset} on {venue}: needs {needed}, has {free} free"
        return ""

    def _fill(self, changes: _Changes, order: Order, spec: InstrumentSpec, price: Decimal, size: Decimal, liquidity: Liquidity,
              now: int, resting: bool = False) -> Order:
        fill = Fill(order.client_order_id, order.venue, order.account, order.symbol, order.side, f"paper-t{self._next_trade + len(changes.fills)}",
                    price, size, spec.fee(order.side, size, price, liquidity), spec.received_asset(order.side), liquidity, now)
        spent = spec.spent_asset(order.side)
        for asset, delta in fill.deltas().items():
            if resting and asset == spent:
                changes.move(order.venue, order.account, asset, locked=delta)
            else:
                changes.move(order.venue, order.account, asset, free=delta)
        changes.fills.append(fill)
        return changes.apply(changes.orders.get(order.client_order_id, order), OrderFilled(order.client_order_id, order.venue, now, fill))

    def _resting_on(self, venue: str, symbol: str) -> list[Order]:
        orders = [o for o in self._resting.values() if o.venue == venue and o.symbol == symbol]
        # Price priority, then time (the venue's order number).
        return sorted(orders, key=lambda o: (-(o.price or ZERO) if o.side is Side.BUY else (o.price or ZERO), _number(o)))

    def _commit(self, changes: _Changes, order: Order) -> OrderUpdate:
        self._write(changes)
        return OrderUpdate(order, tuple(changes.events))

    def _commit_market(self, changes: _Changes) -> tuple[OrderEvent, ...]:
        if changes.events:
            self._write(changes)
        return tuple(changes.events)

    def _write(self, changes: _Changes) -> None:
        try:
            self._store.commit(changes.orders.values(), changes.fills, changes.balances.values())
        except sqlite3.Error as error:
            raise ExecutorUnavailable(f"paper store {self._store.path}: {error}") from error
        self._balances.update(changes.balances)
        self._next_trade += len(changes.fills)
        for cid, order in changes.orders.items():
            if order.is_open:
                self._resting[cid] = order
            else:
                self._resting.pop(cid, None)

    def _read(self, read: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return read(*args, **kwargs)
        except sqlite3.Error as error:
            raise ExecutorUnavailable(f"paper store {self._store.path}: {error}") from error


def _locked_for(order: Order, spec: InstrumentSpec) -> tuple[str, Decimal]:
    """The asset and amount an open order's remainder holds: quote at its limit for a buy, base for a sell."""
    if order.side is Side.BUY:
        assert order.price is not None
        return spec.quote, order.remaining * order.price
    return spec.base, order.remaining


def _number(order: Order) -> int:
    return int((order.venue_order_id or "paper-0").rsplit("-", 1)[1])
