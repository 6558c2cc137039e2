"""Sending through the journal, a real paper venue with real latency, and its queue: the journal hears
first, and an order whose answer timed out is looked up by its client order id and settled."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from shared.trading import OrderStatus
from tests.trader.execution.paper_setup import ManualClock, btc_book, order, paper
from tests.trader.journal.journal_setup import open_journal
from trader.execution import ExecutionQueues
from trader.execution.journaled import NOT_SENT, send


def test_the_journal_holds_the_order_before_the_venue_does(tmp_path: Path) -> None:
    clock = ManualClock()
    journal, venue = open_journal(tmp_path / "journal.db", clock), paper(tmp_path / "venue.db", clock, latency_s=0.2)
    venue.on_book(btc_book())

    async def scenario() -> tuple[list[tuple[str]], list[tuple[str]], OrderStatus]:
        queues = ExecutionQueues(venue)
        sending = asyncio.create_task(send(journal, queues, order("c1", amount="0.1"), clock))
        await asyncio.sleep(0.05)  # the venue is still "on the wire"
        with sqlite3.connect(tmp_path / "journal.db") as journal_db, sqlite3.connect(tmp_path / "venue.db") as venue_db:
            journaled = journal_db.execute("SELECT status FROM orders").fetchall()
            at_venue = venue_db.execute("SELECT client_order_id FROM orders").fetchall()
        result = await sending
        await queues.close()
        return journaled, at_venue, result.status

    journaled, at_venue, status = asyncio.run(scenario())
    assert (journaled, at_venue, status) == ([("submitted",)], [], OrderStatus.FILLED)
    assert [f.amount for f in journal.fills("c1")] == [D("0.100")]


def test_a_refusal_is_journaled_with_its_reason(tmp_path: Path) -> None:
    clock = ManualClock()
    journal, venue = open_journal(tmp_path / "journal.db", clock), paper(tmp_path / "venue.db", clock)
    venue.on_book(btc_book())

    async def scenario() -> None:
        queues = ExecutionQueues(venue)
        await send(journal, queues, order("c1", amount="50", price="100"), clock)
        await queues.close()

    asyncio.run(scenario())
    journaled = journal.order("c1")
    assert journaled is not None and journaled.status is OrderStatus.REJECTED and journaled.reason.startswith("insufficient USDT")


def test_an_answer_that_times_out_is_looked_up_and_the_order_adopted(tmp_path: Path) -> None:
    clock = ManualClock()
    journal, venue = open_journal(tmp_path / "journal.db", clock), paper(tmp_path / "venue.db", clock, latency_s=0.1)
    venue.on_book(btc_book())

    async def scenario() -> OrderStatus:
        queues = ExecutionQueues(venue)
        result = await send(journal, queues, order("c1", amount="0.1"), clock, timeout_s=0.03)  # the venue still fills it
        await queues.close()
        return result.status

    assert asyncio.run(scenario()) is OrderStatus.FILLED
    assert journal.fills("c1") == asyncio.run(venue.fills())


def test_an_order_dropped_from_its_queue_on_timeout_is_journaled_as_never_sent(tmp_path: Path) -> None:
    clock = ManualClock()
    journal, venue = open_journal(tmp_path / "journal.db", clock), paper(tmp_path / "venue.db", clock, latency_s=0.1)
    venue.on_book(btc_book())

    async def scenario() -> tuple[OrderStatus, str]:
        queues = ExecutionQueues(venue)
        first = asyncio.create_task(send(journal, queues, order("c1", amount="0.1"), clock))
        await asyncio.sleep(0)
        second = await send(journal, queues, order("c2", amount="0.1"), clock, timeout_s=0.03)  # still queued behind c1
        await first
        await queues.close()
        return second.status, second.reason

    status, reason = asyncio.run(scenario())
    assert status is OrderStatus.REJECTED and reason.startswith(NOT_SENT)
    assert asyncio.run(venue.order("c2")) is None


def sync_level_at_intent(tmp_path: Path, survives_power_cut: bool) -> int:
    """The journal's synchronous level while an order's intent is written, sending through `send`."""
    tmp_path.mkdir()
    clock = ManualClock()
    journal, venue = open_journal(tmp_path / "journal.db", clock), paper(tmp_path / "venue.db", clock)
    venue.survives_power_cut = survives_power_cut  # as a live venue's executor declares
    venue.on_book(btc_book())
    levels: list[int] = []
    record_intent = journal.record_intent

    def recording(*args: Any) -> None:
        levels.append(journal._db.execute("PRAGMA synchronous").fetchone()[0])
        record_intent(*args)

    journal.record_intent = recording  # type: ignore[method-assign]

    async def scenario() -> OrderStatus:
        queues = ExecutionQueues(venue)
        result = await send(journal, queues, order("c1", amount="0.1"), clock)
        await queues.close()
        return result.status

    assert asyncio.run(scenario()) is OrderStatus.FILLED
    return levels[0]


def test_the_intent_is_synced_to_disk_first_only_for_an_executor_whose_record_outlives_a_power_cut(tmp_path: Path) -> None:
    """synchronous=FULL (2) syncs the commit to disk; NORMAL (1, WAL) makes it survive a crash of the process."""
    assert sync_level_at_intent(tmp_path / "paper", survives_power_cut=False) == 1
    assert sync_level_at_intent(tmp_path / "venue", survives_power_cut=True) == 2
