"""Recovery on start: reconcile the journal with the executor before the trader trades.

Two independent records meet here: the journal (what the trader meant and heard) and the executor
(what the venue did). `recover` asks the executor about every non-final journaled order and in-flight
arbitrage, then brings the journal up to date:

- an order the executor knows is adopted: its acknowledgement, its fills missing from the journal and
  its final state (canceled, rejected) are applied to the journaled order as events;
- an order the executor does not know, and that no executor ever acknowledged, was never sent: it is
  marked rejected ("never sent"), so it is not sent twice and not waited for;
- an acknowledged order the executor no longer knows, a fill of an order the journal never had, and
  balances that differ from the journal's beyond the tolerance are mismatches: trade in safe mode;
- arbitrages take in their legs' fills and failures; one with nothing filled and nothing open is aborted;
  one left with exposure is reported for the trader to hedge (it is never silently dropped).

If the executor cannot answer (it raises, or times out), nothing is written but a risk event, and the
report says to refuse to trade, and why: recovery fails closed. The reconciliation itself is a plain
function (`reconcile`) over what was read; only reading the executor is async.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

import msgspec

from shared.clock import Clock
from shared.trading import (
    ArbitrageAttempt,
    Balances,
    Fill,
    InvalidTransition,
    LegStatus,
    Order,
    OrderRejected,
    OrderStatus,
)
from trader.execution.executor import Executor
from trader.execution.journaled import NOT_SENT, adoption_events
from trader.journal import Journal

ZERO = Decimal(0)
NEVER_SENT = NOT_SENT


class RecoveryStatus(StrEnum):
    CLEAN = "clean"  # the records agree: trade
    MISMATCH = "mismatch"  # reconciled, but the records disagree: trade in safe mode
    REFUSED = "refused"  # reconciliation could not complete: do not trade


class OrderAction(StrEnum):
    ADOPTED = "adopted"  # found at the executor: its state and fills taken over
    NEVER_SENT = "never_sent"  # journaled, never acknowledged, unknown to the executor: marked rejected
    LOST = "lost"  # acknowledged once, unknown to the executor now: a mismatch


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    client_order_id: str
    action: OrderAction
    before: OrderStatus
    after: OrderStatus
    fills_added: int = 0


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    attempt_id: str
    before: str
    after: str
    exposure: dict[str, Decimal]  # what is left to hedge (net per asset, the profit asset aside)
    needs_action: bool  # still in flight: open orders to follow, or exposure to hedge


@dataclass(frozen=True, slots=True)
class BalanceMismatch:
    venue: str
    asset: str
    journal: Decimal  # the journal's last snapshot plus the fills journaled since
    executor: Decimal

    @property
    def difference(self) -> Decimal:
        return self.executor - self.journal


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    status: RecoveryStatus
    reason: str  # why it refused, or what disagreed; "" when clean
    orders: tuple[OrderOutcome, ...] = ()
    attempts: tuple[AttemptOutcome, ...] = ()
    fills_added: tuple[Fill, ...] = ()
    problems: tuple[str, ...] = ()  # every disagreement, one line each
    balance_mismatches: tuple[BalanceMismatch, ...] = ()
    open_orders: tuple[Order, ...] = ()  # open at the executor after recovery

    @property
    def may_trade(self) -> bool:
        return self.status is not RecoveryStatus.REFUSED

    @property
    def safe_mode(self) -> bool:
        return self.status is not RecoveryStatus.CLEAN

    @property
    def exposed(self) -> tuple[AttemptOutcome, ...]:
        """Arbitrages still in flight with exposure: the trader hedges them first (safe mode lets hedges through)."""
        return tuple(a for a in self.attempts if a.needs_action and a.exposure)


@dataclass(frozen=True, slots=True)
class ExecutorState:
    """What the executor said, read before anything is written."""

    orders: dict[str, Order | None]  # the journal's non-final orders, looked up by client order id
    fills: tuple[Fill, ...]
    balances: dict[str, Balances]  # per account
    open_orders: tuple[Order, ...]


@dataclass(slots=True)
class _Plan:
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    outcomes: list[OrderOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def recover(journal: Journal, executor: Executor, clock: Clock, accounts: Sequence[str] = ("main",),
                  tolerance: Decimal = Decimal("1e-8"), timeout_s: float = 30.0, clock_skew_ns: int = 60_000_000_000) -> RecoveryReport:
    """Reconcile `journal` (with a session started) against `executor`; see the module's docstring."""
    pending = journal.orders(final=False)
    snapshot = journal.latest_snapshot()
    starts = [o.ts_init for o in pending] + ([snapshot.ts] if snapshot else [])
    since = min(starts) - clock_skew_ns if starts else None
    try:
        state = await asyncio.wait_for(_read(executor, pending, since, accounts), timeout_s)
    except Exception as error:  # fail closed on anything: the executor's state is unknown
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        reason = f"executor could not be reconciled ({detail}); refusing to trade"
        journal.record_risk_event("reconciliation", RecoveryStatus.REFUSED.value, reason)
        return RecoveryReport(RecoveryStatus.REFUSED, reason)

    now = clock()
    with journal.transaction():
        plan = reconcile_orders(journal, pending, state, now)
        for order in plan.orders:
            journal.record_order(order)
        for fill in plan.fills:
            journal.record_fill(fill)
        attempts = tuple(_reconcile_attempt(journal, attempt, now, plan.problems) for attempt in journal.attempts(in_flight=True))
        mismatches: list[BalanceMismatch] = []
        if snapshot is not None:
            for account in accounts:
                mismatches += compare_balances(expected_balances(journal, account), state.balances[account], tolerance)
        journal.snapshot_balances([b for account in accounts for b in state.balances[account].values()], "recovery")
        problems = plan.problems + [f"balance {m.venue} {m.asset}: journal {m.journal}, executor {m.executor}" for m in mismatches]
        status = RecoveryStatus.MISMATCH if problems else RecoveryStatus.CLEAN
        reason = "; ".join(problems)
        journal.record_risk_event("reconciliation", status.value, reason or f"{len(pending)} orders and {len(attempts)} arbitrages reconciled")
    return RecoveryReport(status, reason, tuple(plan.outcomes), attempts, tuple(plan.fills), tuple(problems), tuple(mismatches), state.open_orders)


