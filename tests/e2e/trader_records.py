"""The trader's two records read straight from their SQLite files, read-only: its journal and the paper venue's
own store. What a crash test checks after the fact: the venue executed each order once, the journal agrees
with it order by order and fill by fill, the balances follow the fills, and no arbitrage was forgotten."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from shared.trading import ArbitrageAttempt, ArbitrageState, Balance, Fill, Order, OrderStatus, decode
from trader.execution.journaled import NOT_SENT

ZERO = Decimal(0)
_SETTLED = frozenset({ArbitrageState.FILLED, ArbitrageState.DONE, ArbitrageState.ABORTED})


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection (the trader may be writing: WAL lets it)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        yield db


@dataclass(frozen=True, slots=True)
class InFlight:
    """What the journal holds as under way at one moment."""

    orders: tuple[Order, ...]  # not final
    attempts: tuple[ArbitrageAttempt, ...]  # not final

    @property
    def sending(self) -> tuple[Order, ...]:
        """Orders journaled but not answered yet (initialized or submitted)."""
        return tuple(o for o in self.orders if o.status in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED))

    @property
    def legs_under_way(self) -> tuple[ArbitrageAttempt, ...]:
        """Attempts past their first order and not settled (a leg sent, partly filled, or hedging), resting makers aside."""
        return tuple(a for a in self.attempts if a.anything_filled or a.state is ArbitrageState.HEDGING)


def in_flight(journal: Path) -> InFlight:
    with read_only(journal) as db:
        orders = tuple(decode(b, Order) for (b,) in db.execute("SELECT body FROM orders WHERE is_final = 0"))
        attempts = tuple(decode(b, ArbitrageAttempt) for (b,) in db.execute("SELECT body FROM arbitrages WHERE is_final = 0"))
    return InFlight(orders, attempts)


def moment(journal: Path, store: Path) -> frozenset[str]:
    """What is under way, read from both records at one moment (the trader frozen): `sending` (an order journaled and
    not answered), `legs` (an arbitrage with a leg filled, not settled), `venue_ahead` (the venue has done something
    to an order, or has a fill, that the journal has not heard of yet)."""
    state = in_flight(journal)
    seen = set()
    if state.sending:
        seen.add("sending")
    if state.legs_under_way:
        seen.add("legs")
    with read_only(journal) as db:
        journal_fills = db.execute("SELECT COUNT(*) FROM fills").fetchone()[0]
    pending = {o.client_order_id: o for o in state.orders}
    with read_only(store) as db:
        store_fills = db.execute("SELECT COUNT(*) FROM fills").fetchone()[0]
        marks = ",".join("?" * len(pending))
        venue = [decode(b, Order) for (b,) in db.execute(f"SELECT body FROM orders WHERE client_order_id IN ({marks})", tuple(pending))]
    if store_fills > journal_fills or any((o.status, o.filled) != (pending[o.client_order_id].status, pending[o.client_order_id].filled)
                                          for o in venue):
        seen.add("venue_ahead")
    return frozenset(seen)


@dataclass(frozen=True, slots=True)
class Records:
    journal_orders: dict[str, Order]
    journal_fills: dict[str, Fill]  # by trade id
    attempts: tuple[ArbitrageAttempt, ...]
    unhedged_reports: frozenset[str]  # attempt ids with an `unhedged` risk event
    reconciliations: tuple[tuple[int, str, str], ...]  # (session, status, detail) of each recovery
    sessions: tuple[tuple[int, str | None], ...]  # (id, end reason; None if it never ended: killed)
    store_orders: tuple[Order, ...]  # every row of the paper store, duplicates included
    store_fills: dict[str, Fill]
    store_balances: tuple[Balance, ...]


def read(journal: Path, store: Path) -> Records:
    with read_only(journal) as db:
        orders = {cid: decode(b, Order) for cid, b in db.execute("SELECT client_order_id, body FROM orders")}
        fills = {f.trade_id: f for f in (decode(b, Fill) for (b,) in db.execute("SELECT body FROM fills"))}
        attempts = tuple(decode(b, ArbitrageAttempt) for (b,) in db.execute("SELECT body FROM arbitrages ORDER BY ts_init"))
        unhedged = frozenset(r for (r,) in db.execute("SELECT reason FROM risk_events WHERE kind = 'unhedged'"))
        recoveries = tuple(db.execute("SELECT session_id, reason, detail FROM risk_events WHERE kind = 'reconciliation' ORDER BY id"))
        sessions = tuple((i, reason if ended is not None else None)
                         for i, ended, reason in db.execute("SELECT id, ended_ns, end_reason FROM sessions ORDER BY id"))
    with read_only(store) as db:
        store_orders = tuple(decode(b, Order) for (b,) in db.execute("SELECT body FROM orders ORDER BY number"))
        store_fills = {f.trade_id: f for f in (decode(b, Fill) for (b,) in db.execute("SELECT body FROM fills"))}
        balances = tuple(Balance(v, a, asset, Decimal(free), Decimal(locked))
                         for v, a, asset, free, locked in db.execute("SELECT venue, account, asset, free, locked FROM balances"))
    return Records(orders, fills, attempts, unhedged, recoveries, sessions, store_orders, store_fills, balances)


def problems(records: Records, starting: dict[tuple[str, str], Decimal]) -> list[str]:
    """Every way the two records disagree, or an arbitrage was left behind; [] when all is well.
    `starting`: (venue, asset) -> the paper account's starting balance."""
    found: list[str] = []
    r = records
    # The venue executed every client order id once, and only ids the journal had before sending.
    counts = Counter(o.client_order_id for o in r.store_orders)
    found += [f"order {cid} is at the venue {n} times" for cid, n in counts.items() if n > 1]
    found += [f"order {o.client_order_id} is at the venue but not in the journal" for o in r.store_orders
              if o.client_order_id not in r.journal_orders]
    venue = {o.client_order_id: o for o in r.store_orders}
    # Every journaled order agrees with the venue's: final state, amount filled, fills one by one.
    for cid, order in r.journal_orders.items():
        at_venue = venue.get(cid)
        if not order.is_final:
            found.append(f"order {cid} is still {order.status} in the journal")
        if at_venue is None:
            if order.status is not OrderStatus.REJECTED or not order.reason.startswith(NOT_SENT):
                found.append(f"order {cid} is {order.status} in the journal ({order.reason!r}) but the venue never had it")
            continue
        if (order.status, order.filled) != (at_venue.status, at_venue.filled):
            found.append(f"order {cid}: journal {order.status} filled {order.filled}, venue {at_venue.status} filled {at_venue.filled}")
    journal_ids, store_ids = set(r.journal_fills), set(r.store_fills)
    found += [f"fill {t} ({r.store_fills[t].client_order_id}) is at the venue but not in the journal" for t in sorted(store_ids - journal_ids)]
    found += [f"fill {t} is in the journal but not at the venue" for t in sorted(journal_ids - store_ids)]
    found += [f"fill {t} differs: journal {r.journal_fills[t]}, venue {r.store_fills[t]}" for t in sorted(journal_ids & store_ids)
              if r.journal_fills[t] != r.store_fills[t]]
    # The venue's balances are the starting balances moved by its fills (nothing locked once nothing rests).
    expected = dict(starting)
    for fill in r.store_fills.values():
        for asset, delta in fill.deltas().items():
            expected[(fill.venue, asset)] = expected.get((fill.venue, asset), ZERO) + delta
    held = {(b.venue, b.asset): b.total for b in r.store_balances}
    for key in sorted(set(expected) | set(held)):
        if expected.get(key, ZERO) != held.get(key, ZERO):
            found.append(f"balance {key[0]} {key[1]}: venue holds {held.get(key, ZERO)}, starting balance and fills give {expected.get(key, ZERO)}")
    found += [f"balance {b.venue} {b.asset}: {b.locked} still locked" for b in r.store_balances if b.locked]
    # Every arbitrage ended, and accounts for every fill of its orders: settled, or failed-unhedged with a report.
    by_attempt: dict[str, set[str]] = {}
    for fill in r.store_fills.values():
        attempt_id = r.journal_orders[fill.client_order_id].attempt_id if fill.client_order_id in r.journal_orders else None
        by_attempt.setdefault(attempt_id or "", set()).add(fill.trade_id)
    for attempt in r.attempts:
        if attempt.state is ArbitrageState.FAILED_UNHEDGED:
            if attempt.id not in r.unhedged_reports:
                found.append(f"arbitrage {attempt.id} failed unhedged with no report in the journal")
        elif attempt.state not in _SETTLED:
            found.append(f"arbitrage {attempt.id} is still {attempt.state}")
        known = {f.trade_id for leg in (*attempt.legs, *attempt.hedges) for f in leg.fills}
        if known != by_attempt.get(attempt.id, set()):
            found.append(f"arbitrage {attempt.id} ({attempt.state}) lists fills {sorted(known)}, "
                         f"the venue has {sorted(by_attempt.get(attempt.id, set()))} for its orders")
        for leg in (*attempt.legs, *attempt.hedges):
            filled = sum((f.amount for f in leg.fills), ZERO)
            if filled > leg.leg.amount:
                found.append(f"arbitrage {attempt.id}: a {leg.leg.venue} {leg.leg.side} leg of {leg.leg.amount} filled {filled}")
    return found
