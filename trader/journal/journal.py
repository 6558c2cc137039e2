"""The trader's durable journal: one SQLite file in WAL mode, written by one process at a time.

It records sessions (each trader run: start, end, reason, totals), strategy instances, arbitrage
attempts with their legs, orders, fills, balance snapshots, and risk decisions and events, through a
typed API over the `shared.trading` values. Every write commits before it returns, unless it runs
inside `transaction()`, which commits its writes together, or is held by `later()` for the next commit (the
engine holds an approved decision and its arbitrage for the commit of the first order's intent: one fsync).

Journal-before-send: `record_intent(order)` commits the order, with its client order id and status
`initialized`, before the executor is called; `record(event)` then moves it on. An order can only be
updated once its intent is journaled, so an order that reached a venue is never unknown to the journal.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import msgspec

from shared.clock import Clock
from shared.trading import (
    ArbitrageAttempt,
    Balance,
    Decision,
    Fill,
    Order,
    OrderEvent,
    OrderFilled,
    OrderStatus,
    StrategyInstance,
    decode,
    encode,
)
from trader.journal.schema import migrate

ZERO = Decimal(0)


class JournalError(RuntimeError):
    pass


class JournalLocked(JournalError):
    """Another process holds the journal: two traders on one journal could send an order twice."""


class NoSession(JournalError):
    """A write that belongs to a session came before `start_session`."""


class SessionTotals(msgspec.Struct, frozen=True):
    orders: int = 0
    fills: int = 0
    arbitrages: dict[str, int] = {}  # state -> count
    fees: dict[str, Decimal] = {}  # asset -> fees paid
    realized_pnl: dict[str, Decimal] = {}  # asset -> PnL after fees, as the service reckons it


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    started_ns: int
    ended_ns: int | None
    end_reason: str
    totals: SessionTotals | None


class BalanceSnapshot(msgspec.Struct, frozen=True):
    id: int
    ts: int
    source: str  # what the balances came from: "executor", "recovery", ...
    fills_seq: int  # the last journaled fill the snapshot includes
    balances: tuple[Balance, ...]


@dataclass(frozen=True, slots=True)
class RiskEvent:
    id: int
    session_id: int
    ts: int
    kind: str  # "decision", or what happened: "safe_mode", "breaker", "kill_switch", "mismatch", ...
    reason: str
    detail: str
    decision: Decision | None = None


def _body(value: object) -> str:
    return encode(value).decode()


IN_MEMORY = Path(":memory:")  # SQLite's name for a database of its own in the process's memory


class Journal:
    def __init__(self, path: str | Path, clock: Clock) -> None:
        """The journal at `path`; `IN_MEMORY` for one that nothing outlives and no other process can open (a
        backtest's: its commits then write no file at all)."""
        self.path = Path(path)
        self._clock = clock
        self._lock: int | None = None
        if self.path != IN_MEMORY:
            self._lock = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self._lock)
                raise JournalLocked(f"journal {self.path} is open in another process") from None
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Two durability levels (see `transaction`): NORMAL by default, FULL for the commits that must survive a
        # power cut before the trader acts on them. In WAL mode NORMAL survives a crash of the process (SIGKILL)
        # and a FULL commit syncs the log with every commit before it.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        migrate(self._db)
        self._depth = 0
        self._durable = False
        self._held: list[Callable[[], None]] = []
        self.session_id: int | None = None
        # The open orders as committed, and those written in the transaction under way: the engine reads an order
        # on every book a resting strategy sees and at every step of its legs; the row stays the record.
        self._open: dict[str, Order] = {}
        self._written: dict[str, Order] = {}

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()
            if self._lock is not None:
                os.close(self._lock)  # releases the lock

    @contextlib.contextmanager
    def transaction(self, durable: bool = False) -> Iterator[None]:
        """Writes inside commit together, or not at all. `durable`: the commit is synced to disk before it returns
        (survives a power cut, and makes every earlier commit survive it too): an order's intent before the order
        can reach an executor whose record outlives a power cut (trader.execution.journaled), a session's start
        and end, strategy instances. Other commits (decisions, risk events, attempt states, the answers and fills
        the executor reports) survive a crash of the process; a power cut may lose the latest of them, which
        reconciliation with the executor restores or reports."""
        if self._depth == 0:
            if durable:
                self._db.execute("PRAGMA synchronous=FULL")  # only outside a transaction (SQLite's rule)
            self._durable = durable
            self._db.execute("BEGIN IMMEDIATE")
        elif durable and not self._durable:
            raise RuntimeError("a durable transaction cannot be nested in one that is not")
        self._depth += 1
        try:
            if self._held and self._depth == 1:
                held, self._held = self._held, []
                for write in held:  # held writes go first, in the order they were held
                    write()
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._end("ROLLBACK")
            raise
        self._depth -= 1
        if self._depth == 0:
            self._end("COMMIT")

    def _end(self, statement: str) -> None:
        written, self._written = self._written, {}
        try:
            self._db.execute(statement)
            if statement == "COMMIT":
                for cid, order in written.items():
                    if order.is_final:
                        self._open.pop(cid, None)
                    else:
                        self._open[cid] = order
        finally:
            if self._durable:
                self._durable = False
                self._db.execute("PRAGMA synchronous=NORMAL")

    def later(self, write: Callable[[], None]) -> None:
        """Hold a write (a call of one of the record methods) for the next commit, which runs it first; `flush()`
        commits it alone. Nothing held is visible to reads until then."""
        self._held.append(write)

    def flush(self) -> None:
        """Commit the writes held by `later()`, if any."""
        if self._held:
            with self.transaction():
                pass

    # sessions -------------------------------------------------------------------

    def start_session(self) -> int:
        with self.transaction(durable=True):
            cursor = self._db.execute("INSERT INTO sessions (started_ns) VALUES (?)", (self._clock(),))
        self.session_id = int(cursor.lastrowid or 0)
        return self.session_id

    def end_session(self, reason: str, realized_pnl: Mapping[str, Decimal] | None = None) -> SessionTotals:
        session = self._session()
        totals = self.totals(session, realized_pnl or {})
        with self.transaction(durable=True):
            self._db.execute("UPDATE sessions SET ended_ns = ?, end_reason = ?, totals = ? WHERE id = ?",
                             (self._clock(), reason, _body(totals), session))
        self.session_id = None
        return totals

    def totals(self, session_id: int, realized_pnl: Mapping[str, Decimal] | None = None) -> SessionTotals:
        orders = self._db.execute("SELECT COUNT(*) FROM orders WHERE session_id = ?", (session_id,)).fetchone()[0]
        states = self._db.execute("SELECT state, COUNT(*) FROM arbitrages WHERE session_id = ? GROUP BY state", (session_id,)).fetchall()
        fees: dict[str, Decimal] = {}
        fills = self.fills(session_id=session_id)
        for fill in fills:
            fees[fill.fee_asset] = fees.get(fill.fee_asset, ZERO) + fill.fee
        return SessionTotals(orders, len(fills), dict(states), fees, dict(realized_pnl or {}))

    def sessions(self) -> tuple[Session, ...]:
        rows = self._db.execute("SELECT id, started_ns, ended_ns, end_reason, totals FROM sessions ORDER BY id").fetchall()
        return tuple(Session(i, start, end, reason, decode(totals, SessionTotals) if totals else None) for i, start, end, reason, totals in rows)

    # strategy instances -----------------------------------------------------------

    def save_instance(self, instance: StrategyInstance) -> None:
        with self.transaction(durable=True):
            self._db.execute(
                "INSERT INTO strategy_instances (id, body, updated_ns, removed_ns) VALUES (?, ?, ?, NULL) "
                "ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_ns = excluded.updated_ns, removed_ns = NULL",
                (instance.id, _body(instance), self._clock()),
            )

    def remove_instance(self, instance_id: str) -> bool:
        with self.transaction(durable=True):
            cursor = self._db.execute("UPDATE strategy_instances SET removed_ns = ? WHERE id = ? AND removed_ns IS NULL",
                                      (self._clock(), instance_id))
        return cursor.rowcount == 1

    def instance_ids(self) -> frozenset[str]:
        """Every instance id the journal has held, removed ones included (so configuration does not revive them)."""
        return frozenset(row[0] for row in self._db.execute("SELECT id FROM strategy_instances"))

    def instances(self) -> tuple[StrategyInstance, ...]:
        rows = self._db.execute("SELECT body FROM strategy_instances WHERE removed_ns IS NULL ORDER BY id").fetchall()
        return tuple(decode(body, StrategyInstance) for (body,) in rows)

    # orders and fills ---------------------------------------------------------------

    def record_intent(self, order: Order, attempt: ArbitrageAttempt | None = None) -> None:
        """Journal a new order (and the attempt that sends it) and commit, before it goes to the executor."""
        if order.status is not OrderStatus.INITIALIZED:
            raise JournalError(f"order {order.client_order_id} is {order.status}: an intent is journaled before it is sent")
        session = self._session()
        with self.transaction():
            try:
                self._db.execute(
                    "INSERT INTO orders (client_order_id, session_id, venue, account, symbol, attempt_id, status, is_final, ts_init, ts_last, body) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                    (order.client_order_id, session, order.venue, order.account, order.symbol, order.attempt_id, order.status.value,
                     order.ts_init, order.ts_last, _body(order)),
                )
            except sqlite3.IntegrityError:
                raise JournalError(f"client order id {order.client_order_id} is already journaled: it is never reused") from None
            self._written[order.client_order_id] = order
            if attempt is not None:
                self.record_attempt(attempt)

    def record_order(self, order: Order) -> None:
        """Replace a journaled order with its next version."""
        with self.transaction():
            cursor = self._db.execute(
                "UPDATE orders SET status = ?, is_final = ?, ts_last = ?, body = ? WHERE client_order_id = ?",
                (order.status.value, int(order.is_final), order.ts_last, _body(order), order.client_order_id),
            )
            if cursor.rowcount != 1:
                raise JournalError(f"order {order.client_order_id} has no journaled intent")
            self._written[order.client_order_id] = order

    def record_fill(self, fill: Fill) -> bool:
        """Journal a fill; False if its (venue, trade id) was journaled already."""
        session = self._session()
        with self.transaction():
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO fills (venue, trade_id, client_order_id, session_id, ts_event, body) VALUES (?, ?, ?, ?, ?, ?)",
                (fill.venue, fill.trade_id, fill.client_order_id, session, fill.ts_event, _body(fill)),
            )
        return cursor.rowcount == 1

    def record(self, event: OrderEvent) -> Order:
        """Apply an executor's event to its journaled order, with its fill, in one commit; a fill already
        journaled is not applied twice. Returns the order as journaled."""
        with self.transaction():
            order = self.order(event.client_order_id)
            if order is None:
                raise JournalError(f"event for order {event.client_order_id}, which has no journaled intent")
            if isinstance(event, OrderFilled) and not self.record_fill(event.fill):
                return order
            order = order.apply(event)
            self.record_order(order)
        return order

    def order(self, client_order_id: str) -> Order | None:
        order = self._written.get(client_order_id) or self._open.get(client_order_id)
        if order is not None:
            return order
        row = self._db.execute("SELECT body FROM orders WHERE client_order_id = ?", (client_order_id,)).fetchone()
        return decode(row[0], Order) if row else None

    def orders(self, final: bool | None = None) -> tuple[Order, ...]:
        """Every order, oldest first; only non-final ones (`final=False`) or final ones (`final=True`)."""
        where, args = ("", ()) if final is None else ("WHERE is_final = ?", (int(final),))
        rows = self._db.execute(f"SELECT body FROM orders {where} ORDER BY ts_init, rowid", args).fetchall()
        return tuple(decode(body, Order) for (body,) in rows)

    def orders_of(self, attempt_id: str) -> tuple[Order, ...]:
        """The orders sent for an arbitrage attempt (legs, retries and hedges), oldest first."""
        rows = self._db.execute("SELECT body FROM orders WHERE attempt_id = ? ORDER BY ts_init, rowid", (attempt_id,)).fetchall()
        return tuple(decode(body, Order) for (body,) in rows)

    def fills(self, client_order_id: str | None = None, after_seq: int = 0, session_id: int | None = None) -> tuple[Fill, ...]:
        clauses: list[str] = ["seq > ?"]
        args: list[object] = [after_seq]
        if client_order_id is not None:
            clauses.append("client_order_id = ?")
            args.append(client_order_id)
        if session_id is not None:
            clauses.append("session_id = ?")
            args.append(session_id)
        rows = self._db.execute(f"SELECT body FROM fills WHERE {' AND '.join(clauses)} ORDER BY seq", args).fetchall()
        return tuple(decode(body, Fill) for (body,) in rows)

    def order_counts(self, session_id: int) -> dict[str, int]:
        """How many of the session's orders are in each status (for metrics: a count, not a decode of every order)."""
        rows = self._db.execute("SELECT status, COUNT(*) FROM orders WHERE session_id = ? GROUP BY status", (session_id,)).fetchall()
        return {str(status): int(n) for status, n in rows}

    def fill_count(self, session_id: int) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM fills WHERE session_id = ?", (session_id,)).fetchone()[0])

    def has_fill(self, venue: str, trade_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM fills WHERE venue = ? AND trade_id = ?", (venue, trade_id)).fetchone() is not None

    # arbitrage attempts ---------------------------------------------------------------

    def record_attempt(self, attempt: ArbitrageAttempt) -> None:
        session = self._session()
        with self.transaction():
            self._db.execute(
                "INSERT INTO arbitrages (id, session_id, instance_id, state, is_final, ts_init, ts_last, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET state = excluded.state, is_final = excluded.is_final, ts_last = excluded.ts_last, "
                "body = excluded.body",
                (attempt.id, session, attempt.instance_id, attempt.state.value, int(attempt.is_final), attempt.ts_init, attempt.ts_last,
                 _body(attempt)),
            )

    def attempt(self, attempt_id: str) -> ArbitrageAttempt | None:
        row = self._db.execute("SELECT body FROM arbitrages WHERE id = ?", (attempt_id,)).fetchone()
        return decode(row[0], ArbitrageAttempt) if row else None

    def attempts(self, in_flight: bool = False, limit: int | None = None) -> tuple[ArbitrageAttempt, ...]:
        """Attempts, newest first; only those not final yet with `in_flight`."""
        where = "WHERE is_final = 0" if in_flight else ""
        rows = self._db.execute(f"SELECT body FROM arbitrages {where} ORDER BY ts_init DESC, rowid DESC LIMIT ?", (limit or -1,)).fetchall()
        return tuple(decode(body, ArbitrageAttempt) for (body,) in rows)

    # balances ------------------------------------------------------------------------

    def snapshot_balances(self, balances: Iterable[Balance], source: str) -> BalanceSnapshot:
        """Journal every account's balances as of now (one snapshot holds them all), noting the last fill they include."""
        session = self._session()
        rows = tuple(sorted(balances, key=lambda b: (b.venue, b.account, b.asset)))
        with self.transaction():
            seq = int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM fills").fetchone()[0])
            ts = self._clock()
            cursor = self._db.execute("INSERT INTO balance_snapshots (session_id, ts, source, fills_seq, body) VALUES (?, ?, ?, ?, ?)",
                                      (session, ts, source, seq, _body(rows)))
        return BalanceSnapshot(int(cursor.lastrowid or 0), ts, source, seq, rows)

    def latest_snapshot(self) -> BalanceSnapshot | None:
        row = self._db.execute("SELECT id, ts, source, fills_seq, body FROM balance_snapshots ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return BalanceSnapshot(row[0], row[1], row[2], row[3], decode(row[4], tuple[Balance, ...]))

    # risk --------------------------------------------------------------------------

    def record_decision(self, decision: Decision) -> None:
        self._risk(decision.ts_event, "decision", decision.reason.value, f"{decision.verdict.value}: {decision.detail}", _body(decision))

    def record_risk_event(self, kind: str, reason: str, detail: str = "") -> None:
        self._risk(self._clock(), kind, reason, detail, None)

    def risk_events(self, since: int = 0, kind: str | None = None) -> tuple[RiskEvent, ...]:
        clause, args = ("AND kind = ?", (since, kind)) if kind else ("", (since,))
        rows = self._db.execute(f"SELECT id, session_id, ts, kind, reason, detail, body FROM risk_events WHERE ts >= ? {clause} ORDER BY id",
                                args).fetchall()
        return tuple(RiskEvent(i, s, ts, k, r, d, decode(body, Decision) if body else None) for i, s, ts, k, r, d, body in rows)

    # internals -----------------------------------------------------------------------

    def _risk(self, ts: int, kind: str, reason: str, detail: str, body: str | None) -> None:
        session = self._session()
        with self.transaction():
            self._db.execute("INSERT INTO risk_events (session_id, ts, kind, reason, detail, body) VALUES (?, ?, ?, ?, ?, ?)",
                             (session, ts, kind, reason, detail, body))

    def _session(self) -> int:
        if self.session_id is None:
            raise NoSession("start a session before writing to the journal")
        return self.session_id
