"""The circuit breaker: N failed or rejected orders within a window open it for a cooling period; then it
is half-open and lets one trial through, whose success closes it and whose failure opens it again.

Only failures that say something about the venue count. An order that ended unfilled because the market
was not where it needed to be is the venue doing what it was asked (`market_outcome`): an immediate-or-cancel,
fill-or-kill or market order with nothing left to take, or a post-only order that would have crossed the book.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum

from shared.trading import Order, OrderStatus, OrderType, TimeInForce
from trader.risk.config import BreakerConfig

_TAKES_AT_ONCE = frozenset({TimeInForce.IOC, TimeInForce.FOK})
# How venues word a post-only order's rejection for crossing the book: the paper venue ("would take
# liquidity"), Binance ("Order would immediately match and take."), Bybit ("EC_PostOnlyWillTakeLiquidity"),
# KuCoin/Gate.io/ccxt ("post only", "OrderImmediatelyFillable").
_WOULD_CROSS = ("would take liquidity", "would immediately match", "willtakeliquidity", "immediatelyfillable", "post only",
                "post-only", "postonly")


def market_outcome(order: Order) -> bool:
    """Whether an order that ended unfilled only met the market as it was (not a failure of the venue): the
    unfilled rest of an order that takes at once, canceled by the venue, or a post-only order refused for
    crossing the book."""
    if order.filled > 0:
        return False
    if order.status is OrderStatus.CANCELED:
        return order.type is OrderType.MARKET or order.time_in_force in _TAKES_AT_ONCE
    if order.status is OrderStatus.REJECTED and order.time_in_force is TimeInForce.POST_ONLY:
        reason = order.reason.lower()
        return any(words in reason for words in _WOULD_CROSS)
    return False


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class EventWindow:
    """Times of recent events, for "N within a window" rules."""

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self._times: deque[int] = deque()

    def add(self, now: int) -> int:
        self._times.append(now)
        return self.count(now)

    def count(self, now: int) -> int:
        while self._times and self._times[0] <= now - self.window_ns:
            self._times.popleft()
        return len(self._times)

    def clear(self) -> None:
        self._times.clear()


class CircuitBreaker:
    def __init__(self, config: BreakerConfig) -> None:
        self.config = config
        self._failures = EventWindow(config.window_ns)
        self._opened_at: int | None = None
        self._trial_at: int | None = None  # when the half-open trial was let through
        self.last_failure = ""

    def state(self, now: int) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if now - self._opened_at < self.config.cooldown_ns:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def allows(self, now: int) -> bool:
        """Whether a new position may be opened now (without taking the half-open trial)."""
        state = self.state(now)
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        # A trial that never reported back (denied downstream, never sent) frees the slot after a cooldown.
        return self._trial_at is None or now - self._trial_at >= self.config.cooldown_ns

    def trial_started(self, now: int) -> None:
        if self.state(now) is BreakerState.HALF_OPEN:
            self._trial_at = now

    def record_failure(self, now: int, detail: str = "") -> None:
        self.last_failure = detail
        state = self.state(now)
        if state is BreakerState.HALF_OPEN:
            self._open(now)
        elif state is BreakerState.CLOSED and self._failures.add(now) >= self.config.failures:
            self._open(now)

    def record_success(self, now: int) -> None:
        if self.state(now) is BreakerState.HALF_OPEN:
            self._opened_at = self._trial_at = None
            self._failures.clear()

    def _open(self, now: int) -> None:
        self._opened_at = now
        self._trial_at = None
        self._failures.clear()
