"""Simulated time for the backtest: an asyncio event loop whose clock is the market data's.

The loop's time moves only when nothing is ready to run, and then it jumps straight to the next timer
(a paper venue's latency, a leg controller's poll, an arbitrage's deadline) instead of waiting for it.
The engine's tasks and timers run as they do live, in the same order, with every delay measured on
the recording's clock, as fast as the CPU allows; nothing depends on how long the work took, so a
run gives the same result every time.

Time is kept in integer nanoseconds, `now_ns()` (the engine's clock); asyncio sees seconds since the
loop's origin, small floats that keep nanosecond precision for years of recording.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Sized

__all__ = ["SimulatedLoop"]


class _Selector(selectors.DefaultSelector):
    """Never waits for a timer: asked to wait `timeout` seconds, it moves the time on by `timeout`. With
    no timer at all (`None`) only another thread can wake the loop, so it waits for real. It does not
    poll otherwise: another thread's callback (`call_soon_threadsafe`) is in the loop's ready queue
    before its wake-up byte is written, so it runs on the next pass either way, and the byte is drained
    the next time the loop waits for real. (py-spy put 4-7% of a backtest's samples in those polls.)"""

    def __init__(self) -> None:
        super().__init__()
        self.elapsed_ns = 0  # since the loop's origin

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            return super().select(None)
        if timeout > 0:
            # asyncio asked for `when - time()`: land on the timer's nanosecond exactly (a float sum
            # of two nanosecond counts is far closer than half a nanosecond to the true one).
            self.elapsed_ns = max(self.elapsed_ns, round((self.elapsed_ns / 1e9 + timeout) * 1e9))
        return []


class SimulatedLoop(asyncio.SelectorEventLoop):
    def __init__(self, origin_ns: int) -> None:
        self._simulated = _Selector()
        super().__init__(self._simulated)
        self.origin_ns = origin_ns

    def time(self) -> float:
        return self._simulated.elapsed_ns / 1e9

    def now_ns(self) -> int:
        """The simulated time in ns since the epoch: the engine's clock."""
        return self.origin_ns + self._simulated.elapsed_ns

    def advance(self, ts_ns: int) -> bool:
        """Move time to `ts_ns` at once if nothing else can run before it (or it is past); False when
        `until` must let callbacks or timers run first. Most events of a backtest take this path,
        without a coroutine each."""
        wait = ts_ns - self.now_ns()
        if wait <= 0:
            return True
        if self._idle_until(ts_ns):
            self._simulated.elapsed_ns = ts_ns - self.origin_ns  # what `until`'s sleep would come to, without its timer
            return True
        return False

    async def until(self, ts_ns: int) -> None:
        """Let simulated time run to `ts_ns`: every timer due before it fires first, at its own time.
        A time already past returns at once (without yielding to other tasks)."""
        while (wait := ts_ns - self.now_ns()) > 0:
            if self.advance(ts_ns):
                return
            await asyncio.sleep(wait / 1e9)
            late = self.now_ns() - ts_ns
            if -2 <= late < 0:  # float rounding of the timer; nothing can be scheduled inside it
                self._simulated.elapsed_ns = ts_ns - self.origin_ns

    def _idle_until(self, ts_ns: int) -> bool:
        """Nothing else can run before `ts_ns`: no callback is ready and no timer is due by then (a
        cancelled timer still in the heap counts as due: the slow path is always right)."""
        scheduled: list[asyncio.TimerHandle] = self._scheduled  # type: ignore[attr-defined]
        ready: Sized = self._ready  # type: ignore[attr-defined]
        return not ready and (not scheduled or scheduled[0].when() > (ts_ns - self.origin_ns) / 1e9)

    def __repr__(self) -> str:
        return f"<SimulatedLoop at {self.now_ns()} ns>"
