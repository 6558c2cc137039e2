"""The simulated loop: timers fire at their exact simulated nanosecond, in order, without waiting; `until`
lets everything due before a time run first; hours pass in milliseconds; a thread still wakes it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from trader.backtest import SimulatedLoop

T0 = 1_767_225_600_000_000_000
MS = 1_000_000
S = 1_000_000_000
T = TypeVar("T")


def run(main: Callable[[SimulatedLoop], Awaitable[T]], origin: int = T0) -> T:
    with asyncio.Runner(loop_factory=lambda: SimulatedLoop(origin)) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, SimulatedLoop)
        return runner.run(main(loop))  # type: ignore[arg-type]


def test_timers_fire_in_order_at_their_exact_simulated_time() -> None:
    seen: list[tuple[str, int]] = []

    async def main(loop: SimulatedLoop) -> None:
        async def after(name: str, seconds: float) -> None:
            await asyncio.sleep(seconds)
            seen.append((name, loop.now_ns() - T0))

        tasks = [asyncio.create_task(after("slow", 0.05)), asyncio.create_task(after("fast", 0.0301)),
                 asyncio.create_task(after("late", 2.000000007))]
        await loop.until(T0 + 40 * MS)
        seen.append(("until", loop.now_ns() - T0))
        await asyncio.gather(*tasks)

    run(main)
    assert seen == [("fast", 30_100_000), ("until", 40 * MS), ("slow", 50 * MS), ("late", 2 * S + 7)]


def test_hours_of_simulated_time_take_no_wall_time_and_timeouts_are_simulated() -> None:
    async def main(loop: SimulatedLoop) -> tuple[int, int]:
        await loop.until(T0 + 3_600 * S + 1)
        reached = loop.now_ns()
        try:
            await asyncio.wait_for(asyncio.sleep(60), 1.5)
        except TimeoutError:
            pass
        return reached, loop.now_ns()

    started = time.perf_counter()
    reached, after_timeout = run(main)
    assert time.perf_counter() - started < 0.5
    assert reached == T0 + 3_600 * S + 1 and after_timeout == reached + 1_500 * MS


def test_until_a_past_time_returns_at_once_and_time_never_goes_back() -> None:
    async def main(loop: SimulatedLoop) -> list[int]:
        await loop.until(T0 + 5 * MS)
        await loop.until(T0 + 1 * MS)
        return [loop.now_ns() - T0]

    assert run(main) == [5 * MS]


def test_ready_work_runs_before_time_moves_on() -> None:
    order: list[str] = []

    async def main(loop: SimulatedLoop) -> None:
        async def chain() -> None:
            for i in range(3):
                order.append(f"step {i} at {loop.now_ns() - T0}")
                await asyncio.sleep(0)

        task = asyncio.create_task(chain())
        await loop.until(T0 + MS)
        order.append(f"until at {loop.now_ns() - T0}")
        await task

    run(main)
    assert order == ["step 0 at 0", "step 1 at 0", "step 2 at 0", f"until at {MS}"]


def test_a_thread_still_wakes_the_loop_when_nothing_is_scheduled() -> None:
    def work() -> str:
        time.sleep(0.05)
        return threading.current_thread().name

    async def main(loop: SimulatedLoop) -> tuple[str, int]:
        return await asyncio.to_thread(work), loop.now_ns()

    name, now = run(main)
    assert name != threading.current_thread().name and now == T0  # it waited for real, simulated time stood still


def test_advance_moves_time_at_once_only_when_nothing_is_due_before() -> None:
    async def main(loop: SimulatedLoop) -> list[tuple[bool, int]]:
        seen = [(loop.advance(T0 + MS), loop.now_ns() - T0)]  # nothing scheduled: time jumps
        loop.call_at(loop.time() + 0.002, lambda: None)
        seen.append((loop.advance(T0 + 5 * MS), loop.now_ns() - T0))  # a timer at 3 ms must fire first
        seen.append((loop.advance(T0 + 2 * MS), loop.now_ns() - T0))  # before it: fine
        loop.call_soon(lambda: None)
        seen.append((loop.advance(T0 + 2 * MS + 1), loop.now_ns() - T0))  # a callback is ready
        seen.append((loop.advance(T0), loop.now_ns() - T0))  # the past: nothing to do, time stays
        return seen

    assert run(main) == [(True, MS), (False, MS), (True, 2 * MS), (False, 2 * MS), (True, 2 * MS)]
