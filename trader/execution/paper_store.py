"""The paper venue's own books of record: its orders, fills and balances in a SQLite file of its own.

Like a real venue's, this record is apart from the trader's journal and outlives the trader's process,
so reconciliation after a crash compares two independent records. Every change of one command (the
order, its fills, the balances they move) commits in one transaction. Decimals are stored as text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from shared.trading import Balance, Balances, Fill, Order, decode, encode

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    number INTEGER PRIMARY KEY,
    client_order_id TEXT NOT NULL UNIQUE,
    venue TEXT NOT NULL,
    account TEXT NOT NULL,
    is_open INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fills (
    trade_id TEXT PRIMARY KEY,
    client_order_id TEXT NOT NULL,
    ts_event INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fills_by_time ON fills (ts_event);
CREATE TABLE IF NOT EXISTS balances (
    venue TEXT NOT NULL,
    account TEXT NOT NULL,
    asset TEXT NOT NULL,
    free TEXT NOT NULL,
    locked TEXT NOT NULL,
    PRIMARY KEY (venue, account, asset)
);
"""


class PaperStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: survives the trader's crash (SIGKILL), which is what reconciliation is tested against. A power cut
        # may lose the latest records of this simulated venue; reconciliation then reports the orders it lost as
        # never sent. FULL would add an fsync per order and fill on the trader's event loop.
        self._db.execute("PRAGMA synchronous=NORMAL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise RuntimeError(f"paper store {self.path} has schema version {version}; this code reads {SCHEMA_VERSION}")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    # reads --------------------------------------------------------------------

    def order(self, client_order_id: str) -> Order | None:
        row = self._db.execute("SELECT body FROM orders WHERE client_order_id = ?", (client_order_id,)).fetchone()
        return decode(row[0], Order) if row else None

    def open_orders(self) -> tuple[Order, ...]:
        rows = self._db.execute("SELECT body FROM orders WHERE is_open = 1 ORDER BY number").fetchall()
        return tuple(decode(body, Order) for (body,) in rows)

    def fills(self, since: int = 0) -> tuple[Fill, ...]:
        rows = self._db.execute("SELECT body FROM fills WHERE ts_event >= ? ORDER BY ts_event, rowid", (since,)).fetchall()
        return tuple(decode(body, Fill) for (body,) in rows)

    def balance_rows(self) -> tuple[Balance, ...]:
        """Every account's balances."""
        rows = self._db.execute("SELECT venue, account, asset, free, locked FROM balances ORDER BY venue, account, asset").fetchall()
        return tuple(Balance(venue, account, asset, Decimal(free), Decimal(locked)) for venue, account, asset, free, locked in rows)

    def balances(self, account: str) -> Balances:
        """One account's balances on every venue."""
        return Balances(b for b in self.balance_rows() if b.account == account)

    def fill_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM fills").fetchone()[0])

    def next_number(self) -> int:
        """The number the next order will get (the paper venue's order id)."""
        return int(self._db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM orders").fetchone()[0])

    # writes -------------------------------------------------------------------

    def seed(self, balances: Iterable[Balance]) -> bool:
        """Start the accounts with `balances` if the store holds none yet; False if it already did."""
        with self._transaction():
            if self._db.execute("SELECT 1 FROM balances LIMIT 1").fetchone():
                return False
            self._put_balances(balances)
        return True

    def commit(self, orders: Iterable[Order] = (), fills: Iterable[Fill] = (), balances: Iterable[Balance] = ()) -> None:
        """Write the orders (inserted or replaced), new fills and changed balances of one command, atomically."""
        with self._transaction():
            for order in orders:
                self._db.execute(
                    "INSERT INTO orders (client_order_id, venue, account, is_open, body) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (client_order_id) DO UPDATE SET is_open = excluded.is_open, body = excluded.body",
                    (order.client_order_id, order.venue, order.account, int(order.is_open), encode(order).decode()),
                )
            self._db.executemany(
                "INSERT INTO fills (trade_id, client_order_id, ts_event, body) VALUES (?, ?, ?, ?)",
                [(f.trade_id, f.client_order_id, f.ts_event, encode(f).decode()) for f in fills],
            )
            self._put_balances(balances)

    def _put_balances(self, balances: Iterable[Balance]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO balances (venue, account, asset, free, locked) VALUES (?, ?, ?, ?, ?)",
            [(b.venue, b.account, b.asset, str(b.free), str(b.locked)) for b in balances],
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, tb: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")
