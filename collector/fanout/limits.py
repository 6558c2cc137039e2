"""Request rate limiting per connection: a token bucket on an injected monotonic clock."""

from __future__ import annotations

from collections.abc import Callable


class TokenBucket:
    """Allows `burst` requests at once and `rate` per second sustained."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def allow(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def retry_after(self) -> float:
        """Seconds until the next request would be allowed."""
        return max(0.0, (1.0 - self._tokens) / self._rate)