async def _read(executor: Executor, pending: Iterable[Order], since: int | None, accounts: Sequence[str]) -> ExecutorState:
    orders = {order.client_order_id: await executor.order(order.client_order_id) for order in pending}
    fills = await executor.fills(since) if since is not None else ()
    balances = {account: await executor.balances(account) for account in accounts}
    return ExecutorState(orders, fills, balances, await executor.open_orders())


def reconcile_orders(journal: Journal, pending: Sequence[Order], state: ExecutorState, now: int) -> _Plan:
    """What the journal's non-final orders become, the fills it lacks, and the disagreements (pure: reads the journal only)."""
    plan = _Plan()
    missing: dict[str, list[Fill]] = {}
    for fill in state.fills:
        if journal.has_fill(fill.venue, fill.trade_id):
            continue
        if journal.order(fill.client_order_id) is None:
            plan.problems.append(f"fill {fill.venue} {fill.trade_id} is for order {fill.client_order_id}, which the journal never had")
        else:
            missing.setdefault(fill.client_order_id, []).append(fill)
    for order in pending:
        venue_order = state.orders[order.client_order_id]
        if venue_order is None:
            _unknown(plan, order, journal, now)
        else:
            _adopt(plan, order, venue_order, missing.pop(order.client_order_id, []), journal)
    for cid, fills in missing.items():  # fills of orders the journal holds as final
        plan.problems.append(f"order {cid} is final in the journal but the executor has {len(fills)} more fills for it")
    return plan


def _unknown(plan: _Plan, order: Order, journal: Journal, now: int) -> None:
    acknowledged = order.venue_order_id is not None or order.status not in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED)
    if acknowledged or journal.fills(order.client_order_id):
        plan.problems.append(f"order {order.client_order_id} was acknowledged ({order.status}) but the executor does not know it")
        plan.outcomes.append(OrderOutcome(order.client_order_id, OrderAction.LOST, order.status, order.status))
        return
    never = order.apply(OrderRejected(order.client_order_id, order.venue, now, NEVER_SENT))
    plan.orders.append(never)
    plan.outcomes.append(OrderOutcome(order.client_order_id, OrderAction.NEVER_SENT, order.status, never.status))


def _adopt(plan: _Plan, order: Order, venue_order: Order, fills: list[Fill], journal: Journal) -> None:
    adopted = order
    try:
        for event in adoption_events(order, venue_order, fills):
            adopted = adopted.apply(event)
    except InvalidTransition as error:
        plan.problems.append(f"order {order.client_order_id}: {error}; the executor's version is adopted as it is")
        adopted = msgspec.structs.replace(venue_order, attempt_id=order.attempt_id)
    if adopted.filled != venue_order.filled:
        plan.problems.append(f"order {order.client_order_id}: the journal's fills add to {adopted.filled}, the executor reports {venue_order.filled}")
    plan.orders.append(adopted)
    plan.fills += fills
    plan.outcomes.append(OrderOutcome(order.client_order_id, OrderAction.ADOPTED, order.status, adopted.status, len(fills)))


def _reconcile_attempt(journal: Journal, attempt: ArbitrageAttempt, now: int, problems: list[str]) -> AttemptOutcome:
    """Bring an in-flight attempt up to date with its orders as the journal now holds them."""
    before = attempt.state
    try:
        attempt = _apply_orders(journal, attempt, now, problems)
        orders = [journal.order(cid) for cid in attempt.order_ids()]
        nothing_open = all(o is not None and o.is_final for o in orders)
        if not attempt.is_final and nothing_open and not attempt.anything_filled:
            attempt = attempt.abandon("recovered after a restart with nothing filled and nothing open", now)
    except InvalidTransition as error:
        problems.append(f"arbitrage {attempt.id}: {error}")
    journal.record_attempt(attempt)
    exposure = attempt.exposure()
    return AttemptOutcome(attempt.id, before.value, attempt.state.value, exposure, not attempt.is_final)


