"""The journal on real SQLite files: journal-before-send, typed round trips, sessions, and history that
survives closing, reopening and a killed process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from decimal import Decimal as D
from pathlib import Path

import pytest

from shared.trading import (
    ArbitrageState,
    Balance,
    CrossExchangeParams,
    Decision,
    DecisionReason,
    Fill,
    Liquidity,
    OrderAccepted,
    OrderFilled,
    OrderStatus,
    OrderSubmitted,
    Side,
    StrategyInstance,
)
from tests.trader.execution.paper_setup import ManualClock
from tests.trader.journal.journal_setup import BUY, SELL, attempt, leg_order, open_journal, proposal
from tests.trader.market_data import T0
from trader.journal import IN_MEMORY, VERSION, Journal, JournalError, JournalLocked, NoSession, SchemaError

ROOT = Path(__file__).resolve().parents[3]


def a_fill(cid: str = "c1", trade_id: str = "t1", amount: str = "0.500", price: str = "100.00") -> Fill:
    return Fill(cid, "binance", "main", "BTC-USDT", Side.BUY, trade_id, D(price), D(amount), D(amount) * D("0.001"), "BTC", Liquidity.TAKER, T0)


def test_an_intent_is_committed_before_record_intent_returns(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "journal.db")
    journal.record_intent(leg_order(BUY, "c1").to_order(), attempt().sent(0, "c1", T0))
    # Another connection, as another process would, already sees it: nothing waits for a later commit.
    other = sqlite3.connect(tmp_path / "journal.db")
    assert other.execute("SELECT status, attempt_id FROM orders WHERE client_order_id = 'c1'").fetchall() == [("initialized", "a1")]
    assert other.execute("SELECT state FROM arbitrages WHERE id = 'a1'").fetchall() == [("sent",)]
    other.close()


def test_an_intent_journaled_by_a_process_killed_before_sending_survives(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import os, signal
        from tests.trader.journal.journal_setup import BUY, leg_order, open_journal
        journal = open_journal({str(tmp_path / "journal.db")!r})
        journal.record_intent(leg_order(BUY, "c1").to_order())
        os.kill(os.getpid(), signal.SIGKILL)  # dies where it would call the executor
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, timeout=60)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    journal = Journal(tmp_path / "journal.db", ManualClock())
    order = journal.order("c1")
    assert order is not None and order.status is OrderStatus.INITIALIZED
    assert [s.ended_ns for s in journal.sessions()] == [None]  # the killed session never ended


def test_only_commits_the_trader_acts_on_are_synced_to_disk(tmp_path: Path) -> None:
    """SQLite syncs a commit under synchronous=FULL (2); under NORMAL (1, WAL) a commit survives a crash of the
    process and is synced with the next FULL one. The order send's commit is the durable kind (journaled.send)."""
    journal = open_journal(tmp_path / "journal.db")
    level = lambda: journal._db.execute("PRAGMA synchronous").fetchone()[0]  # noqa: E731
    assert level() == 1
    with journal.transaction():
        assert level() == 1
    with journal.transaction(durable=True):
        assert level() == 2
        with journal.transaction():  # nested in a durable one: part of its synced commit
            assert level() == 2
    assert level() == 1
    with pytest.raises(RuntimeError, match="cannot be nested"), journal.transaction(), journal.transaction(durable=True):
        pass
    assert level() == 1  # rolled back, and back to NORMAL
    with pytest.raises(ValueError), journal.transaction(durable=True):
        raise ValueError("a failed durable commit")
    assert level() == 1


def test_an_order_cannot_be_updated_without_a_journaled_intent(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "journal.db")
    order = leg_order(BUY, "c1").to_order()
    with pytest.raises(JournalError, match="no journaled intent"):
        journal.record_order(order)
    with pytest.raises(JournalError, match="no journaled intent"):
        journal.record(OrderSubmitted("c1", "binance", T0))


def test_a_client_order_id_is_never_journaled_twice(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "journal.db")
    journal.record_intent(leg_order(BUY, "c1").to_order())
    with pytest.raises(JournalError, match="already journaled"):
        journal.record_intent(leg_order(BUY, "c1").to_order())


