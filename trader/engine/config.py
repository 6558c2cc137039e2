"""The engine's own parameters: the time bounds and retries of the leg controller, and what it keeps for status."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class EngineConfig:
    time_bound_ns: int = 5 * _S  # every leg of an arbitrage filled by then, or its exposure goes to hedging
    hedge_time_ns: int = 10 * _S  # hedges filled within this of the hedging's start, or the attempt fails unhedged
    retries: int = 1  # a leg that fails (rejected, canceled short, timed out) is sent again this often
    hedge_retries: int = 2  # and a hedge this often
    # A leg failing after part of the arbitrage filled is priced again on the current book (or the arbitrage unwound,
    # if that loses less): its IOC limit is then the depth-walked worst price moved by at most this.
    replan_slippage_bps: Decimal = Decimal(10)
    send_timeout_s: float = 10.0  # an executor answer slower than this is looked up by client order id
    poll_s: float = 0.05  # how often a resumed controller looks for its books (waiting legs sleep until woken or their deadline)
    recent_arbitrages: int = 100  # kept for the status
    latency_samples: int = 10_000  # tick-to-decision reservoir
    accounts: tuple[str, ...] = ("main",)
