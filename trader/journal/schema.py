"""The journal's tables, versioned. `MIGRATIONS[n]` takes a journal from version n to n + 1; a journal
written by a newer version of the trader is refused rather than misread.

Typed values sit in `body` columns as JSON (`shared.trading.codec`); the columns beside them are what
queries filter on. Times are int ns UTC.
"""

from __future__ import annotations

import sqlite3

_V1 = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    started_ns INTEGER NOT NULL,
    ended_ns INTEGER,
    end_reason TEXT NOT NULL DEFAULT '',
    totals TEXT
);
CREATE TABLE strategy_instances (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_ns INTEGER NOT NULL,
    removed_ns INTEGER
);
CREATE TABLE arbitrages (
    id TEXT PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    instance_id TEXT NOT NULL,
    state TEXT NOT NULL,
    is_final INTEGER NOT NULL,
    ts_init INTEGER NOT NULL,
    ts_last INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX arbitrages_in_flight ON arbitrages (is_final, ts_init);
CREATE TABLE orders (
    client_order_id TEXT PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    venue TEXT NOT NULL,
    account TEXT NOT NULL,
    symbol TEXT NOT NULL,
    attempt_id TEXT,
    status TEXT NOT NULL,
    is_final INTEGER NOT NULL,
    ts_init INTEGER NOT NULL,
    ts_last INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX orders_not_final ON orders (is_final, ts_init);
CREATE INDEX orders_by_attempt ON orders (attempt_id);
CREATE TABLE fills (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    venue TEXT NOT NULL,
    trade_id TEXT NOT NULL,
    client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    ts_event INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (venue, trade_id)
);
CREATE INDEX fills_by_order ON fills (client_order_id);
CREATE TABLE balance_snapshots (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    ts INTEGER NOT NULL,
    source TEXT NOT NULL,
    fills_seq INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE risk_events (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    ts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    body TEXT
);
CREATE INDEX risk_events_by_time ON risk_events (ts);
"""

MIGRATIONS: tuple[str, ...] = (_V1,)
VERSION = len(MIGRATIONS)


class SchemaError(RuntimeError):
    """The journal file was written by a newer trader, or is not a journal."""


def migrate(db: sqlite3.Connection) -> int:
    """Bring `db` to `VERSION`, one migration per transaction; returns the version it found."""
    found = int(db.execute("PRAGMA user_version").fetchone()[0])
    if found > VERSION:
        raise SchemaError(f"journal schema version {found} is newer than this trader's {VERSION}")
    for version in range(found, VERSION):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return found
