"""Tick-to-decision latency: a bounded reservoir of recent samples for percentiles, and cumulative
histogram buckets for Prometheus, both fed in nanoseconds."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

# Upper bounds in ns: 10 us .. 100 ms.
BUCKETS_NS: tuple[int, ...] = (10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
                               25_000_000, 100_000_000)


@dataclass(frozen=True, slots=True)
class LatencySummary:
    count: int
    p50_ns: int | None
    p99_ns: int | None
    max_ns: int | None


class LatencyRecorder:
    def __init__(self, samples: int = 10_000, buckets_ns: tuple[int, ...] = BUCKETS_NS) -> None:
        self._recent: deque[int] = deque(maxlen=samples)
        self.buckets_ns = buckets_ns
        self._bucket_counts = [0] * (len(buckets_ns) + 1)  # the last is +Inf
        self.count = 0
        self.sum_ns = 0

    def record(self, ns: int) -> None:
        self._recent.append(ns)
        self.count += 1
        self.sum_ns += ns
        for i, bound in enumerate(self.buckets_ns):
            if ns <= bound:
                self._bucket_counts[i] += 1
                return
        self._bucket_counts[-1] += 1

    def percentile(self, q: float) -> int | None:
        """The q-quantile (0..1) of the recent samples, nearest rank; None before any sample."""
        if not self._recent:
            return None
        ordered = sorted(self._recent)
        rank = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
        return ordered[rank]

    def histogram(self) -> tuple[tuple[float, int], ...]:
        """Cumulative (upper bound in ns, count) pairs, ending with +Inf: Prometheus's buckets."""
        total, out = 0, []
        for bound, n in zip((*self.buckets_ns, float("inf")), self._bucket_counts, strict=True):
            total += n
            out.append((float(bound), total))
        return tuple(out)

    def summary(self) -> LatencySummary:
        return LatencySummary(self.count, self.percentile(0.5), self.percentile(0.99), max(self._recent) if self._recent else None)

    def samples(self) -> tuple[int, ...]:
        return tuple(self._recent)