def _apply_orders(journal: Journal, attempt: ArbitrageAttempt, now: int, problems: list[str]) -> ArbitrageAttempt:
    # Orders journaled for this attempt that no leg lists yet (the attempt's update was lost in a crash).
    listed = set(attempt.order_ids())
    for order in journal.orders_of(attempt.id):
        if order.client_order_id in listed:
            continue
        index = next((i for i, leg in enumerate(attempt.legs) if leg.status in (LegStatus.PROPOSED, LegStatus.FAILED)
                      and (leg.leg.venue, leg.leg.symbol, leg.leg.side) == (order.venue, order.symbol, order.side)), None)
        if index is None:
            problems.append(f"order {order.client_order_id} belongs to arbitrage {attempt.id} but matches none of its legs")
        else:
            attempt = attempt.sent(index, order.client_order_id, now)
    for hedging, legs in ((False, attempt.legs), (True, attempt.hedges)):
        for index, leg in enumerate(legs):
            seen = {f.trade_id for f in leg.fills}
            for cid in leg.orders:
                for fill in journal.fills(cid):
                    if fill.trade_id not in seen:
                        attempt = attempt.hedge_filled(index, fill, now) if hedging else attempt.filled(index, fill, now)
            current = (attempt.hedges if hedging else attempt.legs)[index]
            last = journal.order(current.orders[-1]) if current.orders else None
            if last is not None and last.is_final and current.status in (LegStatus.SENT, LegStatus.PARTIALLY_FILLED):
                reason = f"order {last.client_order_id} ended {last.status}: {last.reason}"
                attempt = attempt.hedge_failed(index, reason, now) if hedging else attempt.failed(index, reason, now)
    return attempt


def expected_balances(journal: Journal, account: str = "main") -> Balances:
    """The journal's view of `account`'s balances: its last snapshot moved by every fill journaled since."""
    snapshot = journal.latest_snapshot()
    if snapshot is None:
        return Balances()
    balances = Balances(b for b in snapshot.balances if b.account == account)
    for fill in journal.fills(after_seq=snapshot.fills_seq):
        if fill.account == account:
            balances = balances.adjusted(fill.venue, fill.deltas(), account)
    return balances


def compare_balances(expected: Balances, actual: Balances, tolerance: Decimal) -> tuple[BalanceMismatch, ...]:
    """Totals (free + locked) per venue and asset that differ by more than `tolerance`; a missing entry reads as zero."""
    mismatches = []
    for venue, asset in sorted(set(expected) | set(actual)):
        want, have = expected.total(venue, asset), actual.total(venue, asset)
        if abs(have - want) > tolerance:
            mismatches.append(BalanceMismatch(venue, asset, want, have))
    return tuple(mismatches)


# while running -------------------------------------------------------------------------------------------

_IN_FLIGHT = frozenset({OrderStatus.INITIALIZED, OrderStatus.SUBMITTED})


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """A periodic comparison while trading; any disagreement is the service's cue to enter safe mode."""

    balance_mismatches: tuple[BalanceMismatch, ...]
    unknown_open: tuple[Order, ...]  # open at the executor, but final or absent in the journal
    missing_open: tuple[Order, ...]  # acknowledged open in the journal, not open at the executor

    @property
    def agrees(self) -> bool:
        return not (self.balance_mismatches or self.unknown_open or self.missing_open)

    def problems(self) -> tuple[str, ...]:
        return (
            *(f"balance {m.venue} {m.asset}: journal {m.journal}, executor {m.executor}" for m in self.balance_mismatches),
            *(f"order {o.client_order_id} is open at the executor but not in the journal" for o in self.unknown_open),
            *(f"order {o.client_order_id} is open in the journal but not at the executor" for o in self.missing_open),
        )


async def check(journal: Journal, executor: Executor, accounts: Sequence[str] = ("main",), tolerance: Decimal = Decimal("1e-8"),
                timeout_s: float = 30.0) -> Reconciliation:
    """Compare balances and open orders, writing nothing. Orders still being sent count as agreeing; a fill the
    journal has not heard of yet shows as a balance difference, so call it between commands (no execution queue
    busy) or act on a mismatch seen twice. Raises if the executor cannot answer."""

    async def read() -> tuple[dict[str, Balances], tuple[Order, ...]]:
        return {account: await executor.balances(account) for account in accounts}, await executor.open_orders()

    balances, venue_open = await asyncio.wait_for(read(), timeout_s)
    mismatches: list[BalanceMismatch] = []
    if journal.latest_snapshot() is not None:  # without one the journal has no view of the balances to compare
        for account in accounts:
            mismatches += compare_balances(expected_balances(journal, account), balances[account], tolerance)
    journal_open = {o.client_order_id: o for o in journal.orders(final=False)}
    at_venue = {o.client_order_id for o in venue_open}
    unknown = tuple(o for o in venue_open if o.client_order_id not in journal_open)
    missing = tuple(o for cid, o in journal_open.items() if cid not in at_venue and o.status not in _IN_FLIGHT)
    return Reconciliation(tuple(mismatches), unknown, missing)
