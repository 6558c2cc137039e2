"""Execution queues over a real paper executor with real latency: FIFO per (venue, account), concurrent across them."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal as D
from pathlib import Path

import pytest

from shared.trading import Balance, CancelOrder, OrderStatus
from tests.trader.execution.paper_setup import FUNDS, T0, btc_book, order, paper
from trader.execution import ExecutionQueues

FUNDS_TWO_ACCOUNTS = (*FUNDS, Balance("binance", "alt", "USDT", D("1000")))


def test_orders_on_one_account_run_one_at_a_time_in_the_order_queued(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db", latency_s=0.02)
    venue.on_book(btc_book(asks=((100.00, 10.0),)))

    async def scenario() -> tuple[list[str | None], float]:
        queues = ExecutionQueues(venue)
        started = time.monotonic()
        updates = await asyncio.gather(*(queues.submit(order(f"o{i}", amount="0.1")) for i in range(1, 6)))
        elapsed = time.monotonic() - started
        await queues.close()
        return [u.order.venue_order_id for u in updates], elapsed

    venue_ids, elapsed = asyncio.run(scenario())
    assert venue_ids == [f"paper-{i}" for i in range(1, 6)]  # the venue saw o1..o5 in queue order
    assert elapsed >= 5 * 0.02  # never two at once


def test_a_cancel_queued_behind_its_submit_never_overtakes_it(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db", latency_s=0.02)
    venue.on_book(btc_book())

    async def scenario() -> OrderStatus:
        queues = ExecutionQueues(venue)
        submit = asyncio.create_task(queues.submit(order("o1", amount="0.5", price="99.00")))
        await asyncio.sleep(0)
        canceled = await queues.cancel(CancelOrder("o1", "binance", "main", "BTC-USDT", T0))
        await submit
        await queues.close()
        return canceled.order.status

    assert asyncio.run(scenario()) is OrderStatus.CANCELED


def test_different_accounts_and_venues_run_concurrently(tmp_path: Path) -> None:
    latency = 0.1
    venue = paper(tmp_path / "venue.db", funds=FUNDS_TWO_ACCOUNTS, latency_s=latency)
    venue.on_book(btc_book(asks=((100.00, 10.0),)))
    venue.on_book(btc_book("bybit", asks=((100.00, 10.0),)))
    lanes = [("binance", "main"), ("binance", "alt"), ("bybit", "main")]

    async def scenario() -> float:
        queues = ExecutionQueues(venue)
        started = time.monotonic()
        commands = [order(f"{v}-{a}-{i}", amount="0.1", venue=v, account=a) for v, a in lanes for i in range(2)]
        updates = await asyncio.gather(*(queues.submit(c) for c in commands))
        assert all(u.order.status is OrderStatus.FILLED for u in updates)
        assert sorted(queues.keys()) == sorted(lanes)
        elapsed = time.monotonic() - started
        await queues.close()
        return elapsed

    # Six orders, two per lane: three lanes side by side take two latencies, not six.
    assert asyncio.run(scenario()) < 4 * latency


def test_an_executor_error_reaches_its_caller_and_the_queue_goes_on(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db")
    venue.on_book(btc_book())

    async def scenario() -> OrderStatus:
        queues = ExecutionQueues(venue)
        with pytest.raises(KeyError):
            await queues.cancel(CancelOrder("unknown", "binance", "main", "BTC-USDT", T0))
        update = await queues.submit(order("o1", amount="0.1"))
        await queues.close()
        return update.order.status

    assert asyncio.run(scenario()) is OrderStatus.FILLED


def test_a_caller_that_gives_up_before_its_command_starts_takes_it_off_the_queue(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db", latency_s=0.1)
    venue.on_book(btc_book())

    async def scenario() -> tuple[bool, bool]:
        queues = ExecutionQueues(venue)
        first = asyncio.create_task(queues.submit(order("o1", amount="0.1")))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(queues.submit(order("o2", amount="0.1")), timeout=0.02)
        await first
        await queues.drain()
        sent = (await venue.order("o1")) is not None, (await venue.order("o2")) is not None
        await queues.close()
        return sent

    assert asyncio.run(scenario()) == (True, False)


def test_closing_cancels_what_is_still_queued(tmp_path: Path) -> None:
    venue = paper(tmp_path / "venue.db", latency_s=0.05)
    venue.on_book(btc_book())

    async def scenario() -> int:
        queues = ExecutionQueues(venue)
        tasks = [asyncio.create_task(queues.submit(order(f"o{i}", amount="0.1"))) for i in range(3)]
        await asyncio.sleep(0.01)
        assert queues.pending("binance", "main") == 3
        await queues.close()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        with pytest.raises(RuntimeError):
            await queues.submit(order("late", amount="0.1"))
        return sum(isinstance(r, asyncio.CancelledError) for r in results)

    assert asyncio.run(scenario()) == 3
