"""Execution queues: one FIFO queue and one worker per (venue, account), in front of an executor.

Commands for one account run one at a time, in the order they were queued, so two orders on one
account never race each other (for its balance, or a cancel overtaking the submit it cancels).
Different accounts run concurrently. A look-up by client order id can run in the lane too, so it
answers after every command queued before it (after a submit that timed out, say). A caller that stops waiting before its command was started
(a timeout, a cancelled task) takes the command off the queue; once started, a command runs to the
end, so a caller that timed out must look the order up by its client order id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.trading import CancelOrder, Order, SubmitOrder
from trader.execution.executor import Executor, OrderUpdate

Key = tuple[str, str]  # venue, account
T = TypeVar("T")


@dataclass(slots=True)
class _Lane:
    queue: asyncio.Queue[tuple[Callable[[], Awaitable[Any]], asyncio.Future[Any]]]
    worker: asyncio.Task[None] | None = None
    running: bool = False


class ExecutionQueues:
    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self._lanes: dict[Key, _Lane] = {}
        self._closed = False

    async def submit(self, command: SubmitOrder) -> OrderUpdate:
        return await self.submit_soon(command)

    def submit_soon(self, command: SubmitOrder) -> asyncio.Future[OrderUpdate]:
        """Queue a submit now (no await between the caller and its queue); the future answers it. Cancelling the
        future before the command started takes it off the queue."""
        return self._enqueue(command.venue, command.account, lambda: self.executor.submit(command))

    async def cancel(self, command: CancelOrder) -> OrderUpdate:
        return await self._run(command.venue, command.account, lambda: self.executor.cancel(command))

    async def order(self, venue: str, account: str, client_order_id: str) -> Order | None:
        """Look an order up once everything queued before on its (venue, account) has finished."""
        return await self._run(venue, account, lambda: self.executor.order(client_order_id))

    def pending(self, venue: str, account: str) -> int:
        """Commands queued or running for (venue, account)."""
        lane = self._lanes.get((venue, account))
        return 0 if lane is None else lane.queue.qsize() + int(lane.running)

    def keys(self) -> tuple[Key, ...]:
        return tuple(self._lanes)

    async def drain(self) -> None:
        """Wait until every command queued so far has finished."""
        await asyncio.gather(*(lane.queue.join() for lane in self._lanes.values()))

    async def close(self) -> None:
        """Stop the workers; commands still queued are cancelled (their callers get `CancelledError`)."""
        self._closed = True
        for lane in self._lanes.values():
            if lane.worker is not None:
                lane.worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.worker
            while not lane.queue.empty():
                _, future = lane.queue.get_nowait()
                future.cancel()

    async def _run(self, venue: str, account: str, call: Callable[[], Awaitable[T]]) -> T:
        return await self._enqueue(venue, account, call)

    def _enqueue(self, venue: str, account: str, call: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        if self._closed:
            raise RuntimeError("execution queues are closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._lane(venue, account).queue.put_nowait((call, future))
        return future

    def _lane(self, venue: str, account: str) -> _Lane:
        lane = self._lanes.get((venue, account))
        if lane is None:
            lane = self._lanes[(venue, account)] = _Lane(asyncio.Queue())
            lane.worker = asyncio.create_task(self._work(lane), name=f"execution {venue}/{account}")
        return lane

    async def _work(self, lane: _Lane) -> None:
        while True:
            call, future = await lane.queue.get()
            try:
                if future.cancelled():
                    continue
                lane.running = True
                try:
                    result = await call()
                except Exception as error:
                    if not future.cancelled():
                        future.set_exception(error)
                else:
                    if not future.cancelled():
                        future.set_result(result)
            finally:
                if not future.done():  # the worker itself was cancelled mid-command
                    future.cancel()
                lane.running = False
                lane.queue.task_done()
