"""Execution: the executor interface, the paper executor with its own store, and per-account queues."""

from trader.execution.executor import Executor, ExecutorError, ExecutorUnavailable, OrderUpdate
from trader.execution.liquidity import BookLiquidity
from trader.execution.paper import PaperConfig, PaperExecutor
from trader.execution.paper_store import PaperStore
from trader.execution.queues import ExecutionQueues

__all__ = [
    "BookLiquidity",
    "ExecutionQueues",
    "Executor",
    "ExecutorError",
    "ExecutorUnavailable",
    "OrderUpdate",
    "PaperConfig",
    "PaperExecutor",
    "PaperStore",
]