def test_events_move_the_order_on_and_a_repeated_fill_is_applied_once(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "journal.db")
    journal.record_intent(leg_order(BUY, "c1").to_order())
    journal.record(OrderSubmitted("c1", "binance", T0))
    journal.record(OrderAccepted("c1", "binance", T0, "v1"))
    journal.record(OrderFilled("c1", "binance", T0, a_fill(amount="0.200", trade_id="t1")))
    again = journal.record(OrderFilled("c1", "binance", T0, a_fill(amount="0.200", trade_id="t1")))
    assert again.filled == D("0.200") and again.status is OrderStatus.PARTIALLY_FILLED
    assert [f.trade_id for f in journal.fills("c1")] == ["t1"]
    assert journal.orders(final=False) == (again,)
    final = journal.record(OrderFilled("c1", "binance", T0, a_fill(amount="0.300", trade_id="t2")))
    assert final.status is OrderStatus.FILLED
    assert journal.orders(final=False) == () and journal.orders(final=True) == (final,)


def test_writes_inside_a_transaction_that_fails_leave_nothing(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "journal.db")
    with pytest.raises(RuntimeError), journal.transaction():
        journal.record_intent(leg_order(BUY, "c1").to_order())
        journal.record_attempt(attempt())
        raise RuntimeError("crash mid-way")
    assert journal.order("c1") is None and journal.attempt("a1") is None


def test_writes_before_a_session_starts_are_refused(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.db", ManualClock())
    with pytest.raises(NoSession):
        journal.record_intent(leg_order(BUY, "c1").to_order())


def test_arbitrage_attempts_keep_their_leg_states(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "journal.db")
    sent = attempt().sent(0, "c1", T0).sent(1, "c2", T0)
    filled = sent.filled(0, a_fill("c1"), T0 + 1)
    journal.record_attempt(filled)
    journal.record_attempt(attempt("a2").abandon("stale", T0))
    assert journal.attempt("a1") == filled
    assert [a.id for a in journal.attempts(in_flight=True)] == ["a1"]
    assert journal.attempt("a1").legs[0].fills == (a_fill("c1"),)  # type: ignore[union-attr]
    assert {a.state for a in journal.attempts()} == {ArbitrageState.PARTIALLY_FILLED, ArbitrageState.ABORTED}


def test_strategy_instances_are_saved_updated_and_removed(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "journal.db")
    instance = StrategyInstance("xex", CrossExchangeParams(("binance", "bybit"), "BTC-USDT", D("1"), D("10")))
    journal.save_instance(instance)
    journal.save_instance(instance.paused())
    assert journal.instances() == (instance.paused(),)
    assert journal.remove_instance("xex") and not journal.remove_instance("xex")
    assert journal.instances() == ()


def test_balance_snapshots_note_the_last_fill_they_include(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "journal.db")
    journal.record_intent(leg_order(BUY, "c1").to_order())
    journal.record(OrderFilled("c1", "binance", T0, a_fill(amount="0.200", trade_id="t1")))
    snapshot = journal.snapshot_balances([Balance("binance", "main", "USDT", D("980"), D("1"))], "executor")
    journal.record(OrderFilled("c1", "binance", T0, a_fill(amount="0.300", trade_id="t2")))
    assert journal.latest_snapshot() == snapshot
    assert [f.trade_id for f in journal.fills(after_seq=snapshot.fills_seq)] == ["t2"]


def test_risk_decisions_and_events_are_kept_with_their_reasons(tmp_path: Path) -> None:
    clock = ManualClock()
    journal = open_journal(tmp_path / "journal.db", clock)
    decision = Decision.deny(proposal(), DecisionReason.NOTIONAL_LIMIT, "50 over the 1000 USDT limit", T0)
    journal.record_decision(decision)
    clock.advance(5)
    journal.record_risk_event("safe_mode", "reconciliation_mismatch", "binance USDT off by 3")
    events = journal.risk_events()
    assert [(e.kind, e.reason) for e in events] == [("decision", "notional_limit"), ("safe_mode", "reconciliation_mismatch")]
    assert events[0].decision == decision and events[0].detail == "denied: 50 over the 1000 USDT limit"
    assert [e.kind for e in journal.risk_events(since=T0 + 1)] == ["safe_mode"]


def test_a_session_ends_with_its_reason_and_totals(tmp_path: Path) -> None:
    clock = ManualClock()
    journal = open_journal(tmp_path / "journal.db", clock)
    journal.record_intent(leg_order(BUY, "c1").to_order(), attempt().sent(0, "c1", T0))
    journal.record_intent(leg_order(SELL, "c2").to_order())
    journal.record(OrderFilled("c1", "binance", T0, a_fill()))
    clock.advance(10)
    totals = journal.end_session("sigterm", {"USDT": D("0.25")})
    assert (totals.orders, totals.fills, totals.arbitrages) == (2, 1, {"sent": 1})
    assert totals.fees == {"BTC": D("0.0005000")} and totals.realized_pnl == {"USDT": D("0.25")}
    [session] = journal.sessions()
    assert (session.ended_ns, session.end_reason, session.totals) == (T0 + 10, "sigterm", totals)


def test_history_survives_closing_and_reopening_the_file(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "journal.db")
    journal.record_intent(leg_order(BUY, "c1").to_order(), attempt().sent(0, "c1", T0))
    journal.record(OrderFilled("c1", "binance", T0, a_fill()))
    journal.snapshot_balances([Balance("binance", "main", "BTC", D("1.4995"))], "executor")
    journal.end_session("sigterm")
    before = (journal.orders(), journal.fills(), journal.attempts(), journal.latest_snapshot())
    journal.close()

    reopened = Journal(tmp_path / "journal.db", ManualClock())
    assert (reopened.orders(), reopened.fills(), reopened.attempts(), reopened.latest_snapshot()) == before
    assert reopened.start_session() == 2
    assert [s.end_reason for s in reopened.sessions()] == ["sigterm", ""]


def test_the_journal_is_in_wal_mode_at_the_current_schema_version(tmp_path: Path) -> None:
    open_journal(tmp_path / "journal.db").close()
    db = sqlite3.connect(tmp_path / "journal.db")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA user_version").fetchone() == (VERSION,)
    db.close()


def test_a_journal_from_a_newer_trader_is_refused(tmp_path: Path) -> None:
    open_journal(tmp_path / "journal.db").close()
    db = sqlite3.connect(tmp_path / "journal.db")
    db.execute(f"PRAGMA user_version = {VERSION + 1}")
    db.close()
    with pytest.raises(SchemaError):
        Journal(tmp_path / "journal.db", ManualClock())


def test_a_second_writer_is_refused_while_the_first_holds_the_journal(tmp_path: Path) -> None:
    first = Journal(tmp_path / "journal.db", ManualClock())
    script = f"from trader.journal import Journal; Journal({str(tmp_path / 'journal.db')!r}, lambda: 0)"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, timeout=60)
    assert result.returncode != 0 and b"JournalLocked" in result.stderr
    first.close()
    with pytest.raises(JournalLocked):
        second = Journal(tmp_path / "journal.db", ManualClock())
        Journal(tmp_path / "journal.db", ManualClock())
    second.close()
    assert os.path.exists(tmp_path / "journal.db.lock")


def test_an_order_reads_as_last_committed_and_a_rolled_back_change_is_forgotten(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "journal.db")
    journal.record_intent(leg_order(BUY, "c1").to_order())
    journal.record(OrderSubmitted("c1", "binance", T0))
    with pytest.raises(ValueError), journal.transaction():
        journal.record(OrderAccepted("c1", "binance", T0, "v1"))
        assert journal.order("c1").status is OrderStatus.ACCEPTED  # type: ignore[union-attr]  # inside: its own write
        raise ValueError("rolled back")
    assert journal.order("c1").status is OrderStatus.SUBMITTED  # type: ignore[union-attr]
    journal.record(OrderAccepted("c1", "binance", T0, "v1"))
    journal.record(OrderFilled("c1", "binance", T0, a_fill(amount="0.500", trade_id="t1")))
    filled = journal.order("c1")
    journal.close()
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert open_journal(tmp_path / "journal.db").order("c1") == filled


def test_journals_in_memory_are_each_their_own_and_lock_nothing() -> None:
    first, second = Journal(IN_MEMORY, ManualClock()), Journal(IN_MEMORY, ManualClock())
    first.start_session()
    first.record_intent(leg_order(BUY, "c1").to_order())
    second.start_session()
    assert [o.client_order_id for o in first.orders()] == ["c1"] and second.orders() == ()
    first.close()
    second.close()
